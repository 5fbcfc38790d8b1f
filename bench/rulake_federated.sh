#!/usr/bin/env bash
# search_federated over 4 shards, serial against threaded, on these data sets in one run:
#   - fashion: Fashion-MNIST 60k x 784 split into 4 shards of 15k (lists = 245, as
#     bench/rulake_fashion.sh);
#   - clustered: 400k x 128 clustered (tools/gen_clustered.cpp, seed 42) split into 4
#     shards of 100k (default lists), where each shard's scan is larger;
#   - big (only with BIG=1: ~8 GB of disk and memory, ~10 more minutes): 1M x 768 of the
#     same generator (the data set of bench/clustered_1m.sh) split into 4 shards of 250k,
#     the size at which an application would shard.
# Two measures, max_parallel_workers_per_gather = 0 (serial) and 3 (4 threads) alternated
# ROUNDS times, medians over the rounds:
#   - server µs per search: a PL/pgSQL loop over the queries (10 times) inside one backend;
#   - QPS and median latency of one pgbench client, prepared statements, SECONDS per row.
# Each setting of PROBES (default "8 32": each shard's probes, set at registration) gets its
# rows, with recall@10 of the merged answer against the exact top 10 over the whole table:
# the threads gain more the more work each shard's scan is, against a fixed cost to wake a
# helper and the serial part (catalog query, merge).
#   bench/rulake_federated.sh [SECONDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
SECONDS_PER=${1:-5}
ROUNDS=${2:-5}
QUERIES=200
PROBES=${PROBES:-8 32}
source bench/fashion_load.sh
BIG=${BIG:-}
fashion_cluster_start "rulake.cache_size = '$([[ $BIG ]] && echo 6GB || echo 2GB)'"
load_fashion "$QUERIES"
g++ -O3 -std=c++17 -pthread -o build/gen_clustered tools/gen_clustered.cpp
# clustered_table TABLE QUERY-TABLE TRUTH-TABLE ROWS DIM: a generated set, its queries and
# the generator's exact top 10 of each query.
clustered_table() {
  local data="$CLUSTER_DIR/$1"
  mkdir -p "$data"
  build/gen_clustered "$4" "$5" 1000 "$QUERIES" 42 "$data" >/dev/null
  chmod -R a+r "$data"
  "${PSQL[@]}" <<SQL
CREATE TABLE $1 (id int PRIMARY KEY, embedding ruvector($5));
ALTER TABLE $1 ALTER embedding SET STORAGE PLAIN;
COPY $1 FROM '$data/base.copy' (FORMAT binary);
CREATE TABLE $2 (id int PRIMARY KEY, embedding ruvector($5));
ALTER TABLE $2 ALTER embedding SET STORAGE PLAIN;
COPY $2 FROM '$data/queries.copy' (FORMAT binary);
CREATE TABLE $3 (qid int PRIMARY KEY, ids bigint[]);
COPY $3 FROM '$data/truth.copy';
SQL
  rm -rf "$data"
}
clustered_table docs cqueries ctruth 400000 128
[[ $BIG ]] && clustered_table bigdocs bqueries btruth 1000000 768
"${PSQL[@]}" <<SQL
CREATE TABLE fashion_big AS SELECT id::bigint AS id, embedding FROM fashion;
-- The exact top 10 of each query over the unsharded table.
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ftruth AS SELECT q.id AS qid, array(SELECT f.id FROM fashion_big f
  ORDER BY f.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
SQL
# Each set, fields separated by ";": name, source table, shard prefix, query table, truth
# table, extra registration options, label.
SETS=("fashion;fashion_big;fshard;queries;ftruth;\"lists\": 245, ;Fashion-MNIST 4 × 15k × 784"
  "clustered;docs;cshard;cqueries;ctruth;;clustered 4 × 100k × 128")
[[ $BIG ]] && SETS+=("big;bigdocs;bshard;bqueries;btruth;;clustered 4 × 250k × 768")
for set in "${SETS[@]}"; do
  IFS=';' read -r name src prefix _ <<<"$set"
  for s in 0 1 2 3; do
    "${PSQL[@]}" -c "CREATE TABLE $prefix$s AS SELECT id::bigint AS id, embedding FROM $src WHERE id % 4 = $s"
  done
done
register_shards() {  # probes
  local set name prefix opts s
  for set in "${SETS[@]}"; do
    IFS=';' read -r name _ prefix _ _ opts _ <<<"$set"
    for s in 0 1 2 3; do
      "${PSQL[@]}" -c "SELECT rulake.unregister('$prefix$s') FROM rulake.collections
                       WHERE name = '$prefix$s'" \
        -c "SELECT rulake.register('$prefix$s', 'table:public.$prefix$s(id, embedding)', 'frozen',
             '{$opts\"probes\": $1, \"rerank_factor\": 10}')" >/dev/null
    done
  done
}
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
shards() { echo "ARRAY['${1}0','${1}1','${1}2','${1}3']"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
med() { tr ' ' '\n' | grep . | median; }
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
rows=$(mktemp)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for probes in $PROBES; do
  register_shards "$probes"
  declare -A us=() qps=() lat=() recall=()
  # Prime every shard, check that the threads give the serial search's rows, and take the
  # merged answer's recall.
  for set in "${SETS[@]}"; do
    IFS=';' read -r name _ prefix qt truth _ <<<"$set"
    arr=$(shards "$prefix")
    read -r diff rec < <("${PSQL[@]}" <<SQL | tail -1 | tr "|" " "
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE r0 AS SELECT q.id AS qid, s.* FROM $qt q, rulake.search_federated($arr, q.embedding, 10) s;
SET max_parallel_workers_per_gather = 3;
CREATE TEMP TABLE r3 AS SELECT q.id AS qid, s.* FROM $qt q, rulake.search_federated($arr, q.embedding, 10) s;
SELECT (SELECT count(*) FROM ((TABLE r0 EXCEPT TABLE r3) UNION ALL (TABLE r3 EXCEPT TABLE r0)) d),
  round((SELECT count(*) FROM r0 JOIN $truth t ON t.qid = r0.qid AND r0.id = ANY (t.ids))::numeric
    / (10 * (SELECT count(*) FROM $truth)), 3);
SQL
    )
    [[ $diff == 0 ]] || { echo "threaded and serial answers differ ($diff rows) on $qt" >&2; exit 1; }
    recall[$name]=$rec
  done
  for round in $(seq "$ROUNDS"); do
    for set in "${SETS[@]}"; do
      IFS=';' read -r name _ prefix qt _ <<<"$set"
      arr=$(shards "$prefix")
      for w in 0 3; do
        us[$name.$w]+="$(loop_us "$arr" "$qt" $w) "
        read -r q l < <(bench_qps "$arr" "$qt" $w)
        qps[$name.$w]+="$q "
        lat[$name.$w]+="$l "
      done
    done
  done
  for set in "${SETS[@]}"; do
    IFS=';' read -r name _ _ _ _ _ label <<<"$set"
    s=$(med <<<"${us[$name.0]}") t=$(med <<<"${us[$name.3]}")
    qs=$(med <<<"${qps[$name.0]}") qt=$(med <<<"${qps[$name.3]}")
    ls=$(med <<<"${lat[$name.0]}") lt=$(med <<<"${lat[$name.3]}")
    printf "| %s | %s | %s | %.0f | %.0f | %.2f× | %.0f | %.0f | %.2f× | %s / %s |\n" "$label" "$probes" \
      "${recall[$name]}" "$s" "$t" "$(echo "$s / $t" | bc -l)" "$qs" "$qt" "$(echo "$qt / $qs" | bc -l)" \
      "$ls" "$lt" >>"$rows"
    echo "  probes $probes, $name, server µs per round (serial; threads): ${us[$name.0]}; ${us[$name.3]}" >&2
  done
done
echo "search_federated, 4 shards, k = 10, $(nproc) cores, medians of $ROUNDS alternated rounds"
echo "load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| shards | probes | recall@10 | server µs serial | server µs 4 threads | speed-up | QPS serial | QPS 4 threads | speed-up | median latency µs serial / threads |"
echo "|---|---|---|---|---|---|---|---|---|---|"
cat "$rows"
