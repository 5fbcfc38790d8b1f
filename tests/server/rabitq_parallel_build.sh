#!/usr/bin/env bash
# Parallel CREATE INDEX for rabitq, what pg_regress cannot see: that the workers really
# run both passes, that a worker's error fails the build with that error (and leaves no
# index, no worker behind), that a cancel in the middle of a parallel pass does the same,
# and that kill -9 of the server then leaves the table whole and no index after recovery.
# sql/rabitq_parallel.sql checks that the pages equal a serial build's.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start "max_parallel_maintenance_workers = 2" "max_worker_processes = 8" \
  "max_parallel_workers = 8"
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
fail() {
  echo "rabitq_parallel_build: $*" >&2
  exit 1
}

# 60,000 rows of 96 dimensions, about 3,300 heap pages.
"${PSQL[@]}" <<'SQL'
CREATE EXTENSION ruvector;
CREATE TABLE items (id int, v ruvector(96));
INSERT INTO items
SELECT i, array(SELECT sin(i * 0.37 + d * 1.3) * 4 + (i % 17) FROM generate_series(1, 96) d)::ruvector
FROM generate_series(1, 60000) i;
ALTER TABLE items SET (parallel_workers = 2);
-- Raises for one row, in whichever process reads it. PARALLEL SAFE, or Postgres would
-- plan no workers for an index on it.
CREATE FUNCTION checked(id int, v ruvector) RETURNS ruvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF id = 41234 THEN RAISE EXCEPTION 'row % cannot be indexed', id; END IF;
  RETURN v;
END $$;
SQL

no_workers_left() {
  local left
  for _ in $(seq 100); do
    left=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'")
    [[ $left == 0 ]] && return 0
    sleep 0.1
  done
  fail "$1: $left parallel workers still running"
}

# 1. Both passes run with the two workers the table asks for; the leader only writes.
out=$(psql -X -v ON_ERROR_STOP=1 2>&1 <<'SQL'
SET maintenance_work_mem = '256MB';
SET client_min_messages = debug1;
CREATE INDEX items_v ON items USING rabitq (v) WITH (bits = 3);
SQL
)
for pass in "pass 1" "pass 2"; do
  grep -q "$pass with 2 of 2 parallel workers, 0 of [0-9]* chunks read by the leader" <<<"$out" ||
    fail "the build did not run $pass on two workers: $out"
done
grep -q "60000 rows;" <<<"$out" || fail "the parallel build did not index 60000 rows: $out"
# The exact rows are sorted with index scans off behind an OFFSET 0 fence, and the side
# under test must be planned as the index scan: otherwise the check compares the index with
# itself and cannot fail.
nearest="SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 777) LIMIT 10"
plan=$("${PSQL[@]}" -c "SET enable_seqscan = off" -c "EXPLAIN (COSTS OFF) $nearest")
grep -q "Index Scan using items_v on items" <<<"$plan" || fail "not planned as a scan of items_v: $plan"
exact=$("${PSQL[@]}" <<SQL
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS SELECT array(SELECT id FROM (SELECT id, v <-> (SELECT v FROM items
  WHERE id = 777) AS d FROM items OFFSET 0) s ORDER BY d, id LIMIT 10) AS ids;
RESET enable_indexscan;
SET enable_seqscan = off;
SET rabitq.probes = 10000;
SET rabitq.epsilon = 4;
SELECT array($nearest) = ids FROM exact;
SQL
)
[[ $exact == t ]] || fail "the parallel build does not answer like a sequential scan"
"${PSQL[@]}" -c "DROP INDEX items_v"
echo "rabitq_parallel_build: two workers in both passes: ok"

# 2. A worker's error is the build's error, and nothing is left of the index.
out=$(psql -X 2>&1 <<'SQL'
SET maintenance_work_mem = '256MB';
SET client_min_messages = debug1;
CREATE INDEX items_checked ON items USING rabitq ((checked(id, v)::ruvector(96)));
SQL
) || true
grep -q "ERROR:  row 41234 cannot be indexed" <<<"$out" || fail "no worker error: $out"
grep -q "parallel worker" <<<"$out" || fail "the error did not come from a worker: $out"
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM pg_class WHERE relname = 'items_checked'") == 0 ]] ||
  fail "the failed build left its index"
no_workers_left "after a worker's error"
echo "rabitq_parallel_build: a worker's error fails the build: ok"

# Starts CREATE INDEX $1 in the background with bits = 3 (so that pass 2 takes a while):
# its psql is $build, its output $CLUSTER_DIR/$1.out.
start_build() {
  psql -X >"$CLUSTER_DIR/$1.out" 2>&1 <<SQL &
SET maintenance_work_mem = '256MB';
SET application_name = '$1';
CREATE INDEX $1 ON items USING rabitq (v) WITH (bits = 3);
SQL
  build=$!
}
# Waits until build $1's workers encode rows and prints its backend's pid.
pass2_pid() {
  local pid
  for _ in $(seq 1000); do
    pid=$("${PSQL[@]}" -c "SELECT p.pid FROM pg_stat_progress_create_index p
        JOIN pg_stat_activity a USING (pid)
        WHERE a.application_name = '$1'
          AND p.phase = 'building index: assigning and encoding rows' AND p.blocks_done > 0")
    [[ -n $pid ]] && echo "$pid" && return 0
    kill -0 "$build" 2>/dev/null || break
    sleep 0.01
  done
  fail "the build ended before it was in pass 2: $(cat "$CLUSTER_DIR/$1.out")"
}
no_index() {
  [[ $("${PSQL[@]}" -c "SELECT count(*) FROM pg_class WHERE relname = '$1'") == 0 ]] ||
    fail "the stopped build left its index $1"
}

# 3. A cancel while the workers encode rows (pass 2) stops the build cleanly.
start_build items_cancelled
pid=$(pass2_pid items_cancelled)
"${PSQL[@]}" -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait "$build" || true
grep -q "canceling statement due to user request" "$CLUSTER_DIR/items_cancelled.out" ||
  fail "the cancelled build did not stop: $(cat "$CLUSTER_DIR/items_cancelled.out")"
no_index items_cancelled
no_workers_left "after a cancel"
echo "rabitq_parallel_build: a cancel in pass 2 stops the build: ok"

# 4. kill -9 of the server in pass 2: after crash recovery the table is whole and there is
# no index.
start_build items_crashed
pid=$(pass2_pid items_crashed)
pm=$(head -1 "$PGDATA/postmaster.pid")
pkill -9 -P "$pm" || true  # the backend $pid and its workers among them
kill -9 "$pm"
while kill -0 "$pm" 2>/dev/null; do sleep 0.1; done
wait "$build" || true
cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w -t 120 start >/dev/null
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM items") == 60000 ]] || fail "rows lost in the crash"
no_index items_crashed
echo "rabitq_parallel_build: kill -9 in pass 2, then recovery: ok"

# 5. The server took no harm: the next parallel build succeeds.
"${PSQL[@]}" -c "SET maintenance_work_mem = '256MB'; CREATE INDEX items_v ON items USING rabitq (v)"
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[$(seq -s, 96 | sed 's/[0-9]*/1/g')]' LIMIT 5) s") == 5 ]] ||
  fail "no rows from the index built after the failures"
echo "rabitq_parallel_build: a build after the failures: ok"
