#!/usr/bin/env bash
# Filtered ANN on Fashion-MNIST (60k x 784, L2, k = 10): WHERE tag < s ORDER BY v <-> q
# LIMIT 10, with tag a hash of id (uncorrelated with the vectors) under a btree, at 10%, 1%
# and 0.1% selectivity. rabitq (defaults, each iterative_scan mode) against pgvector's HNSW
# (m 16, ef_construction 64, ef_search 40, relaxed iterative scan) when the `vector`
# extension is installed. Columns keep their DEFAULT storage, as a user's table would.
# Each row reports the plan the planner chose (or the one forced, where the setting says
# so), recall@10 against the exact filtered top 10 (computed before any vector index
# exists) and QPS of one pgbench client with prepared statements.
#   bench/filtered_fashion.sh [QUERIES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
QUERIES=${1:-200}
SECONDS_PER=${2:-5}
SELECTIVITIES=${SELECTIVITIES:-"100 10 1"}  # tag < s, tag uniform over 0..999
source bench/fashion_load.sh
fashion_cluster_start
have_pgvector=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE raw (id int PRIMARY KEY, label int, embedding ruvector(784));
CREATE TABLE queries (id int PRIMARY KEY, label int, embedding ruvector(784));
-- PLAIN for the queries only: a TOASTed query vector costs each statement a TOAST fetch.
ALTER TABLE queries ALTER embedding SET STORAGE PLAIN;
\copy raw FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz'
\copy queries FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz $QUERIES'
CREATE TABLE items (id int PRIMARY KEY, tag int NOT NULL, embedding ruvector(784));
INSERT INTO items SELECT id, (hashint4(id)::bigint & 2147483647) % 1000, embedding FROM raw;
CREATE INDEX items_tag ON items (tag);
DROP TABLE raw;
VACUUM ANALYZE items, queries;
SQL
if [[ "$have_pgvector" == 1 ]]; then
  "${PSQL[@]}" <<'SQL'
CREATE EXTENSION vector;
CREATE TABLE items_pg (id int PRIMARY KEY, tag int NOT NULL, embedding vector(784));
INSERT INTO items_pg SELECT id, tag, embedding::text::vector FROM items;
CREATE INDEX items_pg_tag ON items_pg (tag);
CREATE TABLE queries_pg (id int PRIMARY KEY, embedding vector(784));
ALTER TABLE queries_pg ALTER embedding SET STORAGE PLAIN;
INSERT INTO queries_pg SELECT id, embedding::text::vector FROM queries;
VACUUM ANALYZE items_pg, queries_pg;
SQL
fi
# The exact filtered top 10, before any vector index exists.
for s in $SELECTIVITIES; do
  "${PSQL[@]}" -c "SET enable_indexscan = off;
    CREATE TABLE truth_$s AS SELECT q.id AS qid, array(SELECT f.id FROM items f WHERE f.tag < $s
      ORDER BY f.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q"
done
"${PSQL[@]}" -c "CREATE INDEX items_rabitq ON items USING rabitq (embedding)"
[[ "$have_pgvector" == 1 ]] &&
  "${PSQL[@]}" -c "CREATE INDEX items_hnsw ON items_pg USING hnsw (embedding vector_l2_ops)
    WITH (m = 16, ef_construction = 64)"

results=$(mktemp)
query() {  # table qtable s qid-expression
  echo "SELECT id FROM $1 WHERE tag < $3 ORDER BY embedding <-> (SELECT embedding FROM $2 WHERE id = $4) LIMIT 10"
}
measure() {  # system setting gucs table qtable s
  # An empty gucs runs as SELECT (no columns), and no PGOPTIONS for pgbench.
  local system=$1 setting=$2 gucs=${3:-SELECT} table=$4 qtable=$5 s=$6 recall qps plan
  plan=$("${PSQL[@]}" -c "$gucs" -c "EXPLAIN (COSTS OFF) $(query "$table" "$qtable" "$s" 0)" |
    grep -oE "Index Scan using items[a-z_]*|Bitmap Heap Scan|Seq Scan" | head -1 | sed 's/Index Scan using/index/')
  recall=$("${PSQL[@]}" -c "$gucs" -c "SELECT round(avg(cardinality(array(
      SELECT unnest(t.ids) INTERSECT SELECT unnest(array($(query "$table" "$qtable" "$s" t.qid)))))) / 10.0, 3)
    FROM truth_$s t" | tail -1)
  echo "\\set qid random(0, $((QUERIES - 1)))" >"$CLUSTER_DIR/q.pgb"
  echo "$(query "$table" "$qtable" "$s" :qid);" >>"$CLUSTER_DIR/q.pgb"
  qps=$(PGOPTIONS="$(sed -E 's/SET ([a-z_.]+) = ([^;]+);/-c \1=\2 /g' <<<"$3")" \
    pgbench -n -f "$CLUSTER_DIR/q.pgb" -T "$SECONDS_PER" -M prepared 2>/dev/null |
    sed -nE 's/^tps = ([0-9.]+).*/\1/p')
  printf "| %s%% | %s | %s | %s | %s | %.0f |\n" "$(echo "scale=1; $s / 10" | bc)" "$system" "$setting" \
    "$plan" "$recall" "$qps" | tee -a "$results"
}
# Every other plan sorts: with sorts off the rabitq index runs whatever its cost.
force="SET enable_sort = off;"
for s in $SELECTIVITIES; do
  measure rabitq "defaults" "" items queries "$s"
  for mode in relaxed_order strict_order; do
    measure rabitq "iterative_scan=$mode" "SET rabitq.iterative_scan = $mode;" items queries "$s"
    measure rabitq "iterative_scan=$mode, index forced" "SET rabitq.iterative_scan = $mode; $force" \
      items queries "$s"
  done
  if [[ "$have_pgvector" == 1 ]]; then
    hnsw="SET hnsw.ef_search = 40; SET hnsw.iterative_scan = relaxed_order;"
    measure "pgvector hnsw" "ef_search=40, relaxed_order" "$hnsw" items_pg queries_pg "$s"
    measure "pgvector hnsw" "ef_search=40, relaxed_order, index forced" "$hnsw $force" \
      items_pg queries_pg "$s"
  fi
done
echo
echo "Filtered Fashion-MNIST 60k x 784, L2, k = 10, $QUERIES queries, one client, $(nproc) cores, $SECONDS_PER s per row"
echo "| selectivity | system | setting | plan | recall@10 | QPS |"
echo "|---|---|---|---|---|---|"
cat "$results"
rm -f "$results"
