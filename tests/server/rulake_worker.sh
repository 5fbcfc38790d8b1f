#!/usr/bin/env bash
# ruLake with its refill worker, on a cluster whose rulake.database is the one we use:
# the worker primes registered collections before any search; a remote bundle served by a
# local HTTP server on 127.0.0.1 answers exactly like the table it was published from;
# eventual collections follow a republished bundle; a broken collection does not stop
# the others; searches from several sessions while priming all succeed; and after the
# worker is killed the server restarts it and it primes again.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_worker "rulake.refresh_interval = 1" "rulake.allowed_hosts = '127.0.0.1'"

with_bundle_root
items_collection '{"seed": 3, "lists": 20, "probes": 20}'

# 1. The worker primes ahead of queries.
wait_for "SELECT primes = 1 AND hits + misses = 0 FROM rulake.stats() WHERE collection = 'items'" ||
  fail "the worker did not prime a registered collection"
echo "rulake_worker: primed before any search: ok"

# 2. A remote bundle answers exactly like its table.
"${PSQL[@]}" -c "SELECT rulake.publish_bundle('items', 'items')" >/dev/null
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$BUNDLES/items" >/dev/null 2>&1 &
SERVER_PIDS+=($!)
sleep 0.5  # the HTTP server binds
"${PSQL[@]}" -c "SELECT rulake.register('remote', 'http://127.0.0.1:$HTTP_PORT/', 'eventual',
    '{\"lists\": 20, \"probes\": 20}')" >/dev/null
differ=$("${PSQL[@]}" <<'SQL'
SET rulake.cold_wait = '20s';
WITH q AS (SELECT g, array(SELECT (g % 10) + 0.5 FROM generate_series(1, 32) d WHERE g > 0)::ruvector AS v
           FROM generate_series(1, 10) g)
SELECT count(*) FROM (
  SELECT q.g, s.id, s.distance FROM q, rulake.search('remote', q.v, 10) s
  EXCEPT SELECT q.g, s.id, s.distance FROM q, rulake.search('items', q.v, 10) s) x;
SQL
)
[[ "$differ" == 0 ]] || fail "remote results differ from the table's in $differ rows"
echo "rulake_worker: remote bundle == table: ok"

# 3. Eventual: a republished bundle is fetched by the worker within a few intervals.
before=$("${PSQL[@]}" -c "SELECT rulake.witness('remote')")
"${PSQL[@]}" -c "INSERT INTO items VALUES (99999, array_fill(0.5, ARRAY[32])::ruvector)" >/dev/null
"${PSQL[@]}" -c "SELECT rulake.publish_bundle('items', 'items')" >/dev/null
wait_for "SELECT id = 99999 FROM rulake.search('remote', array_fill(0.5, ARRAY[32])::ruvector, 1)" ||
  fail "the eventual remote collection never saw the republished bundle"
after=$("${PSQL[@]}" -c "SELECT rulake.witness('remote')")
[[ "$before" != "$after" ]] || fail "witness did not change"
echo "rulake_worker: eventual follows a republished bundle: ok"

# 4. A broken collection is reported and does not stop the others.
"${PSQL[@]}" -c "SELECT rulake.register('broken', 'http://127.0.0.1:1/', 'eventual')" >/dev/null
"${PSQL[@]}" -c "SELECT rulake.invalidate('items')" >/dev/null
wait_for "SELECT state = 'failed' FROM rulake.stats() WHERE collection = 'broken'" ||
  fail "the broken collection is not reported as failed"
wait_for "SELECT state = 'ready' FROM rulake.stats() WHERE collection = 'items'" ||
  fail "a broken collection stopped the worker from priming others"
echo "rulake_worker: one failing collection, the others primed: ok"

# 5. Searches from several sessions while priming.
"${PSQL[@]}" -c "SELECT rulake.invalidate('items')" >/dev/null
pids=()
for s in 1 2 3 4; do
  (for _ in $(seq 1 15); do
     psql -X -qtA -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM rulake.search('items',
       array_fill(${s}.5, ARRAY[32])::ruvector, 10)" | grep -qx 10 || exit 1
   done) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent search failed or returned short"; done
echo "rulake_worker: concurrent searches while priming: ok"

# 6. The worker is restarted after a crash (the server reinitialises shared memory) and
#    primes again.
worker=$("${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'rulake refill worker'")
[[ -n "$worker" ]] || fail "no refill worker is running"
kill -9 "$worker"
sleep 2
wait_for "SELECT state = 'ready' FROM rulake.stats() WHERE collection = 'items'" ||
  fail "after a worker crash the collection was not primed again"
echo "rulake_worker: primed again after the worker was killed: ok"
