#!/usr/bin/env bash
# pg_dump and pg_restore of a database with ruLake table and bundle collections, an A2A
# agent with credentials and a grant, a task tree, into a fresh database after its roles were dropped
# and made again (so every role and table has a new OID): the restored rows name their
# owners and tables, and searches and sends work there, for the owner and the grantee.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
source tests/server/lib/hostile_peer.sh
WORK=$(mktemp -d /tmp/ruvector-dump.XXXXXX)
chmod 755 "$WORK"
start_hostile_peer "$WORK"
SERVER_PIDS+=("$PEER_PID")
rulake_cluster_start dump_restore_owners "a2a.allowed_hosts = '127.0.0.1'" \
  "a2a.poll_interval = 100" "a2a.database = 'dst'" "rulake.database = 'dst'"
trap 'stop_all; rm -rf "$WORK"' EXIT
as() { "${PSQL[@]}" -U "$1" -d "$2" -c "$3"; }

with_bundle_root
"${PSQL[@]}" >/dev/null <<SQL
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE DATABASE src OWNER alice;
SQL
"${PSQL[@]}" -d src -c "CREATE EXTENSION ruvector" >/dev/null
as alice src "
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(4));
INSERT INTO items SELECT g, array[g, g % 5, cos(g), 1]::ruvector FROM generate_series(1, 300) g;
SELECT rulake.register('items', 'table:public.items(id, v)', 'fresh', '{\"lists\": 4}');
SELECT a2a.register_agent('echo', '$PEER/echo', '{\"headers\": {\"Authorization\": \"Bearer alice\"}}');
SELECT a2a.grant_agent('echo', 'bob');" >/dev/null
"${PSQL[@]}" -d src >/dev/null <<'SQL'
SELECT rulake.publish_bundle('items', 'items_bundle');
SELECT rulake.register('items_b', 'bundle:items_bundle', 'frozen', '{"lists": 4}');
SQL
# A task and its subtask (queued: the worker serves dst). The parent's row is written again
# after the child's, so the dump lists the child first: parent_task must not need order.
parent=$(as alice src "SELECT a2a.send('echo', 'parent')")
child=$(as alice src "SELECT a2a.send('echo', 'child', jsonb_build_object('parent_task', '$parent'::uuid))")
"${PSQL[@]}" -d src -c "UPDATE a2a.tasks SET updated = now() WHERE id = '$parent'" >/dev/null
[[ "$("${PSQL[@]}" -d src -c "SELECT (SELECT ctid FROM a2a.tasks WHERE id = '$child') < (SELECT ctid FROM a2a.tasks WHERE id = '$parent')")" == t ]] ||
  fail "the child's row is not before its parent's; the test proves nothing"
query="SELECT string_agg(id::text, ',') FROM rulake.search('items', '[7,2,0.75,1]', 5)"
expected=$(as alice src "$query")
old_alice=$("${PSQL[@]}" -c "SELECT oid FROM pg_roles WHERE rolname = 'alice'")

pg_dump -Fc -d src -f "$WORK/src.dump"
# New OIDs for everything: the roles are dropped and made again.
"${PSQL[@]}" >/dev/null <<'SQL'
DROP DATABASE src;
DROP ROLE alice;
DROP ROLE bob;
CREATE ROLE bob LOGIN;
CREATE ROLE alice LOGIN;
CREATE DATABASE dst OWNER alice;
SQL
pg_restore -d dst "$WORK/src.dump" 2>"$WORK/restore.err" || fail "pg_restore: $(cat "$WORK/restore.err")"
new_alice=$("${PSQL[@]}" -c "SELECT oid FROM pg_roles WHERE rolname = 'alice'")
[[ "$new_alice" != "$old_alice" ]] || fail "alice kept her OID; the test proves nothing"
owners=$("${PSQL[@]}" -d dst -c "SELECT string_agg(name || '=' || owner::text || ':' || coalesce(relid::text, '-'), ',' ORDER BY name) FROM rulake.collections")
[[ "$owners" == "items=alice:items,items_b=postgres:-" ]] || fail "restored collections: $owners"
[[ "$("${PSQL[@]}" -d dst -c "SELECT owner::text FROM a2a.agents")" == alice ]] || fail "agent owner"
[[ "$("${PSQL[@]}" -d dst -c "SELECT grantee::text FROM a2a.agent_grants")" == bob ]] || fail "grantee"

[[ "$(as alice dst "$query")" == "$expected" ]] || fail "alice's search after restore: $(as alice dst "$query")"
[[ "$("${PSQL[@]}" -d dst -c "SELECT count(*) FROM rulake.search('items_b', '[7,2,0.75,1]', 5)")" == 5 ]] ||
  fail "the bundle collection after restore"
as alice dst "INSERT INTO items VALUES (1000, '[70,20,0,1]')" >/dev/null
[[ "$(as alice dst "SELECT id FROM rulake.search('items', '[70,20,0,1]', 1)")" == 1000 ]] ||
  fail "the restored table's generation trigger"
echo "dump_restore_owners: collections restored by name: ok"
trace=$(as alice dst "SELECT trace_id FROM a2a.tasks WHERE id = '$parent'")
[[ "$(as alice dst "SELECT string_agg(CASE task WHEN '$parent' THEN 'parent' ELSE 'child' END || '<' ||
       coalesce(CASE parent_task WHEN '$parent' THEN 'parent' END, '-'), ' ') FROM a2a.trace('$trace')")" == "parent<- child<parent" ]] ||
  fail "the task tree after restore: $(as alice dst "SELECT * FROM a2a.trace('$trace')")"
echo "dump_restore_owners: a task tree restored, child before parent in the dump: ok"

# The workers serve dst: sends by the owner and by the grantee go out with the credentials.
for who in alice bob; do
  id=$(as "$who" dst "SELECT a2a.send('echo', 'from $who')")
  state=$(as "$who" dst "SELECT a2a.wait('$id', '30 s')->>'state'")
  [[ "$state" == completed ]] || fail "$who's send after restore: $(as "$who" dst "SELECT a2a.task('$id')")"
  [[ "$(curl -s "$PEER/echo/last-auth")" == "Bearer alice" ]] || fail "credentials after restore"
done
echo "dump_restore_owners: agents, credentials and grants restored by name: ok"
