#!/usr/bin/env bash
# search_federated's per-shard k on Fashion-MNIST (60k x 784, L2, k = 10): each shard asked
# for k + ceil(sqrt(k ln S)) rows (what search_federated does now, as the Rust ruLake does)
# against each shard asked for k (the former rule, rebuilt here from rulake.search on every
# shard with the same per-shard rerank factor and a global merge), in one run on one
# cluster. Two ways to shard: by id (every shard holds a fair share of any top 10) and by
# label (a query's neighbours crowd into one shard, the skew the over-request is for).
# Prints recall@10 against the exact answer, and the time per query of search_federated
# (the rebuilt former rule runs as separate SQL calls, so its time is not comparable).
# Two and four shards: a backend pins at most four cache entries at once.
# PER_SHARD_RERANK=r passes r as search_federated's per_shard_rerank (and to the rebuilt
# rule), for a run where the rerank pool, not the probed lists, limits recall.
#   bench/federated_k.sh [QUERIES] [PROBES]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
QUERIES=${1:-200}
PROBES=${2:-4}
source bench/fashion_load.sh
fashion_cluster_start "rulake.cache_size = '1GB'"
load_fashion "$QUERIES"

printf '| sharding | shards | per-shard k | recall@10, k per shard | recall@10, over-request | ms/query, search_federated |\n'
printf '|---|---|---|---|---|---|\n'
for by in id label; do
  for S in 2 4; do
    names=()
    for s in $(seq 0 $((S - 1))); do
      name="${by}_${S}_$s"
      names+=("'$name'")
      "${PSQL[@]}" -c "CREATE TABLE $name AS SELECT id::bigint AS id, embedding FROM fashion
                       WHERE $by % $S = $s" \
        -c "SELECT rulake.register('$name', 'table:public.$name(id, embedding)', 'frozen',
              '{\"probes\": $PROBES, \"rerank_factor\": 10}')" >/dev/null
    done
    arr="ARRAY[$(IFS=,; echo "${names[*]}")]"
    rerank=${PER_SHARD_RERANK:-$(( 10 / S > 5 ? 10 / S : 5 ))}
    new="SELECT avg(cardinality(array(SELECT unnest(t.ids) INTERSECT
           SELECT f.id FROM rulake.search_federated($arr, q.embedding, 10, $rerank) f)))::float8 / 10
         FROM queries q JOIN truth t ON t.qid = q.id"
    old="SELECT avg(cardinality(array(SELECT unnest(t.ids) INTERSECT
           SELECT x.id FROM (SELECT s.id FROM unnest($arr) n, rulake.search(n, q.embedding, 10, $rerank) s
                             ORDER BY s.distance LIMIT 10) x)))::float8 / 10
         FROM queries q JOIN truth t ON t.qid = q.id"
    "${PSQL[@]}" -c "$new" >/dev/null  # primes every shard
    r_old=$("${PSQL[@]}" -c "$old")
    r_new=$("${PSQL[@]}" -c "$new")
    t_new=$(timed "$new")
    k_shard=$(python3 -c "import math; print(min(10 + math.ceil(math.sqrt(10 * math.log($S))), 40))")
    printf '| %s %% S | %d | 10 → %d | %.3f | %.3f | %.2f |\n' "$by" "$S" "$k_shard" \
      "$r_old" "$r_new" "$(echo "$t_new * 1000 / $QUERIES" | bc -l)"
  done
done
