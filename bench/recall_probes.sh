#!/usr/bin/env bash
# Whether raising rabitq.probes alone reaches exact recall (#25 goal 3): on each data set, a
# default rabitq index (CREATE INDEX ... USING rabitq (embedding), no options) and, for
# probes = 1, 2, 4, ... up to every list, recall@10 against exact ground truth (seq scan,
# computed before the index exists; a row as close as the 10th true neighbour counts, since
# integer pixel distances tie) and the rows reranked per query (the scan's DEBUG1 line).
#   bench/recall_probes.sh [QUERIES]
# DATASETS (default "fashion fashion_dup mix clustered"):
#   fashion      Fashion-MNIST, 60k x 784 (/usr/share/datasets/fashion-mnist)
#   fashion_dup  30k Fashion-MNIST images x 5: each image and 4 copies with pixel noise
#                sigma 2 (tools/gen_hard.cpp): a query's top 10 are groups of near-duplicates
#   mix          100k x 256, 200 Gaussian clusters of Zipf-like sizes whose radii span
#                three orders of magnitude (tools/gen_hard.cpp)
#   clustered    100k x 768 from tools/gen_clustered.cpp (bench/clustered_1m.sh's generator)
# EPSILON: a rabitq.epsilon to set for every query (default: the GUC's default).
# PROBES: the probes to measure instead of the sweep (e.g. "10", the default).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
QUERIES=${1:-300}
DATASETS=${DATASETS:-"fashion fashion_dup mix clustered"}
FASHION=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
mkdir -p build
g++ -O2 -std=c++17 -o build/idx_to_copy tools/idx_to_copy.cpp
g++ -O2 -std=c++17 -o build/gen_hard tools/gen_hard.cpp
g++ -O3 -std=c++17 -pthread -o build/gen_clustered tools/gen_clustered.cpp
DATA=$(mktemp -d /tmp/ruvector-recall.XXXXXX)
chmod 755 "$DATA"
cluster_start "shared_buffers = '2GB'" "maintenance_work_mem = '1GB'" "jit = off" \
  "max_parallel_workers_per_gather = 0" "max_wal_size = '10GB'"
trap 'cluster_stop; rm -rf "$DATA"' EXIT
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
"${PSQL[@]}" -c "CREATE EXTENSION ruvector"

# Loads base and queries tables of DIM dimensions; the loaders write COPY text to stdout.
load() {  # name dim base_command query_command
  "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS base, queries;
CREATE TABLE base (id int, embedding ruvector($2));
CREATE TABLE queries (id int, embedding ruvector($2));
\\copy base FROM PROGRAM '$3'
\\copy queries FROM PROGRAM '$4'
VACUUM ANALYZE base, queries;
SQL
}

load_dataset() {
  local copy="$DATA/copy.sh"
  case $1 in
    fashion)
      load fashion 784 "build/idx_to_copy $FASHION/train-images-idx3-ubyte.gz $FASHION/train-labels-idx1-ubyte.gz | cut -f1,3" \
        "build/idx_to_copy $FASHION/t10k-images-idx3-ubyte.gz $FASHION/t10k-labels-idx1-ubyte.gz $QUERIES | cut -f1,3" ;;
    fashion_dup)
      load fashion_dup 784 "build/gen_hard dup $FASHION/train-images-idx3-ubyte.gz 30000 5 2 7" \
        "build/idx_to_copy $FASHION/t10k-images-idx3-ubyte.gz $FASHION/t10k-labels-idx1-ubyte.gz $QUERIES | cut -f1,3" ;;
    mix)
      load mix 256 "build/gen_hard mix 100000 256 200 1 0" "build/gen_hard mix $QUERIES 256 200 2 0" ;;
    clustered)
      build/gen_clustered 100000 768 100 "$QUERIES" 42 "$DATA" >/dev/null
      chmod 644 "$DATA"/*
      "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS base, queries;
CREATE TABLE base (id int, embedding ruvector(768));
CREATE TABLE queries (id int, embedding ruvector(768));
COPY base FROM '$DATA/base.copy' (FORMAT binary);
COPY queries FROM '$DATA/queries.copy' (FORMAT binary);
VACUUM ANALYZE base, queries;
SQL
      ;;
    *) echo "unknown data set $1" >&2; exit 2 ;;
  esac
}

SET_EPSILON=${EPSILON:+SET rabitq.epsilon = $EPSILON;}
echo "ruvector $("${PSQL[@]}" -c "SELECT extversion FROM pg_extension WHERE extname = 'ruvector'"), \
$QUERIES queries, rabitq.epsilon $("${PSQL[@]}" -c "$SET_EPSILON SHOW rabitq.epsilon")"
for set in $DATASETS; do
  load_dataset "$set"
  # The truth before the index exists: the distance of each query's 10th nearest row.
  "${PSQL[@]}" <<SQL
ALTER TABLE queries ADD kth float8;
UPDATE queries q SET kth = (SELECT max(d) FROM (SELECT b.embedding <-> q.embedding AS d
  FROM base b ORDER BY b.embedding <-> q.embedding LIMIT 10) x);
SQL
  t0=$(date +%s.%N)
  # The build logs its calibrated full-probe epsilon at DEBUG1 (builds that calibrate).
  full=$("${PSQL[@]}" -c "SET client_min_messages = debug1" \
    -c "CREATE INDEX base_idx ON base USING rabitq (embedding)" 2>&1 |
    sed -nE 's/.*full-probe epsilon ([0-9.]+).*/\1/p')
  build=$(echo "$(date +%s.%N) - $t0" | bc)
  ids=$("${PSQL[@]}" -c "SELECT id FROM queries ORDER BY id")
  # One statement per query, so that each scan logs its own counts when it ends.
  for i in $ids; do
    echo "SELECT count(*) FROM queries q, LATERAL (SELECT b.embedding <-> q.embedding AS d
      FROM base b ORDER BY b.embedding <-> q.embedding LIMIT 10) x
      WHERE q.id = $i AND x.d <= q.kth * (1 + 1e-9);"
  done >"$DATA/queries.sql"
  run() {  # probes: prints "hits reranked_total lists queries"
    "${PSQL[@]}" -c "SET enable_seqscan = off" -c "SET rabitq.probes = $1" \
      -c "SET client_min_messages = debug1" ${SET_EPSILON:+-c "$SET_EPSILON"} -f "$DATA/queries.sql" 2>&1 |
      awk '/^[0-9]+$/ { hits += $1 }
           /rabitq scan of/ { for (i = 1; i <= NF; i++) { if ($i == "reranked,") rr += $(i - 1);
                                                           if ($i == "lists") l = $(i - 1) } n++ }
           END { print hits + 0, rr + 0, l + 0, n + 0 }'
  }
  read -r _ _ lists _ < <(run 65536)
  rows=$("${PSQL[@]}" -c "SELECT count(*) FROM base")
  echo
  echo "$set: $rows rows, $lists lists, build $(printf %.1f "$build") s, full-probe epsilon ${full:-none}"
  echo "| probes | recall@10 | reranked / query |"
  echo "|---|---|---|"
  sweep=${PROBES:-}
  if [[ -z "$sweep" ]]; then
    for ((p = 1; p < lists; p *= 2)); do sweep+="$p "; done
    sweep+=$lists
  fi
  for p in $sweep; do
    read -r hits rr _ n < <(run "$p")
    printf "| %s | %.4f | %.1f |\n" "$p" "$(echo "$hits / (10 * $QUERIES)" | bc -l)" \
      "$(echo "$rr / $n" | bc -l)"
  done
done
