#!/usr/bin/env bash
# search_federated over 4 shards, serial against threaded, on two data sets in one run:
#   - Fashion-MNIST 60k x 784 split into 4 shards of 15k (lists = 245, as
#     bench/rulake_fashion.sh), and
#   - 400k x 128 clustered (tools/gen_clustered.cpp, seed 42) split into 4 shards of 100k
#     (default lists), where each shard's scan is larger.
# Two measures, max_parallel_workers_per_gather = 0 (serial) and 3 (4 threads) alternated
# ROUNDS times, medians over the rounds:
#   - server µs per search: a PL/pgSQL loop over the queries (10 times) inside one backend;
#   - QPS and median latency of one pgbench client, prepared statements, SECONDS per row.
#   bench/rulake_federated.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
SECONDS_PER=${1:-5}
ROUNDS=${2:-5}
QUERIES=200
PROBES=${PROBES:-8}
source bench/fashion_load.sh
fashion_cluster_start "rulake.cache_size = '2GB'"
load_fashion "$QUERIES"
g++ -O3 -std=c++17 -pthread -o build/gen_clustered tools/gen_clustered.cpp
DATA="$CLUSTER_DIR/clustered"
mkdir -p "$DATA"
build/gen_clustered 400000 128 1000 "$QUERIES" 42 "$DATA" >/dev/null
chmod -R a+r "$DATA"
"${PSQL[@]}" <<SQL
CREATE TABLE docs (id int PRIMARY KEY, embedding ruvector(128));
ALTER TABLE docs ALTER embedding SET STORAGE PLAIN;
COPY docs FROM '$DATA/base.copy' (FORMAT binary);
CREATE TABLE cqueries (id int PRIMARY KEY, embedding ruvector(128));
COPY cqueries FROM '$DATA/queries.copy' (FORMAT binary);
ALTER TABLE cqueries ALTER embedding SET STORAGE PLAIN;
CREATE TABLE fashion_big AS SELECT id::bigint AS id, embedding FROM fashion;
SQL
for s in 0 1 2 3; do
  "${PSQL[@]}" -c "CREATE TABLE fshard$s AS SELECT * FROM fashion_big WHERE id % 4 = $s" \
    -c "SELECT rulake.register('fshard$s', 'table:public.fshard$s(id, embedding)', 'frozen',
         '{\"lists\": 245, \"probes\": $PROBES, \"rerank_factor\": 10}')" \
    -c "CREATE TABLE cshard$s AS SELECT id::bigint AS id, embedding FROM docs WHERE id % 4 = $s" \
    -c "SELECT rulake.register('cshard$s', 'table:public.cshard$s(id, embedding)', 'frozen',
         '{\"probes\": $PROBES, \"rerank_factor\": 10}')" >/dev/null
done
"${PSQL[@]}" <<'SQL'
-- Microseconds per search over every query, inside this backend.
CREATE FUNCTION fed_loop(shards text[], qtable regclass, rounds int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
  vs ruvector[];
  t0 timestamptz;
  n int := 0;
  dummy bigint;
BEGIN
  EXECUTE format('SELECT array_agg(embedding ORDER BY id) FROM %s', qtable) INTO vs;
  t0 := clock_timestamp();
  FOR r IN 1..rounds LOOP
    FOR i IN 1..cardinality(vs) LOOP
      SELECT count(*) INTO dummy FROM rulake.search_federated(shards, vs[i], 10);
      n := n + 1;
    END LOOP;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;
SQL
F="ARRAY['fshard0','fshard1','fshard2','fshard3']"
C="ARRAY['cshard0','cshard1','cshard2','cshard3']"
# Prime every shard, and check that the threads give the serial search's rows.
for set in "$F:queries" "$C:cqueries"; do
  IFS=: read -r arr qt <<<"$set"
  diff=$("${PSQL[@]}" <<SQL | tail -1
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE r0 AS SELECT q.id AS qid, s.* FROM $qt q, rulake.search_federated($arr, q.embedding, 10) s;
SET max_parallel_workers_per_gather = 3;
CREATE TEMP TABLE r3 AS SELECT q.id AS qid, s.* FROM $qt q, rulake.search_federated($arr, q.embedding, 10) s;
SELECT count(*) FROM ((TABLE r0 EXCEPT TABLE r3) UNION ALL (TABLE r3 EXCEPT TABLE r0)) d;
SQL
  )
  [[ $diff == 0 ]] || { echo "threaded and serial answers differ ($diff rows) on $qt" >&2; exit 1; }
done
[[ ${SETUP_ONLY:-} ]] && { trap - EXIT; env | grep -E '^(PG|CLUSTER_DIR)' >/tmp/fedpar/cluster.env; exit 0; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
results=$(mktemp)
loop_us() {  # shards, query table, workers
  "${PSQL[@]}" -c "SET max_parallel_workers_per_gather = $3" -c "SELECT fed_loop($1, '$2', 10)" | tail -1
}
bench_qps() {  # shards, query table, workers -> "qps median_us"
  printf '\\set qid random(0, %d)\nSELECT id FROM rulake.search_federated(%s, (SELECT embedding FROM %s WHERE id = :qid), 10);\n' \
    $((QUERIES - 1)) "$1" "$2" >"$CLUSTER_DIR/q.pgb"
  rm -f "$CLUSTER_DIR"/pgbench_log.*
  (cd "$CLUSTER_DIR" && PGOPTIONS="-c max_parallel_workers_per_gather=$3" \
    pgbench -n -f q.pgb -T "$SECONDS_PER" -M prepared -l 2>/dev/null) >"$CLUSTER_DIR/out"
  echo "$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$CLUSTER_DIR/out") $(cat "$CLUSTER_DIR"/pgbench_log.* | awk '{print $3}' | median)"
}
declare -A us qps lat
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  for set in "fashion:$F:queries" "clustered:$C:cqueries"; do
    IFS=: read -r name arr qt <<<"$set"
    for w in 0 3; do
      us[$name.$w]+="$(loop_us "$arr" "$qt" $w) "
      read -r q l < <(bench_qps "$arr" "$qt" $w)
      qps[$name.$w]+="$q "
      lat[$name.$w]+="$l "
    done
  done
done
med() { tr ' ' '\n' | grep . | median; }
echo "search_federated, 4 shards, k = 10, probes = $PROBES, $(nproc) cores, medians of $ROUNDS alternated rounds"
echo "load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| shards | server µs serial | server µs 4 threads | speed-up | QPS serial | QPS 4 threads | speed-up | median latency µs serial / threads |"
echo "|---|---|---|---|---|---|---|---|"
for name in fashion clustered; do
  s=$(med <<<"${us[$name.0]}") t=$(med <<<"${us[$name.3]}")
  qs=$(med <<<"${qps[$name.0]}") qt=$(med <<<"${qps[$name.3]}")
  ls=$(med <<<"${lat[$name.0]}") lt=$(med <<<"${lat[$name.3]}")
  label=$([[ $name == fashion ]] && echo "Fashion-MNIST 4 × 15k × 784" || echo "clustered 4 × 100k × 128")
  printf "| %s | %.0f | %.0f | %.2f× | %.0f | %.0f | %.2f× | %s / %s |\n" "$label" "$s" "$t" \
    "$(echo "$s / $t" | bc -l)" "$qs" "$qt" "$(echo "$qt / $qs" | bc -l)" "$ls" "$lt"
done
echo "server µs per round (serial; threads):"
for name in fashion clustered; do echo "  $name: ${us[$name.0]}; ${us[$name.3]}"; done
