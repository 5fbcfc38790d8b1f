#!/usr/bin/env bash
# Remote fetches never hold up the refill worker. While one remote collection's server
# answers its data file with an endless, slow body, a good remote collection and a table
# collection registered meanwhile are primed and answer in under 3 s; the bad one reports
# its error in rulake.stats(), a search of it fails at once instead of waiting, its fetches
# back off, and its mirror holds no half-written file. A mirror is removed when the last
# collection using its URL is unregistered.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_fetch "rulake.refresh_interval = 1" "rulake.allowed_hosts = '127.0.0.1'" \
  "rulake.fetch_timeout = 3"
now_ms() { date +%s%3N; }
# mirror URL: the mirror directory of a remote bundle (rulake_source.cpp, remote_mirror_dir).
mirror() {
  echo "$PGDATA/pg_rulake/remote/$(python3 -c 'import hashlib, sys; print(hashlib.shake_256(sys.argv[1].encode()).hexdigest(16))' "$1")"
}
mirrors() { cluster_as_owner find "$PGDATA/pg_rulake/remote" -mindepth 1 -maxdepth 1 | wc -l; }
QUERY="array_fill(1.5, ARRAY[32])::ruvector"

[[ "$("${PSQL[@]}" -c "SHOW rulake.max_fetch_size")" == 1GB ]] || fail "rulake.max_fetch_size is not 1GB by default"

with_bundle_root
items_collection '{"lists": 20, "probes": 20}'
"${PSQL[@]}" -c "SELECT rulake.publish_bundle('items', 'items')" >/dev/null
python3 tests/server/lib/bundle_server.py 0 "$BUNDLES/items" >"$CLUSTER_DIR/http.log" 2>&1 &
SERVER_PIDS+=($!)
for _ in $(seq 1 50); do grep -q '^PORT' "$CLUSTER_DIR/http.log" && break; sleep 0.1; done
PORT=$(sed -n 's/^PORT //p' "$CLUSTER_DIR/http.log")
[[ -n "$PORT" ]] || fail "the bundle server did not start"
BAD="http://127.0.0.1:$PORT/endless/"
GOOD="http://127.0.0.1:$PORT/good/"
data_requests() { grep -c '^GET /endless/vectors-' "$CLUSTER_DIR/http.log" || true; }

# 1. The bad collection's data download starts and does not end.
"${PSQL[@]}" -c "SELECT rulake.register('bad', '$BAD', 'eventual')" >/dev/null
for _ in $(seq 1 100); do [[ $(data_requests) -ge 1 ]] && break; sleep 0.1; done
[[ $(data_requests) -ge 1 ]] || fail "the bad collection's data file was never requested"

# 2. Meanwhile a good remote collection and a table collection are served at once.
start=$(now_ms)
"${PSQL[@]}" -c "SELECT rulake.register('good', '$GOOD', 'eventual', '{\"lists\": 20, \"probes\": 20}')" >/dev/null
n=$("${PSQL[@]}" -c "SET rulake.cold_wait = '20s'" -c "SELECT count(*) FROM rulake.search('good', $QUERY, 10)")
took=$(($(now_ms) - start))
[[ "$n" == 10 ]] || fail "the good remote collection answered $n rows"
((took < 3000)) || fail "the good remote collection's first search took $took ms"
echo "rulake_fetch: a good remote collection answered in $took ms while another fetch hangs: ok"
# A part naming the remote copy of the bundle (rulake.register_from_part with a URL): the
# collection is pinned to the part's witness, checked once the worker has fetched it.
part=$("${PSQL[@]}" -c "SELECT a2a.rulake_part('items')")
verified=$("${PSQL[@]}" -c "SELECT r->'verified' FROM rulake.register_from_part('from_part', '$part', 'eventual',
  '{\"source\": \"$GOOD\", \"lists\": 20, \"probes\": 20}') r")
[[ "$verified" == false ]] || fail "a remote part was reported verified before its fetch: $verified"
n=$("${PSQL[@]}" -c "SET rulake.cold_wait = '20s'" -c "SELECT count(*) FROM rulake.search('from_part', $QUERY, 10)")
[[ "$n" == 10 ]] || fail "the collection registered from a remote part answered $n rows"
wrong=$(jq -c '.data.rulake_witness.rvf_witness = ("ab" * 32)' <<<"$part" 2>/dev/null ||
  python3 -c 'import json, sys; p = json.loads(sys.argv[1]); p["data"]["rulake_witness"]["rvf_witness"] = "ab" * 32; print(json.dumps(p))' "$part")
"${PSQL[@]}" -c "SELECT rulake.register_from_part('wrong_part', '$wrong', 'eventual', '{\"source\": \"$GOOD\"}')" >/dev/null
out=$("${PSQL[@]}" -c "SET rulake.cold_wait = '20s'" -c "SELECT count(*) FROM rulake.search('wrong_part', $QUERY, 10)" 2>&1 || true)
grep -q 'is not the one it was registered with' <<<"$out" || fail "a remote bundle with another witness than the part's was served: $out"
"${PSQL[@]}" -c "SELECT rulake.unregister('from_part')" -c "SELECT rulake.unregister('wrong_part')" >/dev/null
echo "rulake_fetch: a remote part registers pinned to its witness; another witness is refused: ok"
start=$(now_ms)
"${PSQL[@]}" -c "SELECT rulake.register('items2', 'table:public.items(id, v)', 'eventual', '{\"seed\": 5}')" >/dev/null
wait_for "SELECT primes = 1 AND hits + misses = 0 FROM rulake.stats() WHERE collection = 'items2'" ||
  fail "the worker did not prime a table collection while a fetch hangs"
n=$("${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('items2', $QUERY, 10)")
took=$(($(now_ms) - start))
[[ "$n" == 10 ]] || fail "the table collection answered $n rows"
((took < 3000)) || fail "the worker took $took ms to prime and serve a table collection"
echo "rulake_fetch: the worker primed a table collection in $took ms while a fetch hangs: ok"
[[ $(data_requests) -eq 1 ]] || fail "the bad data file was requested $(data_requests) times so far"

# 3. The bad fetch fails on rulake.fetch_timeout; stats says why and when it tries again;
#    its mirror holds no partial file; a search fails at once with the reason.
wait_for "SELECT state = 'failed' AND last_error LIKE 'could not fetch \"${BAD}vectors-%' AND
                 last_error LIKE '%(next attempt in 5 s)' FROM rulake.stats() WHERE collection = 'bad'" ||
  fail "stats does not report the failed fetch: $("${PSQL[@]}" -c "SELECT last_error FROM rulake.stats() WHERE collection = 'bad'")"
left=$(cluster_as_owner find "$(mirror "$BAD")" -type f | wc -l)
[[ "$left" == 0 ]] || fail "the failed fetch left $left files in its mirror"
start=$(now_ms)
err=$(psql -X -qtA -c "SET rulake.cold_wait = '20s'" -c "SELECT * FROM rulake.search('bad', $QUERY, 1)" 2>&1 || true)
took=$(($(now_ms) - start))
[[ "$err" == *"rulake collection \"bad\" has not been fetched yet"* && "$err" == *"could not fetch"* ]] ||
  fail "a search of the bad collection said: $err"
((took < 2000)) || fail "a search of the backing-off collection waited $took ms"
echo "rulake_fetch: the failure is reported, nothing half-written, searches fail at once: ok"

# 4. Failed fetches back off: 5 s after the first, 10 s after the second. Every second
#    (rulake.refresh_interval) the worker would otherwise fetch again.
sleep 11
requests=$(data_requests)
((requests == 2)) || fail "the bad data file was requested $requests times in 14 s, not twice"
wait_for "SELECT last_error LIKE '%(failed 2 times in a row; next attempt in 10 s)'
          FROM rulake.stats() WHERE collection = 'bad'" ||
  fail "the second failure does not back off longer"
"${PSQL[@]}" -c "SELECT rulake.refresh('bad')" >/dev/null
for _ in $(seq 1 30); do [[ $(data_requests) -ge 3 ]] && break; sleep 0.1; done
[[ $(data_requests) -eq 3 ]] || fail "rulake.refresh did not try again at once"
echo "rulake_fetch: failed fetches back off, rulake.refresh retries: ok"

# 5. Mirrors go with the last collection that uses their URL.
"${PSQL[@]}" -c "SELECT rulake.register('good2', '$GOOD', 'eventual', '{\"lists\": 20, \"probes\": 20}')" >/dev/null
[[ $(mirrors) == 2 ]] || fail "expected the good and the bad mirror, found $(mirrors)"
"${PSQL[@]}" -c "SELECT rulake.unregister('good')" >/dev/null
sleep 2.5  # two cycles
[[ $(mirrors) == 2 ]] || fail "a mirror another collection uses was removed"
n=$("${PSQL[@]}" -c "SET rulake.cold_wait = '20s'" -c "SELECT count(*) FROM rulake.search('good2', $QUERY, 10)")
[[ "$n" == 10 ]] || fail "good2 answered $n rows after good was unregistered"
"${PSQL[@]}" -c "SELECT rulake.unregister('good2')" >/dev/null
wait_for "SELECT NOT EXISTS (SELECT 1 FROM pg_ls_dir('pg_rulake/remote') d WHERE d = '$(basename "$(mirror "$GOOD")")')" ||
  fail "the good mirror was not removed with its last collection"
"${PSQL[@]}" -c "SELECT rulake.unregister('bad')" >/dev/null
wait_for "SELECT count(*) = 0 FROM pg_ls_dir('pg_rulake/remote')" ||
  fail "the bad mirror was not removed after its fetch ended"
echo "rulake_fetch: mirrors are removed with the last collection using them: ok"

if grep -E "terminated by signal|was terminated" "$CLUSTER_DIR/server.log"; then
  fail "a process was killed"
fi
