#!/usr/bin/env bash
# Concurrent searches of one collection (docs/rulake.md, "How it works"): cold searches
# started together build its image once (one backend holds the build claim, the others
# wait for it and search what it installed), and readers searching while a writer writes
# fold the writes in without a full prime, ending with exact answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_concurrent "rulake.cache_size = 128MB"
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE EXTENSION ruvector;
SELECT setseed(0.75);
CREATE TABLE t (id bigint PRIMARY KEY, v ruvector(64));
INSERT INTO t SELECT g, array(SELECT random()::real FROM generate_series(1, 64))::ruvector
  FROM generate_series(1, 60000) g;
ANALYZE t;
SQL
stat() { "${PSQL[@]}" -c "SELECT $1 FROM rulake.stats() WHERE collection = 'c'"; }

# Four cold searches at once (the refill worker may be a fifth builder).
"${PSQL[@]}" -c "SELECT rulake.register('c', 'table:public.t(id, v)', 'fresh',
  '{\"probes\": 0, \"rerank_factor\": 1000}')" >/dev/null
pids=()
for i in 1 2 3 4; do
  "${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('c', (SELECT v FROM t WHERE id = $i), 10)" \
    >"$CLUSTER_DIR/cold.$i" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a cold search failed: $(cat "$CLUSTER_DIR"/cold.*)"; done
for i in 1 2 3 4; do
  [[ "$(cat "$CLUSTER_DIR/cold.$i")" == 10 ]] || fail "cold search $i returned: $(cat "$CLUSTER_DIR/cold.$i")"
done
primes=$(stat primes)
[[ $primes -eq 1 ]] || fail "four concurrent cold searches primed $primes times"
echo "rulake_concurrent: four concurrent cold searches built the image once: ok"

# Two readers and a writer at once, then exact answers.
reader() {
  for q in $(seq 1 60); do
    "${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('c', (SELECT v FROM t ORDER BY id LIMIT 1 OFFSET $q), 10)" >/dev/null
  done
}
writer() {
  for w in $(seq 1 60); do
    "${PSQL[@]}" -c "UPDATE t SET v = array(SELECT random()::real FROM generate_series(1, 64))::ruvector
      WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1)" >/dev/null
  done
}
reader & r1=$!
reader & r2=$!
writer & w=$!
wait $r1 || fail "reader 1 failed"
wait $r2 || fail "reader 2 failed"
wait $w || fail "the writer failed"
exact=$("${PSQL[@]}" -c "SELECT bool_and(coalesce(
    (SELECT array_agg(id ORDER BY distance, id) FROM rulake.search('c', q.v, 10)) =
    (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <-> q.v, id LIMIT 10) s), false))
  FROM (SELECT v FROM t ORDER BY id LIMIT 5) q")
[[ $exact == t ]] || fail "after concurrent reads and writes the answers are not exact"
[[ $(stat primes) -eq 1 ]] || fail "concurrent reads and writes primed in full: $(stat primes) primes"
[[ $(stat deltas) -ge 1 ]] || fail "no write was folded in"
echo "rulake_concurrent: readers and a writer at once: writes folded in ($(stat deltas) deltas), no full prime, exact: ok"

# Backends cancelled or terminated in the middle of federated searches on threads: the
# search stops, the backend's threads are joined before it lets go of shared memory, and
# nothing crashes (a crash would restart the server and log the signal).
for s in 0 1 2 3; do
  "${PSQL[@]}" -c "CREATE TABLE s$s AS SELECT * FROM t WHERE id % 4 = $s" \
    -c "SELECT rulake.register('s$s', 'table:public.s$s(id, v)', 'frozen',
          '{\"probes\": 0, \"rerank_factor\": 100}')" >/dev/null
done
shards="ARRAY['s0', 's1', 's2', 's3']"
"${PSQL[@]}" -c "SELECT count(*) FROM rulake.search_federated($shards, (SELECT v FROM t WHERE id = 1), 10)" >/dev/null
fed_loop() {
  PGAPPNAME=fed_loop PGOPTIONS="-c max_parallel_workers_per_gather=3" "${PSQL[@]}" -c "
    DO \$\$ DECLARE n bigint; BEGIN
      FOR i IN 1..100000 LOOP
        SELECT count(*) INTO n FROM rulake.search_federated($shards, (SELECT v FROM t WHERE id = i % 1000 + 1), 10);
      END LOOP; END \$\$" >"$CLUSTER_DIR/fed_loop.out" 2>&1
}
for how in cancel terminate cancel terminate terminate; do
  fed_loop & loop=$!
  wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'fed_loop' AND state = 'active'" ||
    fail "the federated search loop did not start"
  sleep 0.3
  "${PSQL[@]}" -c "SELECT pg_${how}_backend(pid) FROM pg_stat_activity WHERE application_name = 'fed_loop'" >/dev/null
  if wait $loop; then fail "the $how did not stop the federated searches"; fi
  case $how in
    cancel) grep -q "canceling statement due to user request" "$CLUSTER_DIR/fed_loop.out" ||
      fail "cancelled federated searches said: $(cat "$CLUSTER_DIR/fed_loop.out")" ;;
    terminate) grep -q "terminating connection due to administrator command" "$CLUSTER_DIR/fed_loop.out" ||
      fail "terminated federated searches said: $(cat "$CLUSTER_DIR/fed_loop.out")" ;;
  esac
done
if grep -E "terminated by signal|was terminated" "$CLUSTER_DIR/server.log"; then
  fail "a backend stopped during federated searches crashed"
fi
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM rulake.search_federated($shards, (SELECT v FROM t WHERE id = 1), 10)") == 10 ]] ||
  fail "federated search after the cancels and terminations"
echo "rulake_concurrent: federated searches on threads cancelled and terminated, no crash: ok"
