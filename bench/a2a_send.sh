#!/usr/bin/env bash
# What a2a.send's trace bookkeeping (parent_task, the trace budgets) costs, and how fast
# a2a.route and a2a.trace are. The baseline is the same library with the 0.4.0 SQL, whose
# a2a.send has none of it, in a second database of the same cluster; each workload runs
# in both, alternating, ROUNDS times, and the median is printed. Nothing is sent (the
# dispatch worker serves the database postgres), so this is the SQL side only.
#   bench/a2a_send.sh [TASKS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
N=${1:-2000}
ROUNDS=${2:-3}
# Budgets out of the way (at their maximums): a task they refuse costs less than one queued.
cluster_start "a2a.max_in_flight = 1000000" "a2a.max_in_flight_per_role = 1000000" \
  "a2a.max_tasks_per_minute = 10000000" "a2a.max_tasks_per_minute_per_role = 10000000" \
  "a2a.max_trace_tasks = 1000000" >/dev/null
trap cluster_stop EXIT
PSQL=(psql -X -qtA -v ON_ERROR_STOP=1)

setup() {  # database, extension version
  "${PSQL[@]}" -c "CREATE DATABASE $1" >/dev/null
  "${PSQL[@]}" -d "$1" >/dev/null <<SQL
CREATE EXTENSION ruvector VERSION '$2';
-- 200 agents, 20 skills, 7 tags, and one tag all share.
INSERT INTO a2a.agents (name, base_url, card, rpc_url, protocol_version, streaming, owner)
SELECT 'agent' || g, 'http://127.0.0.1:9', jsonb_build_object('skills', jsonb_build_array(
	jsonb_build_object('id', 'skill' || (g % 20), 'tags', jsonb_build_array('t' || (g % 7), 'common')))),
	'http://127.0.0.1:9/rpc', '1.0', false, (SELECT oid FROM pg_roles WHERE rolname = current_user)
FROM generate_series(1, 200) g;
SQL
}
setup base 0.4.0
setup new "$(sed -nE "s/^default_version = '([^']+)'/\1/p" ruvector.control)"

measure() {  # database, setup statements, timed statement, calls
  "${PSQL[@]}" -d "$1" <<SQL | tail -1
SET client_min_messages = error;
BEGIN;
-- ms per call of a statement run n times in this transaction, which is rolled back.
CREATE FUNCTION pg_temp.per_call(stmt text, n integer) RETURNS numeric LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	FOR i IN 1..n LOOP EXECUTE stmt; END LOOP;
	RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000 / n, 3);
END \$\$;
$2
SELECT pg_temp.per_call(\$q\$$3\$q\$, $4);
ROLLBACK;
SQL
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

ROOT="SELECT set_config('bench.root', a2a.send('agent2', 'root')::text, true);"
row() {  # label, setup, statement, calls, in base too (1/0)
  local b=() n=()
  for _ in $(seq "$ROUNDS"); do
    [[ $5 == 1 ]] && b+=("$(measure base "$2" "$3" "$4")")
    n+=("$(measure new "$2" "$3" "$4")")
  done
  local bm=- nm
  [[ $5 == 1 ]] && bm=$(echo "${b[*]}" | median)
  nm=$(echo "${n[*]}" | median)
  printf '| %s | %s | %s |\n' "$1" "$bm" "$nm"
}
echo "| ms per call ($N tasks, median of $ROUNDS) | 0.4.0 SQL | now |"
echo "|---|---|---|"
row "a2a.send, each task its own trace" "" "SELECT a2a.send('agent1', 'x')" "$N" 1
row "a2a.send, $N tasks in one trace (trace_id)" "" \
  "SELECT a2a.send('agent1', 'x', '{\"trace_id\": \"00000000-0000-0000-0000-000000000001\"}')" "$N" 1
row "a2a.send, $N subtasks of one parent_task" "$ROOT" \
  "SELECT a2a.send('agent1', 'x', jsonb_build_object('parent_task', current_setting('bench.root')))" "$N" 0
FILL="SELECT a2a.send('agent' || (g % 200 + 1), 'x', jsonb_build_object('parent_task', current_setting('bench.root'))) FROM generate_series(1, $N) g;"
row "a2a.route by skill (200 agents, $N tasks in flight)" "$ROOT $FILL" \
  "SELECT a2a.route('{\"skill\": \"skill3\"}')" 200 0
row "a2a.route by a tag all 200 agents share" "$ROOT $FILL" \
  "SELECT a2a.route('{\"tags\": \"common\"}')" 200 0
row "a2a.trace of $N + 1 tasks" "$ROOT $FILL" \
  "SELECT count(*) FROM a2a.trace((SELECT trace_id FROM a2a.tasks WHERE id = current_setting('bench.root')::uuid))" 5 0
