#!/usr/bin/env bash
# The SQL path against its floor (#25 goal 2) on Fashion-MNIST (60k x 784, L2, k = 10, the
# first QUERIES test images): server µs per query, every query in turn in a PL/pgSQL loop
# inside one backend (as bench/ann_fashion.sh measures it), next to bench/scan_floor.cpp,
# the same index's work done by src/ alone in one thread. Both sides are the defaults: the
# table's column keeps its DEFAULT storage, the index is a plain
# CREATE INDEX ... USING rabitq (embedding), rabitq.epsilon and iterative_scan untouched.
# scan_floor builds its index from the table's TIDs, so it trains on the same k-means sample
# as the server; both recalls are against scan_floor's exact top 10. It also prints the
# error bound's miss rate (rows whose exact distance is below their lower bound).
# Times are wall and CPU (the backend's schedstat, the floor's thread CPU clock): on a
# loaded machine the wall clock also counts other processes' turns on the core.
#   bench/floor.sh [QUERIES]
# CLUSTERED=ROWS,DIM (e.g. 100000,768) runs the same comparison on tools/gen_clustered's
# data (seed 42) instead of Fashion-MNIST: vectors like real embeddings, which pglz cannot
# compress, so the default storage keeps them uncompressed in the row and a rerank reads
# them without decoding (Fashion-MNIST's rows are decoded from pglz on every rerank).
# PROBES (default "6 16 10": 10 is rabitq.probes' default); PASSES (default 5): timed passes
# over the queries on each side, the median pass reported. STORAGE (default DEFAULT) sets the
# column's storage, e.g. PLAIN as bench/ann_fashion.sh has it, or EXTERNAL (the default
# before 0.4.0): then every vector is TOASTed out of line, and the scan's projection detoasts
# the returned rows' vectors to compute `embedding <-> q` again (EXPLAIN VERBOSE shows it in
# the index scan's Output). DEFAULT is main since 0.4.0 (see bench/storage.sh).
# Under DEFAULT and MAIN a second floor reads each reranked row as the table keeps it
# (scan_floor --stored): pglz-compressed by Postgres' own compressor where that shrinks it,
# and decoded by src/util/pglz_decode as the extension decodes it. The first floor reads
# plain arrays, so on Fashion-MNIST it leaves out the decoding the data's storage demands.
set -euo pipefail
cd "$(dirname "$0")/.."
QUERIES=${1:-1000}
PROBES=${PROBES:-6 16 10}
PASSES=${PASSES:-5}
STORAGE=${STORAGE:-DEFAULT}
CLUSTERED=${CLUSTERED:-}

# Built before the cluster starts, so that the compiler does not share the CPUs with it.
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DRUVECTOR_BENCH=ON >/dev/null
cmake --build build/bench -j"$(nproc)" --target scan_floor >/dev/null
[[ -z "$CLUSTERED" ]] || g++ -O3 -std=c++17 -pthread -o build/gen_clustered tools/gen_clustered.cpp

source tools/cluster.sh
source bench/fashion_load.sh
fashion_cluster_start
work=$(mktemp -d)
trap 'cluster_stop; rm -rf "$work"' EXIT
# The table keeps the name fashion whatever it holds, so that one loop serves both.
if [[ -z "$CLUSTERED" ]]; then
  dim=784 name=Fashion-MNIST
else
  IFS=, read -r rows dim <<<"$CLUSTERED"
  name=clustered
  chmod 755 "$work"
  build/gen_clustered "$rows" "$dim" 1000 "$QUERIES" 42 "$work" >/dev/null
  chmod 644 "$work"/*.copy
fi
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE fashion (id int PRIMARY KEY, label int, embedding ruvector($dim));
$([[ "$STORAGE" == DEFAULT ]] || echo "ALTER TABLE fashion ALTER embedding SET STORAGE $STORAGE;")
-- PLAIN as in fashion_load.sh: a compressed query vector would cost each statement a
-- decompression that a client sending the query as a parameter does not pay.
CREATE TABLE queries (id int PRIMARY KEY, label int, embedding ruvector($dim));
ALTER TABLE queries ALTER embedding SET STORAGE PLAIN;
SQL
if [[ -z "$CLUSTERED" ]]; then
  "${PSQL[@]}" <<SQL
\copy fashion FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz'
\copy queries FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz $QUERIES'
SQL
else
  # gen_clustered numbers the queries from 0; scan_floor's truth numbers them from 1.
  "${PSQL[@]}" <<SQL
CREATE TEMP TABLE rows_in (id int, embedding ruvector($dim));
COPY rows_in FROM '$work/base.copy' (FORMAT binary);
INSERT INTO fashion SELECT id, 0, embedding FROM rows_in;
TRUNCATE rows_in;
COPY rows_in FROM '$work/queries.copy' (FORMAT binary);
INSERT INTO queries SELECT id + 1, 0, embedding FROM rows_in;
SQL
  rm -f "$work"/*.copy
fi
"${PSQL[@]}" -c "VACUUM ANALYZE fashion, queries"
build=$(timed "CREATE INDEX fashion_rabitq ON fashion USING rabitq (embedding)")
"${PSQL[@]}" -c "\\copy (SELECT id, (ctid::text::point)[0]::bigint, (ctid::text::point)[1]::bigint FROM fashion) TO '$work/tids'"

# The floor, while the server idles.
probes_csv=$(tr ' ' ',' <<<"$PROBES")
stored=
[[ "$STORAGE" != DEFAULT && "${STORAGE^^}" != MAIN ]] || stored=--stored
build/bench/bench/scan_floor --tids "$work/tids" --truth-out "$work/truth" --probes "$probes_csv" \
  --passes "$PASSES" --queries "$QUERIES" ${CLUSTERED:+--clustered "$CLUSTERED"} $stored |
  tee "$work/floor"

"${PSQL[@]}" <<SQL
CREATE TABLE truth (qid int PRIMARY KEY, ids int[]);
\copy truth FROM '$work/truth'
-- {wall, CPU} µs per query; the backend's CPU time is the first field of its schedstat (ns).
CREATE FUNCTION server_loop(rounds int) RETURNS float8[] LANGUAGE plpgsql AS \$\$
DECLARE q ruvector; t0 timestamptz; c0 bigint; n int := 0; ids int[];
BEGIN
  c0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
  t0 := clock_timestamp();
  FOR i IN 1..rounds LOOP
    FOR q IN SELECT embedding FROM queries ORDER BY id LOOP
      ids := array(SELECT id FROM fashion ORDER BY embedding <-> q LIMIT 10);
      n := n + 1;
    END LOOP;
  END LOOP;
  RETURN ARRAY[extract(epoch FROM clock_timestamp() - t0) * 1e6 / n,
    (split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - c0) / 1e3 / n];
END \$\$;
SQL

echo
printf "%s %s x %s, L2, k = 10, %s queries, column storage %s, default index (build %.1f s) and GUCs; %s cores; median of %s passes each side\n" \
  "$name" "$("${PSQL[@]}" -c "SELECT count(*) FROM fashion")" "$dim" "$QUERIES" "$STORAGE" "$build" "$(nproc)" "$PASSES"
echo
echo "| probes | recall SQL | recall floor | server µs/q | floor µs/q | ratio | server CPU µs/q | floor CPU µs/q | CPU ratio | floor CPU µs/q, rows as stored | CPU ratio to it |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
median() { sort -g | sed -n "$(((PASSES + 1) / 2))p"; }
for p in $PROBES; do
  recall=$("${PSQL[@]}" -c "SET rabitq.probes = $p; SET enable_seqscan = off;
    SELECT round(avg(cardinality(array(SELECT unnest(t.ids) INTERSECT SELECT unnest(array(
      SELECT f.id FROM fashion f ORDER BY f.embedding <-> q.embedding LIMIT 10))))) / 10.0, 3)
    FROM truth t JOIN queries q ON q.id = t.qid" | tail -1)
  # One session: a warm-up pass, then PASSES timed ones.
  passes=(-c "SET rabitq.probes = $p" -c "SELECT server_loop(1)")
  for ((i = 0; i < PASSES; i++)); do passes+=(-c "SELECT server_loop(1)"); done
  "${PSQL[@]}" "${passes[@]}" | tail -n "$PASSES" | tr -d '{}' | tr ',' ' ' >"$work/server"
  us=$(cut -d' ' -f1 "$work/server" | median)
  cpu=$(cut -d' ' -f2 "$work/server" | median)
  # The floor's row for these probes: the first table of scan_floor's output.
  read -r frecall fcpu fus fstored < <(awk -F' *[|] *' -v p="$p" \
    '/^Bound misses/ { exit } $2 == p && $3 ~ /^[0-9.]+$/ { print $3, $4, $5, ($11 == "" ? "-" : $11); exit }' "$work/floor")
  if [[ "$fstored" == - ]]; then
    stored_cells="– | –"
  else
    stored_cells=$(printf "%.1f | %.1fx" "$fstored" "$(echo "$cpu / $fstored" | bc -l)")
  fi
  printf "| %s | %s | %s | %.0f | %.1f | %.1fx | %.0f | %.1f | %.1fx | %s |\n" "$p" "$recall" "$frecall" \
    "$us" "$fus" "$(echo "$us / $fus" | bc -l)" "$cpu" "$fcpu" "$(echo "$cpu / $fcpu" | bc -l)" "$stored_cells"
done
