#!/usr/bin/env bash
# Exact nearest-neighbour scans through SQL on Fashion-MNIST (60k x 784): ruvector's
# distance operators against pgvector's on the same machine, in the same run, when the
# `vector` extension is installed (this script never builds it). Prints a table of median
# milliseconds per query (single-threaded scans, data in shared_buffers) and the ratio.
#   [STORAGE=plain] bench/exact_scan.sh [QUERIES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
QUERIES=${1:-20}
RUNS=${2:-5}
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
mkdir -p build
g++ -O2 -std=c++17 -o build/idx_to_copy tools/idx_to_copy.cpp

cluster_start "shared_buffers = '1GB'" "max_parallel_workers_per_gather = 0" "jit = off"
trap cluster_stop EXIT
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)

have_pgvector=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE fashion (id int, label int, embedding ruvector(784));
-- pgvector's default storage on both tables, so that both types compare on the same layout.
ALTER TABLE fashion ALTER embedding SET STORAGE EXTERNAL;
CREATE TABLE queries (id int, label int, embedding ruvector(784));
ALTER TABLE queries ALTER embedding SET STORAGE EXTERNAL;
\copy fashion FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz'
\copy queries FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz $QUERIES'
SQL
if [[ "$have_pgvector" == 1 ]]; then
  "${PSQL[@]}" <<'SQL'
CREATE EXTENSION vector;
CREATE TABLE fashion_pgv AS SELECT id, label, embedding::real[]::vector(784) AS embedding FROM fashion;
CREATE TABLE queries_pgv AS SELECT id, label, embedding::real[]::vector(784) AS embedding FROM queries;
SQL
fi
# STORAGE=plain keeps each 3 KB vector inline in its heap row; external (pgvector's default,
# set on both tables) moves it to TOAST, and then the scan is dominated by TOAST fetches.
if [[ "${STORAGE:-external}" == plain ]]; then
  for t in fashion fashion_pgv; do
    [[ $t == fashion_pgv && "$have_pgvector" != 1 ]] && continue
    "${PSQL[@]}" -c "CREATE TABLE ${t}_plain (LIKE $t); ALTER TABLE ${t}_plain ALTER embedding SET STORAGE PLAIN;
      INSERT INTO ${t}_plain SELECT * FROM $t; DROP TABLE $t; ALTER TABLE ${t}_plain RENAME TO $t"
  done
fi
"${PSQL[@]}" <<'SQL'
VACUUM ANALYZE;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SELECT pg_prewarm(c.oid) FROM pg_class c WHERE c.relname LIKE 'fashion%' OR c.relname LIKE 'pg_toast_%';
-- Runs every query once through EXECUTE (plan per query, like a prepared statement with a
-- literal) and returns the mean milliseconds per query; ids are checksummed so the two
-- extensions can be checked to return the same neighbours.
CREATE FUNCTION scan_ms(tbl text, qtbl text, op text, OUT ms float8, OUT ids text) AS $$
DECLARE q record; t0 timestamptz; acc text := '';
BEGIN
  t0 := clock_timestamp();
  FOR q IN EXECUTE format('SELECT id, embedding FROM %I ORDER BY id', qtbl) LOOP
    EXECUTE format('SELECT string_agg(id::text, '','') FROM (SELECT id FROM %I ORDER BY embedding %s $1, id LIMIT 10) t', tbl, op)
      INTO STRICT ids USING q.embedding;
    acc := acc || ids || ';';
  END LOOP;
  ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / (SELECT count(*) FROM queries);
  ids := md5(acc);
END $$ LANGUAGE plpgsql;
SQL

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
measure() {  # table query_table operator -> "median_ms checksum"
  local times=() sum=""
  for ((r = 0; r < RUNS; r++)); do
    IFS='|' read -r ms sum < <("${PSQL[@]}" -c "SELECT * FROM scan_ms('$1', '$2', '$3')")
    times+=("$ms")
  done
  echo "$(printf '%s\n' "${times[@]}" | median) $sum"
}

echo
echo "Exact k=10 scan of 60000 x 784 through SQL (storage ${STORAGE:-external}), $QUERIES queries, median of $RUNS runs"
printf '| %-8s | %-14s | %-14s | %-16s | %-10s |\n' operator "ruvector ms/q" "pgvector ms/q" "pgvector/ruvector" "same ids"
printf '|----------|----------------|----------------|------------------|------------|\n'
for op in '<->' '<#>' '<=>'; do
  read -r rv_ms rv_sum <<<"$(measure fashion queries "$op")"
  if [[ "$have_pgvector" == 1 ]]; then
    read -r pg_ms pg_sum <<<"$(measure fashion_pgv queries_pgv "$op")"
    ratio=$(awk -v a="$pg_ms" -v b="$rv_ms" 'BEGIN {printf "%.2fx", a / b}')
    same=$([[ "$rv_sum" == "$pg_sum" ]] && echo yes || echo NO)
  else
    pg_ms="(not installed)"; ratio="-"; same="-"
  fi
  printf '| %-8s | %14.2f | %14s | %16s | %10s |\n' "$op" "$rv_ms" "$pg_ms" "$ratio" "$same"
done
