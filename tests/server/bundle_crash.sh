#!/usr/bin/env bash
# A publish interrupted by killing the server mid-write leaves the previous bundle intact
# and verifiable; the next publish succeeds and cleans up the leftovers.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start bundle_crash

with_bundle_root
"${PSQL[@]}" >/dev/null <<SQL
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(256));
INSERT INTO items SELECT g, array_fill(g::real, ARRAY[256])::ruvector FROM generate_series(1, 1000) g;
SELECT rulake.register('items', 'table:public.items(id, v)');
SQL
old=$("${PSQL[@]}" -c "SELECT rulake.publish_bundle('items', 'b')->>'rvf_witness'")

# A much larger version, so the publish is still writing when the server dies.
"${PSQL[@]}" -c "INSERT INTO items SELECT g, array_fill(g::real, ARRAY[256])::ruvector
                 FROM generate_series(1001, 400000) g" >/dev/null
psql -X -qtA -c "SELECT rulake.publish_bundle('items', 'b')" >/dev/null 2>&1 &
for _ in $(seq 1 300); do
  ls "$BUNDLES/b" | grep -q '\.tmp\.' && break
  sleep 0.01
done
ls "$BUNDLES/b" | grep -q '\.tmp\.' || fail "the publish never started writing"
pm=$(head -1 "$PGDATA/postmaster.pid")
pkill -9 -P "$pm" || true
kill -9 "$pm"
while kill -0 "$pm" 2>/dev/null; do sleep 0.1; done
wait || true
cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w -t 120 start >/dev/null 2>&1

after=$("${PSQL[@]}" -c "SELECT rulake.verify_bundle('b')->>'rvf_witness'")
[[ "$after" == "$old" ]] || fail "after the crash the bundle is not the old one ($after)"
echo "bundle_crash: server killed mid-publish, old bundle verifies: ok"
new=$("${PSQL[@]}" -c "SELECT rulake.publish_bundle('items', 'b')->>'rvf_witness'")
[[ "$new" != "$old" && "$("${PSQL[@]}" -c "SELECT rulake.verify_bundle('b')->>'rvf_witness'")" == "$new" ]] ||
  fail "the next publish did not replace the bundle"
leftovers=$(ls "$BUNDLES/b" | grep -c '\.tmp\.' || true)
[[ "$leftovers" == 0 ]] || fail "$leftovers temp files left after the next publish"
echo "bundle_crash: next publish replaces it and removes leftovers: ok"
