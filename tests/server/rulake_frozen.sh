#!/usr/bin/env bash
# Frozen stays frozen (docs/rulake.md, "Consistency modes"): a frozen collection whose
# image is evicted is primed again only from the same source state. Evicted after its table
# changed, a search fails naming the change until rulake.refresh; evicted with its table
# unchanged, it is primed again and answers as before.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_frozen "rulake.cache_size = 8MB" "rulake.reprime_window = 0"
"${PSQL[@]}" -c "CREATE EXTENSION ruvector" >/dev/null
for i in 1 2 3 4; do
  "${PSQL[@]}" >/dev/null <<SQL
CREATE TABLE t$i (id bigint PRIMARY KEY, v ruvector(64));
INSERT INTO t$i SELECT g, array(SELECT ((g * $i + d) % 17)::real FROM generate_series(1, 64) d)::ruvector
FROM generate_series(1, 10000) g;
ANALYZE t$i;
SQL
done
"${PSQL[@]}" -c "SELECT rulake.register('f', 'table:public.t1(id, v)', 'frozen', '{\"lists\": 16}')" >/dev/null
for i in 2 3 4; do
  "${PSQL[@]}" -c "SELECT rulake.register('c$i', 'table:public.t$i(id, v)', 'fresh', '{\"lists\": 16}')" >/dev/null
done
q="array_fill(1, ARRAY[64])::ruvector"
answer() { "${PSQL[@]}" -c "SELECT string_agg(id::text, ',' ORDER BY distance, id) FROM rulake.search('f', $q, 5)"; }
state() { "${PSQL[@]}" -c "SELECT state FROM rulake.stats() WHERE collection = 'f'"; }
evict_f() {  # searches the others until f's image is evicted
  for _ in 1 2 3; do
    for i in 2 3 4; do "${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('c$i', $q, 5)" >/dev/null; done
    [[ "$(state)" == evicted ]] && return 0
  done
  fail "f was not evicted: $("${PSQL[@]}" -c "SELECT collection, state, bytes FROM rulake.stats()")"
}

before=$(answer)
evict_f
[[ "$(answer)" == "$before" ]] || fail "evicted with its table unchanged, f answers differently"
echo "rulake_frozen: evicted with an unchanged source, primed again with the same answers: ok"

"${PSQL[@]}" -c "UPDATE t1 SET v = $q WHERE id = 9999" >/dev/null
[[ "$(answer)" == "$before" ]] || fail "a write changed a frozen collection's cached answers"
evict_f
sleep 2  # a worker cycle or two: it must not re-prime f from the changed table either
out=$("${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('f', $q, 5)" 2>&1 || true)
grep -q 'is frozen, and its source changed' <<<"$out" || fail "evicted after a write, the search said: $out"
[[ "$("${PSQL[@]}" -c "SELECT rulake.refresh('f')")" == invalidated ]] || fail "refresh did not invalidate f"
after=$(answer)
[[ "$after" == 9999,* ]] || fail "after refresh f does not see the write: $after"
echo "rulake_frozen: evicted after a write, searches fail until refresh, then see the new rows: ok"
