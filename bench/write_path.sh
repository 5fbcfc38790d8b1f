#!/usr/bin/env bash
# The write path of an indexed table on Fashion-MNIST (784-d): what pgvector users report
# as slow inserts once indexed and VACUUM taking hours. For rabitq (with vectors in the
# index, and rerank_from_heap) and, when the `vector` extension is installed, pgvector's
# HNSW (m 16, ef_construction 64) and IVFFlat (lists 245), in the same run:
#   build   CREATE INDEX over 50,000 rows
#   bulk    INSERT ... SELECT of the other 10,000 rows into the indexed table
#   single  one-row INSERTs, one pgbench client, SECONDS seconds
#   vacuum  VACUUM after deleting every 10th row
#   bench/write_path.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
SECONDS_PER=${1:-10}
source bench/fashion_load.sh
fashion_cluster_start
load_fashion 10
have_pgvector=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
[[ "$have_pgvector" == 1 ]] && "${PSQL[@]}" -c "CREATE EXTENSION vector"

results=$(mktemp)
run() {  # name, column type, index clause
  local name=$1 type=$2 using=$3 build bulk single vacuum size
  "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS w;
CREATE TABLE w (id int, embedding $type);
ALTER TABLE w ALTER embedding SET STORAGE PLAIN;
INSERT INTO w SELECT id, embedding::text::$type FROM fashion WHERE id < 50000;
CREATE TABLE IF NOT EXISTS w_src (id int PRIMARY KEY, embedding text);
INSERT INTO w_src SELECT id, embedding::text FROM fashion ON CONFLICT DO NOTHING;
VACUUM ANALYZE w;
SQL
  build=$(timed "CREATE INDEX w_idx ON w USING $using")
  bulk=$(timed "INSERT INTO w SELECT id, embedding::$type FROM w_src WHERE id >= 50000")
  cat >"$CLUSTER_DIR/ins.pgb" <<PGB
\\set i random(0, 59999)
INSERT INTO w SELECT :i + 100000, embedding::$type FROM w_src WHERE id = :i;
PGB
  single=$(pgbench -n -f "$CLUSTER_DIR/ins.pgb" -T "$SECONDS_PER" -M prepared 2>/dev/null |
    sed -nE 's/^tps = ([0-9.]+).*/\1/p')
  "${PSQL[@]}" -c "DELETE FROM w WHERE id % 10 = 0" >/dev/null
  vacuum=$(timed "VACUUM w")
  size=$("${PSQL[@]}" -c "SELECT pg_relation_size('w_idx') / 1048576")
  printf "| %s | %.1f | %.0f | %.0f | %.2f | %s |\n" "$name" "$build" "$(echo "10000 / $bulk" | bc -l)" \
    "$single" "$vacuum" "$size" >>"$results"
}

run "rabitq" "ruvector(784)" "rabitq (embedding)"
run "rabitq rerank_from_heap" "ruvector(784)" "rabitq (embedding) WITH (rerank_from_heap = true)"
if [[ "$have_pgvector" == 1 ]]; then
  run "pgvector HNSW" "vector(784)" "hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)"
  run "pgvector IVFFlat" "vector(784)" "ivfflat (embedding vector_l2_ops) WITH (lists = 245)"
else
  echo "pgvector is not installed: its rows are missing"
fi

echo
echo "Fashion-MNIST 784-d, 50,000 rows indexed, then 10,000 more; one client"
echo "| index | build s | bulk insert rows/s | single-row inserts/s | VACUUM after 10% deleted, s | index MB |"
echo "|---|---:|---:|---:|---:|---:|"
cat "$results"
