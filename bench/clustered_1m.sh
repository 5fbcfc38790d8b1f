#!/usr/bin/env bash
# 1M x 768 clustered Gaussian (tools/gen_clustered.cpp, seed 42: 1000 separate clusters,
# intrinsic dimension ~32), L2, k = 10: the five SQL statements from an empty database to
# top-10 retrieval (after CREATE EXTENSION) with the time each takes, then recall@10 against the generator's exact answers and QPS (one
# pgbench client, prepared statements) over a probes sweep.
#   bench/clustered_1m.sh [ROWS] [QUERIES] [SECONDS]
# SHARED_BUFFERS (default 8GB, which holds the 3.9 GB table): set it below the table's size
# to measure queries whose reranks read the table through the OS cache.
# Needs ~10 GB of disk under /tmp and ~12 GB of memory.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
ROWS=${1:-1000000}
QUERIES=${2:-200}
SECONDS_PER=${3:-8}
DATA=$(mktemp -d /tmp/ruvector-1m.XXXXXX)
chmod 755 "$DATA"
mkdir -p build
g++ -O3 -march=native -std=c++17 -pthread -o build/gen_clustered tools/gen_clustered.cpp
echo "generating $ROWS x 768 and the exact top 10 of $QUERIES queries..." >&2
build/gen_clustered "$ROWS" 768 1000 "$QUERIES" 42 "$DATA"
chmod 644 "$DATA"/*
cluster_start "shared_buffers = '${SHARED_BUFFERS:-8GB}'" "maintenance_work_mem = '2GB'" "jit = off" \
  "max_parallel_workers_per_gather = 0" "max_wal_size = '20GB'" "checkpoint_timeout = '30min'"
trap 'cluster_stop; rm -rf "$DATA"' EXIT
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)

timed() {  # label sql: runs it, prints "| label | seconds |"
  local t0 t1
  t0=$(date +%s.%N)
  "${PSQL[@]}" -c "$2" >/dev/null
  t1=$(date +%s.%N)
  printf "| \`%s\` | %.1f |\n" "$1" "$(echo "$t1 - $t0" | bc)"
}

echo "Five statements, $ROWS rows x 768:"
echo "| statement | seconds |"
echo "|---|---|"
timed "CREATE EXTENSION ruvector" "CREATE EXTENSION ruvector"
timed "CREATE TABLE docs (id int, embedding ruvector(768))" \
  "CREATE TABLE docs (id int, embedding ruvector(768))"
timed "ALTER TABLE docs ALTER embedding SET STORAGE PLAIN" \
  "ALTER TABLE docs ALTER embedding SET STORAGE PLAIN"
timed "COPY docs FROM '.../base.copy' (FORMAT binary)" "COPY docs FROM '$DATA/base.copy' (FORMAT binary)"
timed "CREATE INDEX ON docs USING rabitq (embedding) WITH (rerank_from_heap = true)" \
  "CREATE INDEX docs_embedding ON docs USING rabitq (embedding) WITH (rerank_from_heap = true)"
"${PSQL[@]}" <<SQL
CREATE TABLE queries (id int PRIMARY KEY, embedding ruvector(768));
COPY queries FROM '$DATA/queries.copy' (FORMAT binary);
CREATE TABLE truth (qid int PRIMARY KEY, ids int[]);
COPY truth FROM '$DATA/truth.copy';
VACUUM ANALYZE docs;
SQL
timed "SELECT id FROM docs ORDER BY embedding <-> \$1 LIMIT 10" \
  "SELECT id FROM docs ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 0) LIMIT 10"
echo
echo "Index: $("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_relation_size('docs_embedding'))"), table: $("${PSQL[@]}" -c "SELECT pg_size_pretty(pg_table_size('docs'))")"
echo
echo "| probes | recall@10 | QPS |"
echo "|---|---|---|"
cat >"$CLUSTER_DIR/q.pgb" <<PGB
\\set qid random(0, $((QUERIES - 1)))
SELECT id FROM docs ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = :qid) LIMIT 10;
PGB
for p in 4 8 16 32 64; do
  recall=$("${PSQL[@]}" -c "SET rabitq.probes = $p" -c "
    SELECT round(avg(cardinality(array(SELECT unnest(t.ids) INTERSECT SELECT unnest(array(
      SELECT d.id FROM docs d ORDER BY d.embedding <-> q.embedding LIMIT 10))))) / 10.0, 3)
    FROM truth t JOIN queries q ON q.id = t.qid")
  qps=$(PGOPTIONS="-c rabitq.probes=$p" pgbench -n -f "$CLUSTER_DIR/q.pgb" -T "$SECONDS_PER" -M prepared 2>/dev/null |
    sed -nE 's/^tps = ([0-9.]+).*/\1/p')
  printf "| %s | %s | %.0f |\n" "$p" "$recall" "$qps"
done
