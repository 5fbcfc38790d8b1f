#!/usr/bin/env bash
# ruLake on Fashion-MNIST (60k x 784, L2, k = 10), all in one run on one cluster:
#   - a direct rabitq index scan against rulake.search of the same rows (frozen and fresh),
#     at the same probes: the cache's "intermediary tax";
#   - the hit rate rulake.stats() reports over the steady workload;
#   - search_federated over 4 shards against one collection of the same rows, its shards
#     searched one after another and on 2 and 4 threads.
# Latency: one pgbench client, prepared statements, SECONDS seconds per row; the table
# gives QPS and the median latency from pgbench's per-transaction log.
#   bench/rulake_fashion.sh [QUERIES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
QUERIES=${1:-200}
SECONDS_PER=${2:-10}
PROBES=${PROBES:-8}
source bench/fashion_load.sh
fashion_cluster_start "rulake.cache_size = '1GB'"
load_fashion "$QUERIES"
"${PSQL[@]}" <<SQL
CREATE INDEX fashion_rabitq ON fashion USING rabitq (embedding) WITH (lists = 490);
CREATE TABLE fashion_big AS SELECT id::bigint AS id, embedding FROM fashion;
SELECT rulake.register('frozen', 'table:public.fashion_big(id, embedding)', 'frozen',
  '{"lists": 490, "probes": $PROBES, "rerank_factor": 10}');
SELECT rulake.register('fresh', 'table:public.fashion_big(id, embedding)', 'fresh',
  '{"lists": 490, "probes": $PROBES, "rerank_factor": 10, "seed": 1}');
SQL
for s in 0 1 2 3; do
  "${PSQL[@]}" -c "CREATE TABLE shard$s AS SELECT * FROM fashion_big WHERE id % 4 = $s" \
    -c "SELECT rulake.register('shard$s', 'table:public.shard$s(id, embedding)', 'frozen',
         '{\"lists\": 245, \"probes\": $PROBES, \"rerank_factor\": 10}')" >/dev/null
done
# Prime every collection before measuring.
"${PSQL[@]}" -c "SELECT count(*) FROM rulake.search_federated(ARRAY['frozen'], (SELECT embedding FROM queries LIMIT 1), 1)" \
  -c "SELECT count(*) FROM rulake.search_federated(ARRAY['fresh'], (SELECT embedding FROM queries LIMIT 1), 1)" \
  -c "SELECT count(*) FROM rulake.search_federated(ARRAY['shard0','shard1','shard2','shard3'], (SELECT embedding FROM queries LIMIT 1), 1)" >/dev/null

results=$(mktemp)
measure() {  # name, gucs, SQL returning the ids of query :qid (recall SQL uses q.embedding)
  local name=$1 gucs=$2 sql=$3 recall_sql=$4 recall qps median
  recall=$("${PSQL[@]}" -c "$gucs" -c "SELECT round(avg(cardinality(array(SELECT unnest(t.ids)
      INTERSECT SELECT unnest(array($recall_sql))))) / 10.0, 3)
    FROM truth t JOIN queries q ON q.id = t.qid" | tail -1)
  printf '\\set qid random(0, %d)\n%s\n' $((QUERIES - 1)) "$sql" >"$CLUSTER_DIR/q.pgb"
  rm -f "$CLUSTER_DIR"/pgbench_log.*
  (cd "$CLUSTER_DIR" && PGOPTIONS="$(sed -E 's/SET ([a-z_.]+) = ([^;]+);/-c \1=\2 /g' <<<"$gucs")" \
    pgbench -n -f q.pgb -T "$SECONDS_PER" -M prepared -l 2>/dev/null) >"$CLUSTER_DIR/out"
  qps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$CLUSTER_DIR/out")
  median=$(cat "$CLUSTER_DIR"/pgbench_log.* | awk '{print $3}' | sort -n |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf "| %s | %s | %.0f | %s |\n" "$name" "$recall" "$qps" "$median" >>"$results"
}
Q="(SELECT embedding FROM queries WHERE id = :qid)"
measure "rabitq index scan, probes=$PROBES" "SET rabitq.probes = $PROBES; SET enable_seqscan = off;" \
  "SELECT id FROM fashion ORDER BY embedding <-> $Q LIMIT 10;" \
  "SELECT f.id FROM fashion f ORDER BY f.embedding <-> q.embedding LIMIT 10"
measure "rulake.search, frozen" "" "SELECT id FROM rulake.search('frozen', $Q, 10);" \
  "SELECT s.id FROM rulake.search('frozen', q.embedding, 10) s"
measure "rulake.search, fresh" "" "SELECT id FROM rulake.search('fresh', $Q, 10);" \
  "SELECT s.id FROM rulake.search('fresh', q.embedding, 10) s"
# The cluster runs with max_parallel_workers_per_gather = 0: the shards one after another;
# then on 2 and 4 threads (1 and 3 workers), alternately, twice.
for round in 1 2; do
  for workers in 0 1 3; do
    measure "search_federated, 4 shards, $((workers + 1)) thread(s)" \
      "SET max_parallel_workers_per_gather = $workers;" \
      "SELECT id FROM rulake.search_federated(ARRAY['shard0','shard1','shard2','shard3'], $Q, 10);" \
      "SELECT s.id FROM rulake.search_federated(ARRAY['shard0','shard1','shard2','shard3'], q.embedding, 10) s"
  done
done
echo "ruLake on Fashion-MNIST 60k x 784, L2, k = 10, $QUERIES queries, one client, $(nproc) cores"
echo "| path | recall@10 | QPS | median latency us |"
echo "|---|---|---|---|"
cat "$results"
echo
echo "| collection | primes | hits | misses | hit rate | MB |"
echo "|---|---|---|---|---|---|"
"${PSQL[@]}" -F ' | ' -c "SELECT collection, primes, hits, misses, round(hit_rate::numeric, 4),
  bytes / 1048576 FROM rulake.stats() ORDER BY 1" | sed 's/^/| /; s/$/ |/'
rm -f "$results"
