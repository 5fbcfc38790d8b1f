#!/usr/bin/env bash
# ALTER EXTENSION ruvector UPDATE from every frozen earlier version (extension/versions/):
# data, a rabitq index and a ruLake collection made under the old version keep working,
# and the updated extension has exactly the objects, definitions, comments and privileges
# of a fresh install of the current version.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
current=$(sed -nE "s/^default_version = '([^']+)'/\1/p" ruvector.control)

# Everything the extension owns, described so that two installs compare as text.
describe() {
  "${PSQL[@]}" -d "$1" <<'SQL'
WITH members AS (
  SELECT classid, objid, objsubid FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ruvector'))
SELECT 'object ' || pg_describe_object(classid, objid, objsubid) || ' comment '
       || coalesce(obj_description(objid, classid::regclass::name), '-')
FROM members
UNION ALL
SELECT 'function ' || pg_get_functiondef(objid) || ' acl ' || coalesce(p.proacl::text, '-')
FROM members JOIN pg_proc p ON p.oid = objid WHERE classid = 'pg_proc'::regclass AND p.prokind <> 'a'
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '-')
       || ' row security ' || c.relrowsecurity::text
       || ' columns ' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                            || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                                            || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum)
                          FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
FROM members JOIN pg_class c ON c.oid = objid WHERE classid = 'pg_class'::regclass
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE conrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid)
FROM pg_index WHERE indrelid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)
UNION ALL
SELECT 'policy ' || p.polrelid::regclass || ' ' || p.polname || ' ' || p.polcmd::text
       || ' using ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
       || ' check ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
FROM members JOIN pg_policy p ON p.polrelid = objid WHERE classid = 'pg_class'::regclass
UNION ALL
SELECT 'type ' || t.oid::regtype || ' storage ' || t.typstorage::text
FROM members JOIN pg_type t ON t.oid = objid WHERE classid = 'pg_type'::regclass
UNION ALL
SELECT 'config ' || c::regclass FROM pg_extension, unnest(extconfig) c WHERE extname = 'ruvector'
UNION ALL
SELECT 'schema ' || nspname || ' acl ' || coalesce(nspacl::text, '-')
FROM members JOIN pg_namespace n ON n.oid = objid WHERE classid = 'pg_namespace'::regclass
ORDER BY 1
SQL
}

"${PSQL[@]}" -c "CREATE DATABASE fresh"
"${PSQL[@]}" -d fresh -c "CREATE EXTENSION ruvector"
describe fresh >"$CLUSTER_DIR/fresh.txt"
[[ -s "$CLUSTER_DIR/fresh.txt" ]] || { echo "upgrade: fresh install describes as nothing" >&2; exit 1; }

checked=0
for script in extension/versions/ruvector--*.sql; do
  from=$(basename "$script" .sql | sed -nE 's/^ruvector--([0-9.]+)$/\1/p')
  [[ -n "$from" ]] || continue  # an upgrade script, not an install script
  db="from_${from//./_}"
  "${PSQL[@]}" -c "CREATE DATABASE $db"
  "${PSQL[@]}" -d "$db" <<SQL
CREATE EXTENSION ruvector VERSION '$from';
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO items SELECT i, (SELECT array_agg(sin(i * 0.7 + j * 1.3)::real) FROM generate_series(1, 8) j)
FROM generate_series(1, 2000) i;
CREATE INDEX ON items USING rabitq (v ruvector_l2_ops) WITH (lists = 8);
SELECT rulake.register('items', 'table:public.items(id, v)', 'fresh', '{"lists": 8, "probes": 8}');
SQL
  query="SET enable_seqscan = off; SET rabitq.probes = 8;
         SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 7) LIMIT 5) s"
  before=$("${PSQL[@]}" -d "$db" -c "$query" | tail -1)
  lake_before=$("${PSQL[@]}" -d "$db" -c "SELECT string_agg(id::text, ',') FROM rulake.search('items', (SELECT v FROM items WHERE id = 7), 5)")

  old_storage=$("${PSQL[@]}" -d "$db" -c "SELECT attstorage FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'v'")
  "${PSQL[@]}" -d "$db" -c "ALTER EXTENSION ruvector UPDATE"
  version=$("${PSQL[@]}" -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'ruvector'")
  [[ "$version" == "$current" ]] || { echo "upgrade: $from updated to $version, not $current" >&2; exit 1; }

  after=$("${PSQL[@]}" -d "$db" -c "$query" | tail -1)
  [[ "$after" == "$before" && -n "$after" ]] || { echo "upgrade: index answers changed: $before / $after" >&2; exit 1; }
  lake_after=$("${PSQL[@]}" -d "$db" -c "SELECT string_agg(id::text, ',') FROM rulake.search('items', (SELECT v FROM items WHERE id = 7), 5)")
  [[ "$lake_after" == "$lake_before" ]] || { echo "upgrade: rulake answers changed" >&2; exit 1; }
  # What the new version added works on the old data.
  batch=$("${PSQL[@]}" -d "$db" -c "SELECT string_agg(id::text, ',' ORDER BY rank) FROM rulake.search_batch('items', ARRAY[(SELECT v FROM items WHERE id = 7)], 5)")
  [[ "$batch" == "$lake_after" ]] || { echo "upgrade: search_batch after update: $batch, search: $lake_after" >&2; exit 1; }

  # A changed type storage applies to new columns only; existing ones keep what they had.
  storage=$("${PSQL[@]}" -d "$db" -c "CREATE TABLE fresh_items (v ruvector(8));
    SELECT string_agg(attrelid::regclass || ' ' || attstorage::text, ', ' ORDER BY attrelid::regclass::text)
    FROM pg_attribute WHERE attname = 'v' AND attrelid IN ('items'::regclass, 'fresh_items'::regclass)")
  expected="fresh_items $("${PSQL[@]}" -d fresh -c "SELECT typstorage FROM pg_type WHERE typname = 'ruvector'"), items $old_storage"
  [[ "$storage" == "$expected" ]] || { echo "upgrade: column storage $storage, expected $expected" >&2; exit 1; }

  "${PSQL[@]}" -d "$db" -c "SELECT rulake.unregister('items'); DROP TABLE items, fresh_items" >/dev/null
  describe "$db" >"$CLUSTER_DIR/$db.txt"
  if ! diff -u "$CLUSTER_DIR/fresh.txt" "$CLUSTER_DIR/$db.txt"; then
    echo "upgrade: $from updated to $current differs from a fresh $current install (above)" >&2
    exit 1
  fi
  checked=$((checked + 1))
  echo "upgrade: $from -> $current ok ($(wc -l <"$CLUSTER_DIR/fresh.txt") catalog lines compared)"
done
[[ $checked -gt 0 ]] || { echo "upgrade: no earlier version to update from" >&2; exit 1; }

# A view of the user's over rulake.stats() made under 0.4.0, whose columns 0.5.0 extends:
# the update goes through, the view keeps its columns (through the old function, now the
# user's), the extension still matches a fresh install, and a dump restores the view.
"${PSQL[@]}" -c "CREATE DATABASE user_view"
"${PSQL[@]}" -d user_view <<'SQL'
CREATE EXTENSION ruvector VERSION '0.4.0';
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(4));
INSERT INTO items SELECT i, ARRAY[i, 1, 2, 3]::real[] FROM generate_series(1, 50) i;
SELECT rulake.register('items', 'table:public.items(id, v)', 'fresh', '{}');
SELECT count(*) FROM rulake.search('items', '[1,1,2,3]', 3);
CREATE VIEW lake_hits AS SELECT collection, hits, misses FROM rulake.stats();
CREATE VIEW lake_all AS SELECT * FROM rulake.stats();
SQL
view_before=$("${PSQL[@]}" -d user_view -c "SELECT collection || ' ' || hits || ' ' || misses FROM lake_hits")
update_out=$("${PSQL[@]}" -d user_view -c "ALTER EXTENSION ruvector UPDATE" 2>&1) ||
  { echo "upgrade: 0.4.0 with a view over rulake.stats() did not update: $update_out" >&2; exit 1; }
[[ "$update_out" == *"rulake.stats_0_4()"* ]] || { echo "upgrade: no warning about the kept function: $update_out" >&2; exit 1; }
view_after=$("${PSQL[@]}" -d user_view -c "SELECT collection || ' ' || hits || ' ' || misses FROM lake_hits")
[[ "$view_after" == "$view_before" && -n "$view_after" ]] ||
  { echo "upgrade: the user's view answered '$view_before', then '$view_after'" >&2; exit 1; }
columns=$("${PSQL[@]}" -d user_view -c "SELECT (SELECT count(*) FROM jsonb_object_keys(to_jsonb(a))) || ' ' ||
  (SELECT count(*) FROM jsonb_object_keys(to_jsonb(s))) FROM lake_all a, rulake.stats() s")
[[ "$columns" == "11 14" ]] || { echo "upgrade: the old view and stats() have $columns columns, not 11 14" >&2; exit 1; }
describe user_view >"$CLUSTER_DIR/user_view.txt"
diff -u "$CLUSTER_DIR/fresh.txt" "$CLUSTER_DIR/user_view.txt" ||
  { echo "upgrade: 0.4.0 with a user's view, updated, differs from a fresh install (above)" >&2; exit 1; }
"${PSQL[@]}" -c "CREATE DATABASE user_view_restored"
"$PG_BINDIR/pg_dump" -d user_view | "${PSQL[@]}" -d user_view_restored >/dev/null
restored=$("${PSQL[@]}" -d user_view_restored -c "SELECT count(*) FROM lake_hits WHERE collection = 'items'")
[[ "$restored" == 1 ]] || { echo "upgrade: the user's view after pg_dump | psql: $restored rows" >&2; exit 1; }
# Recreated over rulake.stats(), the view lets the old function go.
"${PSQL[@]}" -d user_view -c "CREATE OR REPLACE VIEW lake_hits AS SELECT collection, hits, misses FROM rulake.stats();
  DROP VIEW lake_all; DROP FUNCTION rulake.stats_0_4()" >/dev/null
echo "upgrade: 0.4.0 with a view over rulake.stats() -> $current ok"

echo "upgrade: ok"
