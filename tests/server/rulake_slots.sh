#!/usr/bin/env bash
# ruLake's shared state has rulake.max_collections slots for the whole server. A plain role
# must not be able to use them up: not by registering (its quota), not by registrations it
# rolls back after searching them, not by rows it deletes by hand, and not from another
# database. After each attempt another role can still register and search.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_slots "rulake.max_collections = 4" "rulake.max_collections_per_role = 2"
as() { "${PSQL[@]}" -U "$1" -d "$2" -c "$3"; }

"${PSQL[@]}" >/dev/null <<'SQL'
CREATE ROLE mallory LOGIN;
CREATE ROLE alice LOGIN;
CREATE DATABASE other OWNER mallory;
CREATE EXTENSION ruvector;
CREATE TABLE docs (id bigint PRIMARY KEY, v ruvector(2));
INSERT INTO docs SELECT g, array[g, 1]::ruvector FROM generate_series(1, 50) g;
GRANT SELECT, TRIGGER ON docs TO mallory, alice;
SQL
"${PSQL[@]}" -d other -c "CREATE EXTENSION ruvector" >/dev/null
as mallory other "CREATE TABLE m (id bigint PRIMARY KEY, v ruvector(2));
  INSERT INTO m SELECT g, array[g, 2]::ruvector FROM generate_series(1, 50) g" >/dev/null

# Rolled back after a search: each leaves a state behind, reclaimed by the next register.
for i in $(seq 1 8); do
  as mallory postgres "BEGIN; SELECT rulake.register('rb$i', 'table:public.docs(id, v)');
    SELECT count(*) FROM rulake.search('rb$i', '[1,1]', 3); ROLLBACK" >/dev/null ||
    fail "rolled-back registration $i was refused"
done
# Rows inserted and deleted by hand.
for i in $(seq 1 8); do
  as mallory postgres "SELECT rulake.register('del$i', 'table:public.docs(id, v)');
    SELECT count(*) FROM rulake.search('del$i', '[1,1]', 3);
    DELETE FROM rulake.collections WHERE name = 'del$i'" >/dev/null ||
    fail "register, search and delete $i was refused"
done
echo "rulake_slots: rolled-back and deleted registrations leave no slot taken: ok"

# Mallory at her quota in both databases: 4 of 4 slots could be hers, but alice's
# registration frees the stale ones and gets one.
for db in postgres other; do
  for i in 1 2; do
    src=$([[ $db == postgres ]] && echo docs || echo m)
    as mallory "$db" "SELECT rulake.register('m$i', 'table:public.$src(id, v)');
      SELECT count(*) FROM rulake.search('m$i', '[1,1]', 3)" >/dev/null
  done
done
out=$(as mallory postgres "SELECT rulake.register('m3', 'table:public.docs(id, v)')" 2>&1 || true)
[[ "$out" == *max_collections_per_role* ]] || fail "mallory's third registration: $out"
as mallory other "DELETE FROM rulake.collections" >/dev/null
as alice postgres "SELECT rulake.register('a1', 'table:public.docs(id, v)')" >/dev/null
n=$(as alice postgres "SELECT count(*) FROM rulake.search('a1', '[1,1]', 3)" 2>&1) ||
  fail "alice could not search: $n"
[[ "$n" == 3 ]] || fail "alice's search: $n"
echo "rulake_slots: one role's quota leaves room for another: ok"
if grep -q "terminated by signal" "$CLUSTER_DIR/server.log"; then fail "a process crashed"; fi
echo "rulake_slots: ok"
