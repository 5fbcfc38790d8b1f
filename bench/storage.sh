#!/usr/bin/env bash
# Which column storage the ruvector type should default to (#25 goal 1): for each storage
# strategy, on Fashion-MNIST (60k x 784; mostly zeros, so pglz compresses it) and on 60k x 784
# random normal floats (incompressible, like real embeddings): INSERT ... SELECT time of all
# rows from a PLAIN staging copy, heap and TOAST size, and server µs per query of a default
# rabitq index at two probe counts (every query in turn in a PL/pgSQL loop inside one
# backend, as bench/floor.sh measures it; k = 10). The query's projection computes
# `embedding <-> q` again from each returned heap row, so the storage decides whether that
# is a plain read, a decompression or a TOAST fetch per row; "read µs/row" isolates that:
# backend CPU per row of a sequential scan computing every row's distance to one query.
#   bench/storage.sh [QUERIES]
# STORAGES (default "EXTERNAL MAIN MAIN/lz4 PLAIN EXTENDED"; STORAGE/COMPRESSION also sets
# the column's compression method), PROBES (default "6 16"), PASSES (default 5; the median
# reported), DATASETS (default "fashion random").
set -euo pipefail
cd "$(dirname "$0")/.."
QUERIES=${1:-1000}
STORAGES=${STORAGES:-EXTERNAL MAIN MAIN/lz4 PLAIN EXTENDED}
PROBES=${PROBES:-6 16}
PASSES=${PASSES:-5}
DATASETS=${DATASETS:-fashion random}

source tools/cluster.sh
source bench/fashion_load.sh
fashion_cluster_start
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
-- Staging copies the measured INSERT ... SELECT reads without detoasting.
CREATE TABLE fashion_rows (id int PRIMARY KEY, label int, embedding ruvector(784));
ALTER TABLE fashion_rows ALTER embedding SET STORAGE PLAIN;
CREATE TABLE fashion_queries (id int PRIMARY KEY, label int, embedding ruvector(784));
ALTER TABLE fashion_queries ALTER embedding SET STORAGE PLAIN;
\copy fashion_rows FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz'
\copy fashion_queries FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz $QUERIES'
-- Box-Muller normals; the subquery refers to i so that it is evaluated for every row.
CREATE TABLE random_all (id int PRIMARY KEY, embedding ruvector(784));
ALTER TABLE random_all ALTER embedding SET STORAGE PLAIN;
SELECT setseed(0.25);
INSERT INTO random_all SELECT i, (SELECT array_agg(sqrt(-2 * ln(1 - random()))
    * cos(2 * pi() * random()))::real[] FROM generate_series(1, 784) WHERE i > 0)
  FROM generate_series(1, 60000 + $QUERIES) i;
CREATE TABLE random_rows AS SELECT * FROM random_all WHERE id <= 60000;
CREATE TABLE random_queries AS SELECT id - 60000 AS id, embedding FROM random_all WHERE id > 60000;
ALTER TABLE random_rows ALTER embedding SET STORAGE PLAIN;
ALTER TABLE random_queries ALTER embedding SET STORAGE PLAIN;
DROP TABLE random_all;
VACUUM ANALYZE;
SQL

echo
printf "60k x 784 rows, L2, k = 10, %s queries, default rabitq index and GUCs; %s cores; median of %s passes\n" \
  "$QUERIES" "$(nproc)" "$PASSES"
echo
header="| data | storage | INSERT s | heap MB | TOAST MB | read µs/row | index build s |"
sep="|---|---|---|---|---|---|---|"
for p in $PROBES; do
  header+=" µs/q p$p | CPU µs/q p$p |"
  sep+="---|---|"
done
echo "$header"
echo "$sep"
median() { sort -g | sed -n "$(((PASSES + 1) / 2))p"; }
for ds in $DATASETS; do
  for variant in $STORAGES; do
    st=${variant%/*}
    compression=$([[ "$variant" == */* ]] && echo "${variant#*/}" || true)
    "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS items, queries;
CREATE TABLE items (id int PRIMARY KEY, embedding ruvector(784));
ALTER TABLE items ALTER embedding SET STORAGE $st;
$([[ -z "$compression" ]] || echo "ALTER TABLE items ALTER embedding SET COMPRESSION $compression;")
CREATE TABLE queries AS SELECT id, embedding FROM ${ds}_queries;
ALTER TABLE queries ALTER embedding SET STORAGE PLAIN;
CHECKPOINT;
SQL
    ins=$(timed "INSERT INTO items SELECT id, embedding FROM ${ds}_rows")
    "${PSQL[@]}" -c "VACUUM ANALYZE items, queries"
    read -r heap toast < <("${PSQL[@]}" -F' ' -c "SELECT
      round(pg_relation_size(c.oid) / 1048576.0, 1),
      round(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) / 1048576.0, 1)
      FROM pg_class c WHERE c.relname = 'items'")
    # Backend CPU µs per row of a scan that reads every vector once; a warm-up call first.
    "${PSQL[@]}" <<'SQL'
CREATE OR REPLACE FUNCTION read_rows() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE q ruvector; c0 bigint; s float8; n bigint;
BEGIN
  SELECT embedding INTO q FROM queries ORDER BY id LIMIT 1;
  SELECT count(*) INTO n FROM items;
  c0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
  SELECT sum(embedding <-> q) INTO s FROM items;
  RETURN (split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - c0) / 1e3 / n;
END $$;
SQL
    reads=(-c "SELECT read_rows()")
    for ((i = 0; i < PASSES; i++)); do reads+=(-c "SELECT read_rows()"); done
    read_us=$("${PSQL[@]}" "${reads[@]}" | tail -n "$PASSES" | median)
    build=$(timed "CREATE INDEX items_rabitq ON items USING rabitq (embedding)")
    # {wall, CPU} µs per query; the backend's CPU time is the first field of its schedstat.
    "${PSQL[@]}" <<'SQL'
CREATE OR REPLACE FUNCTION server_loop() RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE q ruvector; t0 timestamptz; c0 bigint; n int := 0; ids int[];
BEGIN
  c0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
  t0 := clock_timestamp();
  FOR q IN SELECT embedding FROM queries ORDER BY id LOOP
    ids := array(SELECT id FROM items ORDER BY embedding <-> q LIMIT 10);
    n := n + 1;
  END LOOP;
  RETURN ARRAY[extract(epoch FROM clock_timestamp() - t0) * 1e6 / n,
    (split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - c0) / 1e3 / n];
END $$;
SQL
    row=$(printf "| %s | %s | %.1f | %s | %s | %.2f | %.1f |" "$ds" "$variant" "$ins" "$heap" "$toast" \
      "$read_us" "$build")
    for p in $PROBES; do
      # One session: a warm-up pass, then PASSES timed ones.
      passes=(-c "SET rabitq.probes = $p" -c "SET enable_seqscan = off" -c "SELECT server_loop()")
      for ((i = 0; i < PASSES; i++)); do passes+=(-c "SELECT server_loop()"); done
      res=$("${PSQL[@]}" "${passes[@]}" | tail -n "$PASSES" | tr -d '{}' | tr ',' ' ')
      us=$(cut -d' ' -f1 <<<"$res" | median)
      cpu=$(cut -d' ' -f2 <<<"$res" | median)
      row+=$(printf " %.0f | %.0f |" "$us" "$cpu")
    done
    echo "$row"
  done
done
