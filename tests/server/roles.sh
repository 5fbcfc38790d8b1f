#!/usr/bin/env bash
# The privilege model (docs/security.md) tried by plain login roles against each other:
# alice and bob (plain), carol (pg_read_server_files), with a row security table, column
# grants, a bundle, a shared agent with credentials, quotas, the refill worker serving a
# plain role's fresh collection, and DROP ROLE / REASSIGN OWNED / DROP OWNED. Every wrong
# use is refused with the expected error; every right one works.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
source tests/server/lib/hostile_peer.sh
WORK=$(mktemp -d /tmp/ruvector-roles.XXXXXX)
start_hostile_peer "$WORK"
SERVER_PIDS+=("$PEER_PID")
rulake_cluster_start roles "rulake.refresh_interval = 1" "a2a.allowed_hosts = '127.0.0.1'" \
  "rulake.allowed_hosts = '127.0.0.1'" "a2a.poll_interval = 100"
trap 'stop_all; rm -rf "$WORK"' EXIT
ok() { echo "roles: $1: ok"; }
as() {  # as ROLE SQL: the query's output as that role
  "${PSQL[@]}" -U "$1" -c "$2"
}
# refused ROLE SQL PATTERN: the statement fails with an error matching PATTERN.
refused() {
  local out
  if out=$("${PSQL[@]}" -U "$1" -c "$2" 2>&1); then fail "$1 was allowed: $2 ($out)"; fi
  [[ "$out" == *$3* ]] || fail "$1: $2: expected '$3', got: $out"
}
wait_for_as() {  # wait_for_as ROLE SQL: polls up to 20 s until the query returns t
  for _ in $(seq 1 200); do
    [[ "$(as "$1" "$2")" == t ]] && return 0
    sleep 0.1
  done
  return 1
}

with_bundle_root
"${PSQL[@]}" >/dev/null <<SQL
ALTER SYSTEM SET rulake.max_collections_per_role = 4;
ALTER SYSTEM SET a2a.max_in_flight_per_role = 2;
ALTER SYSTEM SET a2a.max_tasks_per_minute_per_role = 4;
ALTER SYSTEM SET a2a.task_timeout = '10min';
SELECT pg_reload_conf();
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN IN ROLE pg_read_server_files;
CREATE ROLE dave LOGIN;
GRANT CREATE ON SCHEMA public TO alice, bob;
SQL

as alice "
CREATE TABLE alice_docs (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO alice_docs SELECT g, array(SELECT sin(g * d) FROM generate_series(1, 8) d)::ruvector
FROM generate_series(1, 500) g;
CREATE TABLE secret (id bigint PRIMARY KEY, v ruvector(8), who name);
INSERT INTO secret SELECT g, array(SELECT cos(g * d) FROM generate_series(1, 8) d)::ruvector,
  CASE WHEN g % 2 = 0 THEN 'bob' ELSE 'alice' END FROM generate_series(1, 100) g;
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON secret USING (who = current_user);
GRANT SELECT ON secret TO bob;
CREATE TABLE cols (id bigint PRIMARY KEY, v ruvector(8), note text);
INSERT INTO cols SELECT id, v, 'n' FROM alice_docs;
GRANT SELECT (id, note) ON cols TO bob;" >/dev/null

# --- 12. a plain role's fresh, eventual and frozen table collections work ---------------
for mode in fresh eventual frozen; do
  as alice "SELECT rulake.register('alice_$mode', 'table:public.alice_docs(id, v)', '$mode', '{\"lists\": 4}')" >/dev/null
done
wait_for_as alice "SELECT bool_and(state = 'ready') FROM rulake.stats() WHERE collection LIKE 'alice_%'" ||
  fail "the worker did not prime alice's collections: $(as alice "SELECT * FROM rulake.stats()")"
for mode in fresh eventual frozen; do
  n=$(as alice "SELECT count(*) FROM rulake.search('alice_$mode', (SELECT v FROM alice_docs WHERE id = 1), 5)")
  [[ "$n" == 5 ]] || fail "alice's $mode search returned $n rows"
done
as alice "INSERT INTO alice_docs VALUES (9999, '[9,9,9,9,9,9,9,9]')" >/dev/null
top=$(as alice "SELECT id FROM rulake.search('alice_fresh', '[9,9,9,9,9,9,9,9]', 1)")
[[ "$top" == 9999 ]] || fail "alice's fresh collection does not see her insert: $top"
sleep 2  # a few worker cycles over alice's collections
if grep -q "permission denied" "$CLUSTER_DIR/server.log"; then
  fail "the worker hit a permission error: $(grep "permission denied" "$CLUSTER_DIR/server.log" | head -3)"
fi
ok "a plain role's fresh, eventual and frozen collections, primed by the worker"

# --- 5. row security and column privileges ------------------------------------------
refused alice "SELECT rulake.register('sec', 'table:public.secret(id, v)')" "row level security"
refused bob "SELECT rulake.register('sec', 'table:public.secret(id, v)')" "row level security"
# Row security switched on after registration: nobody is served from the shared image.
as alice "SELECT rulake.register('later', 'table:public.cols(id, v)')" >/dev/null
as alice "SELECT count(*) FROM rulake.search('later', (SELECT v FROM alice_docs WHERE id = 1), 3)" >/dev/null
as alice "ALTER TABLE cols ENABLE ROW LEVEL SECURITY" >/dev/null
refused alice "SELECT * FROM rulake.search('later', (SELECT v FROM alice_docs WHERE id = 1), 3)" \
  "row level security"
as alice "ALTER TABLE cols DISABLE ROW LEVEL SECURITY" >/dev/null
# bob may read cols' id but not v: he neither sees nor searches alice's collection over it.
[[ "$(as bob "SELECT count(*) FROM rulake.collections WHERE name = 'later'")" == 0 ]] ||
  fail "bob sees a collection over columns he cannot read"
refused bob "SELECT * FROM rulake.search('later', '[1,2,3,4,5,6,7,8]', 3)" "does not exist"
refused bob "SELECT rulake.register('bobcols', 'table:public.cols(id, v)')" "permission denied"
as alice "GRANT SELECT (v) ON cols TO bob" >/dev/null
[[ "$(as bob "SELECT count(*) FROM rulake.search('later', '[1,2,3,4,5,6,7,8]', 3)")" == 3 ]] ||
  fail "bob cannot search a collection whose columns he was granted"
ok "row security refused, column privileges enforced"

# --- 8. visibility, and only owners invalidate or refresh ----------------------------
[[ "$(as bob "SELECT string_agg(name, ',' ORDER BY name) FROM rulake.collections")" == later ]] ||
  fail "bob sees: $(as bob "SELECT string_agg(name, ',') FROM rulake.collections")"
[[ "$(as bob "SELECT string_agg(collection, ',' ORDER BY collection) FROM rulake.stats()")" == later ]] ||
  fail "bob's stats show: $(as bob "SELECT string_agg(collection, ',') FROM rulake.stats()")"
refused bob "SELECT rulake.invalidate('later')" "must be the owner"
refused bob "SELECT rulake.refresh('later')" "must be the owner"
refused bob "SELECT rulake._forget('later')" "must be the owner"
refused bob "SELECT rulake.unregister('later')" "must be the owner"
as bob "DELETE FROM rulake.collections WHERE name = 'alice_fresh'" >/dev/null
[[ "$(as alice "SELECT count(*) FROM rulake.collections")" == 4 ]] || fail "alice lost a collection"
refused bob "SELECT * FROM rulake.search('alice_fresh', '[1,2,3,4,5,6,7,8]', 3)" "does not exist"
ok "each role sees its own collections and those it may read; only owners change them"

# --- 6. bundles need pg_read_server_files --------------------------------------------
"${PSQL[@]}" -c "SELECT rulake.publish_bundle('alice_fresh', 'pub')" >/dev/null
refused alice "SELECT rulake.register('b', 'bundle:pub')" "pg_read_server_files"
refused alice "SELECT rulake._check_bundle_path('pub')" "permission denied"
refused alice "SELECT rulake.verify_bundle('pub')" "pg_read_server_files"
as carol "SELECT rulake.register('carol_b', 'bundle:pub', 'frozen')" >/dev/null
[[ "$(as carol "SELECT count(*) FROM rulake.search('carol_b', '[1,2,3,4,5,6,7,8]', 3)")" == 3 ]] ||
  fail "carol cannot search her bundle collection"
refused alice "SELECT * FROM rulake.search('carol_b', '[1,2,3,4,5,6,7,8]', 3)" "does not exist"
[[ "$(as alice "SELECT count(*) FROM rulake.collections WHERE kind = 'bundle'")" == 0 ]] ||
  fail "alice sees a bundle collection"
"${PSQL[@]}" -c "SELECT rulake.register('su_b', 'bundle:pub', 'frozen')" >/dev/null
[[ "$(as carol "SELECT count(*) FROM rulake.search('su_b', '[1,2,3,4,5,6,7,8]', 3)")" == 3 ]] ||
  fail "a member of pg_read_server_files cannot search a superuser's bundle collection"
refused bob "SELECT * FROM rulake.search('su_b', '[1,2,3,4,5,6,7,8]', 3)" "does not exist"
# A remote bundle: its owner and pg_read_server_files read it, nobody else sees it.
python3 tests/server/lib/bundle_server.py 0 "$BUNDLES/pub" >"$WORK/http.log" 2>&1 &
SERVER_PIDS+=($!)
for _ in $(seq 50); do [[ -s "$WORK/http.log" ]] && break; sleep 0.1; done
as bob "SELECT rulake.register('bob_remote', 'http://127.0.0.1:$(awk '/^PORT/ {print $2}' "$WORK/http.log")/good/', 'eventual')" >/dev/null
[[ "$(as bob "SELECT count(*) FROM rulake.search('bob_remote', '[1,2,3,4,5,6,7,8]', 3)")" == 3 ]] ||
  fail "bob cannot search his remote collection"
[[ "$(as carol "SELECT count(*) FROM rulake.search('bob_remote', '[1,2,3,4,5,6,7,8]', 3)")" == 3 ]] ||
  fail "pg_read_server_files cannot search a remote collection"
refused alice "SELECT * FROM rulake.search('bob_remote', '[1,2,3,4,5,6,7,8]', 3)" "does not exist"
as bob "SELECT rulake.unregister('bob_remote')" >/dev/null
ok "bundles only for pg_read_server_files, remote bundles for their owner too"

# --- 9. per-role quota ----------------------------------------------------------------
as alice "GRANT SELECT, TRIGGER ON alice_docs TO bob" >/dev/null
for i in 1 2 3 4; do as bob "SELECT rulake.register('bob$i', 'table:public.alice_docs(id, v)')" >/dev/null; done
refused bob "SELECT rulake.register('bob5', 'table:public.alice_docs(id, v)')" "max_collections_per_role"
# A row inserted by hand is held to the same quota.
refused bob "INSERT INTO rulake.collections (name, source, kind, location, consistency, metric, seed,
  rerank_factor, lists, probes, owner) VALUES ('bob6', 'x', 'table', 'x', 'fresh', 'l2', 0, 20, 0, 10,
  'bob'::regrole)" "max_collections_per_role"
refused alice "SELECT rulake.register('bob1', 'table:public.alice_docs(id, v)')" "already exists"
"${PSQL[@]}" -c "SELECT rulake.register('su1', 'table:public.alice_docs(id, v)')" >/dev/null
ok "rulake.max_collections_per_role stops one role, not the others"

# --- 7. agents: only the owner or a grantee sends, with the owner's credentials -------
as alice "SELECT a2a.register_agent('shared', '$PEER/echo', '{\"headers\": {\"Authorization\": \"Bearer alice-secret\"}}')" >/dev/null
refused bob "SELECT a2a.send('shared', 'hi')" "does not exist"
[[ "$(as bob "SELECT count(*) FROM a2a.agents")" == 0 ]] || fail "bob sees alice's agent"
refused bob "SELECT * FROM a2a.agent_credentials" "permission denied"
refused bob "SELECT a2a.grant_agent('shared', 'bob')" "does not exist or belongs to another role"
refused bob "SELECT a2a.register_agent('shared', '$PEER/echo')" "belongs to another role"
as alice "SELECT a2a.grant_agent('shared', 'bob')" >/dev/null
task=$(as bob "SELECT a2a.send('shared', 'from bob')")
state=$(as bob "SELECT a2a.wait('$task', '20 s')->>'state'")
[[ "$state" == completed ]] || fail "bob's granted send: $state $(as bob "SELECT a2a.task('$task')")"
[[ "$(curl -s "$PEER/echo/last-auth")" == "Bearer alice-secret" ]] || fail "the credentials did not go out"
[[ "$(as alice "SELECT count(*) FROM a2a.tasks WHERE id = '$task'")" == 0 ]] || fail "alice sees bob's task"
as alice "SELECT a2a.revoke_agent('shared', 'bob')" >/dev/null
refused bob "SELECT a2a.send('shared', 'again')" "does not exist"
ok "agents are used by their owner and grantees only"

# --- 11. timeouts capped, per-role in-flight quota ------------------------------------
as bob "SELECT a2a.register_agent('bob_hang', '$PEER/hang')" >/dev/null
refused bob "SELECT a2a.send('bob_hang', 'x', '{\"timeout\": \"1000 years\"}')" "exceeds a2a.task_timeout"
refused bob "SELECT a2a.register_agent('bob_hang', '$PEER/hang', '{\"timeout\": \"1 day\"}')" \
  "exceeds a2a.task_timeout"
for i in 1 2; do as bob "SELECT a2a.send('bob_hang', 'x$i', '{\"timeout\": \"1 min\"}')" >/dev/null; done
t3=$(as bob "SET client_min_messages = error; SELECT a2a.send('bob_hang', 'x3')")
[[ "$(as bob "SELECT reason FROM a2a.tasks WHERE id = '$t3'")" == *"a2a.max_in_flight_per_role"* ]] ||
  fail "bob's third task: $(as bob "SELECT state, reason FROM a2a.tasks WHERE id = '$t3'")"
as alice "SELECT a2a.grant_agent('shared', 'public')" >/dev/null
t=$(as dave "SELECT a2a.send('shared', 'from dave')")
[[ "$(as dave "SELECT a2a.wait('$t', '20 s')->>'state'")" == completed ]] ||
  fail "dave's send while bob is at his quota"
for i in 2 3 4; do
  t=$(as dave "SELECT a2a.send('shared', 'dave $i')")
  [[ "$(as dave "SELECT a2a.wait('$t', '20 s')->>'state'")" == completed ]] || fail "dave's send $i"
done
t=$(as dave "SET client_min_messages = error; SELECT a2a.send('shared', 'dave 5')")
[[ "$(as dave "SELECT reason FROM a2a.tasks WHERE id = '$t'")" == *"a2a.max_tasks_per_minute_per_role"* ]] ||
  fail "dave's fifth task in a minute: $(as dave "SELECT state, reason FROM a2a.tasks WHERE id = '$t'")"
ok "timeouts capped at a2a.task_timeout; a2a.max_in_flight_per_role; a2a.max_tasks_per_minute_per_role"

# --- 13. DROP ROLE refused while a role owns rows; REASSIGN and DROP OWNED handle them --
refused postgres "DROP ROLE alice" "cannot be dropped because some objects depend on it"
refused postgres "DROP ROLE dave" "A2A tasks"
"${PSQL[@]}" >/dev/null <<'SQL'
REASSIGN OWNED BY alice TO dave;
SQL
[[ "$(as dave "SELECT count(*) FROM rulake.collections WHERE owner = 'dave'::regrole")" == 4 ]] ||
  fail "REASSIGN OWNED did not move alice's collections"
[[ "$(as dave "SELECT owner::text FROM a2a.agents WHERE name = 'shared'")" == dave ]] ||
  fail "REASSIGN OWNED did not move alice's agent"
"${PSQL[@]}" -c "DROP OWNED BY alice; DROP ROLE alice" >/dev/null ||
  fail "alice could not be dropped after REASSIGN/DROP OWNED"
"${PSQL[@]}" -c "DROP OWNED BY bob; DROP ROLE bob" >/dev/null || fail "DROP OWNED BY bob"
[[ "$("${PSQL[@]}" -c "SELECT count(*) FROM rulake.collections WHERE name LIKE 'bob%'")" == 0 ]] ||
  fail "DROP OWNED left bob's collections"
[[ "$("${PSQL[@]}" -c "SELECT count(*) FROM a2a.agents WHERE name = 'bob_hang'")" == 0 ]] ||
  fail "DROP OWNED left bob's agent"
[[ "$(as dave "SELECT count(*) FROM rulake.search('alice_fresh', '[1,2,3,4,5,6,7,8]', 3)")" == 3 ]] ||
  fail "dave cannot search the collection he was handed"
ok "DROP ROLE, REASSIGN OWNED, DROP OWNED"

if grep -q "terminated by signal" "$CLUSTER_DIR/server.log"; then fail "a process crashed"; fi
echo "roles: ok"
