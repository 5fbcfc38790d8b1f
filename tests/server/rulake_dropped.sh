#!/usr/bin/env bash
# DROP TABLE of a registered table, as plain login roles: alice owns the table and one
# collection over it, bob (granted SELECT and TRIGGER) another. After the drop a search
# names the collection and says its table is gone (42P01, not an OID or permission error);
# each owner can unregister their own stranded collection and no one else's; the name can
# then be registered again over a new table (docs/rulake.md#dropped-tables).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_dropped
as() { "${PSQL[@]}" -U "$1" -c "$2"; }
refused() {  # refused ROLE SQL PATTERN: fails, with an error matching PATTERN
  local out
  if out=$(psql -X -qtA -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -U "$1" -c "$2" 2>&1); then
    fail "$1 was allowed: $2 ($out)"
  fi
  [[ "$out" == *$3* ]] || fail "$1: $2: expected '$3', got: $out"
}
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE EXTENSION ruvector;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
GRANT CREATE ON SCHEMA public TO alice;
SQL
make_table() {
  as alice "CREATE TABLE docs (id bigint PRIMARY KEY, v ruvector(8));
    INSERT INTO docs SELECT g, array_fill(g::real, ARRAY[8])::ruvector FROM generate_series(1, $1) g;
    GRANT SELECT, TRIGGER ON docs TO bob" >/dev/null
}
make_table 500
as alice "SELECT rulake.register('alice_docs', 'table:public.docs(id, v)')" >/dev/null
as bob "SELECT rulake.register('bob_docs', 'table:public.docs(id, v)')" >/dev/null
[[ $(as alice "SELECT count(*) FROM rulake.search('alice_docs', array_fill(3, ARRAY[8])::ruvector, 5)") == 5 ]] ||
  fail "search before the drop"
as bob "SELECT count(*) FROM rulake.search('bob_docs', array_fill(3, ARRAY[8])::ruvector, 5)" >/dev/null

as alice "DROP TABLE docs" >/dev/null
for f in "rulake.search('alice_docs', array_fill(3, ARRAY[8])::ruvector, 5)" \
  "rulake.search_federated(ARRAY['alice_docs'], array_fill(3, ARRAY[8])::ruvector, 5)" \
  "rulake.search_batch('alice_docs', ARRAY[array_fill(3, ARRAY[8])::ruvector], 5)" \
  "rulake.refresh('alice_docs')"; do
  refused alice "SELECT * FROM $f" '42P01: the table of rulake collection "alice_docs" no longer exists'
done
refused bob "SELECT * FROM rulake.search('bob_docs', array_fill(3, ARRAY[8])::ruvector, 5)" \
  'the table of rulake collection "bob_docs" no longer exists'
echo "rulake_dropped: a search of a stranded collection says its table is gone: ok"

# Neither may remove the other's collection; each removes their own.
refused bob "SELECT rulake.unregister('alice_docs')" 'rulake collection "alice_docs" does not exist'
refused alice "SELECT rulake.unregister('bob_docs')" 'rulake collection "bob_docs" does not exist'
[[ $("${PSQL[@]}" -c "SELECT string_agg(name, ',' ORDER BY name) FROM rulake.collections") == alice_docs,bob_docs ]] ||
  fail "a role removed another's collection"
as alice "SELECT rulake.unregister('alice_docs')" >/dev/null
as bob "SELECT rulake.unregister('bob_docs')" >/dev/null
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM rulake.collections") == 0 ]] || fail "unregister left rows"
[[ $("${PSQL[@]}" -c "SELECT count(*) FROM rulake.stats()") == 0 ]] || fail "stats still lists them"
echo "rulake_dropped: each owner unregisters their own stranded collection, not the other's: ok"

# The names are free again, over a new table of the same name (new rows, new answers).
make_table 50
as alice "SELECT rulake.register('alice_docs', 'table:public.docs(id, v)')" >/dev/null
as bob "SELECT rulake.register('bob_docs', 'table:public.docs(id, v)')" >/dev/null
top=$(as alice "SELECT id FROM rulake.search('alice_docs', array_fill(400, ARRAY[8])::ruvector, 1)")
[[ "$top" == 50 ]] || fail "the re-registered collection answers $top, not 50 (the new table's nearest row)"
[[ $(as bob "SELECT count(*) FROM rulake.search('bob_docs', array_fill(3, ARRAY[8])::ruvector, 5)") == 5 ]] ||
  fail "bob's re-registered collection"
echo "rulake_dropped: the names register again over a new table: ok"

# One backend keeps its plans of ruLake's catalog queries (rulake_source.cpp): after the
# extension is dropped and created again in that same session, a fresh search plans them
# again over the new catalog and still sees a write made since.
out=$("${PSQL[@]}" -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE TABLE k1 (id bigint PRIMARY KEY, v ruvector(3));
INSERT INTO k1 SELECT g, array[g, g, g]::real[]::ruvector FROM generate_series(1, 100) g;
SELECT rulake.register('k', 'table:public.k1(id, v)', 'fresh', '{"lists": 2}');
SELECT count(*) FROM rulake.search('k', '[1,1,1]', 3);
DROP EXTENSION ruvector CASCADE;
CREATE EXTENSION ruvector;
CREATE TABLE k2 (id bigint PRIMARY KEY, v ruvector(3));
INSERT INTO k2 SELECT g, array[g, g, g]::real[]::ruvector FROM generate_series(1, 100) g;
SELECT rulake.register('k', 'table:public.k2(id, v)', 'fresh', '{"lists": 2}');
SELECT count(*) FROM rulake.search('k', '[1,1,1]', 3);
INSERT INTO k2 VALUES (1000, '[1,1,1.1]');
SELECT string_agg(id::text, ',' ORDER BY distance, id) FROM rulake.search('k', '[1,1,1]', 3);
SQL
) || fail "searches around DROP/CREATE EXTENSION in one session: $out"
[[ $(tail -1 <<<"$out") == "1,1000,2" ]] || fail "after DROP/CREATE EXTENSION the fresh search answers $(tail -1 <<<"$out")"
echo "rulake_dropped: kept plans survive DROP and CREATE EXTENSION in one session: ok"
