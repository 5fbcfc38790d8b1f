#!/usr/bin/env bash
# Parallel CREATE INDEX for rabitq, what pg_regress cannot see: that the workers really
# run both passes, that a worker's error fails the build with that error (and leaves no
# index, no worker behind), and that a cancel in the middle of a parallel pass does the same.
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
exact=$("${PSQL[@]}" <<'SQL'
SET enable_seqscan = off;
SET rabitq.probes = 10000;
SET rabitq.epsilon = 4;
SELECT array(SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 777) LIMIT 10) =
  array(SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 777), id LIMIT 10);
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

# 3. A cancel while the workers encode rows (pass 2) stops the build cleanly.
psql -X >"$CLUSTER_DIR/cancel.out" 2>&1 <<'SQL' &
SET maintenance_work_mem = '256MB';
SET application_name = 'parallel_build';
CREATE INDEX items_cancelled ON items USING rabitq (v) WITH (bits = 3);
SQL
build=$!
cancelled=0
for _ in $(seq 1000); do
  pid=$("${PSQL[@]}" -c "SELECT p.pid FROM pg_stat_progress_create_index p
      JOIN pg_stat_activity a USING (pid)
      WHERE a.application_name = 'parallel_build'
        AND p.phase = 'building index: assigning and encoding rows' AND p.blocks_done > 0")
  if [[ -n $pid ]]; then
    "${PSQL[@]}" -c "SELECT pg_cancel_backend($pid)" >/dev/null
    cancelled=1
    break
  fi
  kill -0 "$build" 2>/dev/null || break
  sleep 0.01
done
wait "$build" || true
[[ $cancelled == 1 ]] || fail "the build ended before it could be cancelled: $(cat "$CLUSTER_DIR/cancel.out")"
grep -q "canceling statement due to user request" "$CLUSTER_DIR/cancel.out" ||
  fail "the cancelled build did not stop: $(cat "$CLUSTER_DIR/cancel.out")"
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM pg_class WHERE relname = 'items_cancelled'") == 0 ]] ||
  fail "the cancelled build left its index"
no_workers_left "after a cancel"
echo "rabitq_parallel_build: a cancel in pass 2 stops the build: ok"

# 4. The server took no harm: the next parallel build succeeds.
"${PSQL[@]}" -c "SET maintenance_work_mem = '256MB'; CREATE INDEX items_v ON items USING rabitq (v)"
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[$(seq -s, 96 | sed 's/[0-9]*/1/g')]' LIMIT 5) s") == 5 ]] ||
  fail "no rows from the index built after the failures"
echo "rabitq_parallel_build: a build after the failures: ok"
