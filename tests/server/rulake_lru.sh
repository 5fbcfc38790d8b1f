#!/usr/bin/env bash
# Only searches make an image recently used (docs/rulake.md, "When the cache is smaller
# than the data"): six collections of about 3 MB against an 8 MB cache (2x over-
# subscription), two of them searched in turn with a refill worker cycle between searches.
# The worker looks at every cached image each cycle and primes the unsearched ones once;
# if that counted as use, the image it touched last would outlive the searched ones and
# the searched ones would be evicted in its favour (and primed again). The two searched
# collections must stay cached from their first search on, and the unsearched ones must
# be the evicted ones, never primed again.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_lru "rulake.cache_size = 8MB"
six_collections
stats() { "${PSQL[@]}" -c "SELECT string_agg(collection || ' ' || state || ' primes=' || primes || ' misses=' || misses || ' evictions=' || evictions, ', ' ORDER BY collection) FROM rulake.stats()"; }

wait_for "SELECT count(*) = 6 AND bool_and(primes >= 1) FROM rulake.stats()" ||
  fail "the worker did not prime every collection once: $(stats)"
sleep 2  # the worker's cycle that primed the last one ends
unsearched_before=$("${PSQL[@]}" -c "SELECT string_agg(collection || '=' || primes, ' ' ORDER BY collection) FROM rulake.stats() WHERE collection NOT IN ('c1', 'c2')")
evictions() { "${PSQL[@]}" -c "SELECT evictions FROM rulake.stats() WHERE collection = '$1'"; }
# From its first search on, a searched collection is never the one evicted: the worker's
# cycle between two searches must not make the unsearched images look more recent.
search c1
sleep 1.3  # a worker cycle
c1_evictions=$(evictions c1)
search c2
sleep 1.3
c2_evictions=$(evictions c2)
for _ in 1 2 3 4; do
  search c1
  sleep 1.3
  search c2
  sleep 1.3
done
[[ "$(evictions c1) $(evictions c2)" == "$c1_evictions $c2_evictions" ]] ||
  fail "a searched collection was evicted for an unsearched one: $(stats)"
misses=$("${PSQL[@]}" -c "SELECT sum(misses) FROM rulake.stats() WHERE collection IN ('c1', 'c2')")
[[ $misses -le 2 ]] || fail "the searched c1 and c2 missed $misses times in 10 searches: $(stats)"
ready=$("${PSQL[@]}" -c "SELECT string_agg(collection, ' ' ORDER BY collection) FROM rulake.stats() WHERE state = 'ready'")
[[ "$ready" == "c1 c2" ]] || fail "cached at the end: $ready, not c1 c2: $(stats)"
unsearched=$("${PSQL[@]}" -c "SELECT string_agg(collection || '=' || primes, ' ' ORDER BY collection) FROM rulake.stats() WHERE collection NOT IN ('c1', 'c2')")
[[ "$unsearched" == "$unsearched_before" ]] ||
  fail "unsearched collections were primed again: $unsearched (before: $unsearched_before)"
echo "rulake_lru: c1 and c2 searched in turn stay cached ($misses misses in 10 searches), the 4 unsearched stay evicted: ok"
