#!/usr/bin/env bash
# Searches while inserts run, on Fashion-MNIST (784-d): 50,000 rows indexed with default
# options, then for SECONDS seconds 2 pgbench clients search (read-only), then for SECONDS
# seconds 2 clients search while 2 others insert (two pgbench processes at once). Searches
# are a prepared statement (-M prepared) with a random row of the query set, LIMIT 10,
# default probes; inserts copy a random one of the 10,000 rows not indexed, one row per
# transaction. Then again with the inserts held to RATE rows/s in all (pgbench -R), a rate
# both indexes sustain: on a machine with fewer cores than clients, inserts at full speed
# take CPU from the searches whatever the locking, while at a fixed modest rate a drop
# shows the searches waiting for the inserts; and a sampler of pg_stat_activity counts how
# often a search waits for a buffer lock. The read-only phase runs first and last, and its
# mean is the baseline, so that a drift of the machine's load weighs on both sides. For rabitq and, when the `vector` extension
# is installed, pgvector's HNSW (m 16, ef_construction 64) in the same run. Each ratio is
# the search QPS under inserts over the read-only QPS.
#   bench/concurrent_rw.sh [SECONDS [RATE]]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
SECONDS_PER=${1:-15}
RATE=${2:-200}
source bench/fashion_load.sh
fashion_cluster_start
load_fashion 200
have_pgvector=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
[[ "$have_pgvector" == 1 ]] && "${PSQL[@]}" -c "CREATE EXTENSION vector"

results=$(mktemp)
tps() { sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$1"; }
run() {  # name, column type, index clause
  local name=$1 type=$2 using=$3 plan alone mixed inserts paced paced_inserts waits
  "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS w, w_src, w_queries, w_waits;
CREATE TABLE w_waits (phase text, wait text);
CREATE TABLE w (id int, embedding $type);
CREATE TABLE w_src (id int PRIMARY KEY, embedding $type);
CREATE TABLE w_queries (id int PRIMARY KEY, embedding $type);
ALTER TABLE w ALTER embedding SET STORAGE PLAIN;
ALTER TABLE w_src ALTER embedding SET STORAGE PLAIN;
ALTER TABLE w_queries ALTER embedding SET STORAGE PLAIN;
INSERT INTO w SELECT id, embedding::text::$type FROM fashion WHERE id < 50000;
INSERT INTO w_src SELECT id, embedding::text::$type FROM fashion WHERE id >= 50000;
INSERT INTO w_queries SELECT id, embedding::text::$type FROM queries;
CREATE INDEX w_idx ON w USING $using;
VACUUM ANALYZE w, w_src, w_queries;
SQL
  local query="SELECT id FROM w ORDER BY embedding <-> (SELECT embedding FROM w_queries WHERE id = :q) LIMIT 10"
  plan=$("${PSQL[@]}" -c "EXPLAIN (COSTS OFF) ${query//:q/1}")
  grep -q "Index Scan using w_idx" <<<"$plan" || {
    echo "$name: the search is not planned as a scan of w_idx: $plan" >&2
    exit 1
  }
  local min max
  read -r min max <<<"$("${PSQL[@]}" -F ' ' -c "SELECT min(id), max(id) FROM w_queries")"
  printf '\\set q random(%s, %s)\n%s;\n' "$min" "$max" "$query" >"$CLUSTER_DIR/search.pgb"
  read -r min max <<<"$("${PSQL[@]}" -F ' ' -c "SELECT min(id), max(id) FROM w_src")"
  printf '\\set i random(%s, %s)\nINSERT INTO w SELECT id, embedding FROM w_src WHERE id = :i;\n' \
    "$min" "$max" >"$CLUSTER_DIR/insert.pgb"
  local bench=(pgbench -n -M prepared -T "$SECONDS_PER" -c 2 -j 2)
  phase alone1 none
  phase mixed full
  phase paced paced
  phase alone2 none
  alone=$(echo "($(tps "$CLUSTER_DIR/alone1.log") + $(tps "$CLUSTER_DIR/alone2.log")) / 2" | bc -l)
  mixed=$(tps "$CLUSTER_DIR/mixed.log")
  inserts=$(tps "$CLUSTER_DIR/mixed.insert.log")
  paced=$(tps "$CLUSTER_DIR/paced.log")
  paced_inserts=$(tps "$CLUSTER_DIR/paced.insert.log")
  waits=$("${PSQL[@]}" -c "SELECT round(100.0 * count(*) FILTER (WHERE wait = 'LWLock:BufferContent')
      / greatest(count(*), 1), 1) FROM w_waits WHERE phase = 'mixed'")
  printf "| %s | %.0f | %.0f | %.2f | %.0f | %s | %.0f | %.2f | %.0f |\n" "$name" "$alone" "$mixed" \
    "$(echo "$mixed / $alone" | bc -l)" "$inserts" "$waits" "$paced" \
    "$(echo "$paced / $alone" | bc -l)" "$paced_inserts" >>"$results"
}

# One phase of SECONDS_PER s: 2 search clients, beside 2 insert clients at full speed
# (full), held to RATE rows/s (paced) or none, and a sampler that records 50 times a second
# what each active search waits on (CPU: nothing, or waiting for a core).
phase() {  # name, inserts
  local log=$CLUSTER_DIR/$1 inserter="" sampler
  case $2 in
    full) "${bench[@]}" -f "$CLUSTER_DIR/insert.pgb" >"$log.insert.log" 2>&1 & inserter=$! ;;
    paced) "${bench[@]}" -R "$RATE" -f "$CLUSTER_DIR/insert.pgb" >"$log.insert.log" 2>&1 &
      inserter=$! ;;
  esac
  printf "INSERT INTO w_waits SELECT '%s', coalesce(wait_event_type || ':' || wait_event, 'CPU')
    FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT id FROM w ORDER BY%%';\n" \
    "$1" >"$log.sample.pgb"
  pgbench -n -c 1 -R 50 -T "$SECONDS_PER" -f "$log.sample.pgb" >"$log.sample.log" 2>&1 &
  sampler=$!
  "${bench[@]}" -f "$CLUSTER_DIR/search.pgb" >"$log.log" 2>&1
  [[ -n $inserter ]] && wait "$inserter"
  wait "$sampler"
}

run "rabitq" "ruvector(784)" "rabitq (embedding)"
if [[ "$have_pgvector" == 1 ]]; then
  run "pgvector HNSW" "vector(784)" "hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)"
else
  echo "pgvector is not installed: its row is missing"
fi

echo
echo "Fashion-MNIST 784-d, 50,000 rows indexed; 2 search clients alone (before and after the"
echo "others: the mean), with 2 insert clients at full speed, with 2 insert clients held to"
echo "$RATE rows/s in all; ${SECONDS_PER} s each. Waits: the share of samples of active searches"
echo "under full-speed inserts that wait for a buffer's content lock."
echo "| index | read-only search QPS | search QPS under inserts | ratio | insert rows/s | searches waiting for a buffer lock, % | search QPS under $RATE rows/s | ratio | insert rows/s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
cat "$results"
