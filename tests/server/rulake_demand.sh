#!/usr/bin/env bash
# Eviction that knows demand (docs/rulake.md, "When the cache is smaller than the data"):
# six collections of about 3 MB each against an 8 MB cache. The refill worker primes each
# once; afterwards, while only one collection is searched, the evicted others are not
# primed again over several worker cycles, and stats() counts the evictions. An evicted
# collection that was searched recently is re-primed by the worker without a search.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_demand "rulake.cache_size = 8MB"
six_collections
primes() { "${PSQL[@]}" -c "SELECT string_agg(collection || '=' || primes, ' ' ORDER BY collection) FROM rulake.stats()"; }

wait_for "SELECT bool_and(primes >= 1) FROM rulake.stats()" || fail "the worker did not prime every collection once: $(primes)"
sleep 2  # the worker's cycle that primed the last one ends
search c1
before=$(primes)
evicted=$("${PSQL[@]}" -c "SELECT count(*) FROM rulake.stats() WHERE state = 'evicted'")
[[ $evicted -ge 3 ]] || fail "expected the cache to hold at most 3 of 6, $evicted evicted: $("${PSQL[@]}" -c "SELECT * FROM rulake.stats()")"
for _ in $(seq 1 25); do search c1; sleep 0.2; done  # 5 s: about five worker cycles
after=$(primes)
[[ "$after" == "$before" ]] || fail "collections were primed again while only c1 was searched: $before -> $after"
evictions=$("${PSQL[@]}" -c "SELECT sum(evictions) FROM rulake.stats()")
[[ $evictions -ge 3 ]] || fail "stats() counts $evictions evictions"
state=$("${PSQL[@]}" -c "SELECT state FROM rulake.stats() WHERE collection = 'c1'")
[[ "$state" == ready ]] || fail "the searched collection is $state"
echo "rulake_demand: $evicted of 6 evicted, none re-primed over ~5 worker cycles ($after), $evictions evictions counted: ok"

# Demand: c2 and c3 searched (each primed by its search) push c1 out; c1 was searched
# within rulake.reprime_window, so the worker primes it again with no search of its own.
read -r c1_primes c1_evictions <<<"$("${PSQL[@]}" -F ' ' -c "SELECT primes, evictions FROM rulake.stats() WHERE collection = 'c1'")"
for c in c2 c3 c4; do search $c; done
wait_for "SELECT evictions > $c1_evictions AND primes > $c1_primes AND state = 'ready'
          FROM rulake.stats() WHERE collection = 'c1'" ||
  fail "the worker did not re-prime the recently searched c1 after its eviction: $("${PSQL[@]}" -c "SELECT * FROM rulake.stats()")"
last=$("${PSQL[@]}" -c "SELECT last_searched IS NOT NULL FROM rulake.stats() WHERE collection = 'c1'")
[[ "$last" == t ]] || fail "last_searched not shown"
unsearched=$("${PSQL[@]}" -c "SELECT string_agg(collection || '=' || primes, ' ' ORDER BY collection) FROM rulake.stats() WHERE collection IN ('c5', 'c6')")
[[ "$unsearched" == "$(tr ' ' '\n' <<<"$before" | grep -E '^c[56]=' | paste -sd ' ')" ]] ||
  fail "the never searched c5, c6 were primed again: $unsearched (before: $before)"
echo "rulake_demand: a recently searched collection is re-primed after eviction, unsearched ones are not: ok"
