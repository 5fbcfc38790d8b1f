#!/usr/bin/env bash
# rabitq under concurrent writers of the same lists. First, rounds of pgbench clients that
# all start inserting into an empty index (one list, no pages): the first inserts race to
# start its chains, and the index must then return every row. Then pgbench clients insert
# into an index of four lists while others search and a loop DELETEs and VACUUMs, so that inserts append to
# and reuse slots in the same lists at once, and VACUUM counts tombstones into the entries
# inserts are changing; each search checks that its rows come in distance order, once
# each, at the distance their vector gives. Afterwards every row must be found exactly once by a search of all
# lists, every page must be in exactly one chain (tests/server/rabitq_census.sql), and the
# directory's counts must match the code pages: the sum of the entries' live equals the
# code tuples that are not tombstones (and the table's rows), and the sum of dead the
# tombstones. A lost update of a directory entry, or two inserts that take the same tail or
# tombstone, breaks one of these.
# RABITQ_BITS=n builds the index with bits = n; RABITQ_CONCURRENCY_SECONDS sets the phase.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
scripts=$(mktemp -d)
trap 'cluster_stop; rm -rf "$scripts"' EXIT
pgbench=("$PG_BINDIR/pgbench" -n)

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
TEST=rabitq_concurrency
source tests/server/lib/rabitq_items.sh
"${PSQL[@]}" -f tests/server/rabitq_census.sql >/dev/null
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE items (id bigserial PRIMARY KEY, v ruvector(8));
INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 8))::ruvector
FROM generate_series(1, 2000) g;
CREATE INDEX items_v ON items USING rabitq (v) WITH (lists = 4${RABITQ_BITS:+, bits = $RABITQ_BITS});
-- The directory's live and dead summed over all lists, and the code tuples and tombstones
-- on all code pages (byte offsets as in rabitq_census.sql; a CodeTuple's flags are at +6).
CREATE FUNCTION rabitq_counts(idx text) RETURNS TABLE (live bigint, dead bigint,
  tuples bigint, tombstones bigint)
LANGUAGE sql AS \$\$
WITH meta AS (SELECT get_raw_page(idx, 0) AS p),
entries AS (
  SELECT get_raw_page(idx, (rabitq_u32(m.p, 60) + l / 255)::int) AS d, 24 + 32 * (l % 255) AS at
  FROM meta m, generate_series(0, rabitq_u32(m.p, 40)::int - 1) l),
code_pages AS (
  SELECT p FROM generate_series(0, (pg_relation_size(idx) / 8192)::int - 1) b,
    get_raw_page(idx, b) p WHERE get_byte(p, 8188) = 4),
items AS (
  SELECT p, (rabitq_u32(p, 24 + 4 * i) & 32767)::int AS off FROM code_pages,
    generate_series(0, (get_byte(p, 12) + 256 * get_byte(p, 13) - 24) / 4 - 1) i)
SELECT (SELECT sum(rabitq_u32(d, at + 16)) FROM entries)::bigint,
       (SELECT sum(rabitq_u32(d, at + 20)) FROM entries)::bigint,
       (SELECT count(*) FROM items),
       (SELECT count(*) FROM items WHERE get_byte(p, off + 6) & 1 = 1)
\$\$;
SQL

cat >"$scripts/first.sql" <<'SQL'
INSERT INTO fresh (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 8))::ruvector
FROM generate_series(1, 3) g;
SQL
"${PSQL[@]}" -c "CREATE TABLE fresh (id bigserial PRIMARY KEY, v ruvector(8))" \
  -c "CREATE INDEX fresh_v ON fresh USING rabitq (v)"
all_rows="SELECT count(DISTINCT id) FROM (SELECT id FROM fresh ORDER BY v <-> '[0,0,0,0,0,0,0,0]'
  LIMIT 1000000) s"
settings="SET enable_seqscan = off; SET rabitq.probes = 1000; SET rabitq.iterative_scan = relaxed_order"
plan=$("${PSQL[@]}" -c "$settings" -c "EXPLAIN (COSTS OFF) $all_rows")
grep -q "Index Scan using fresh_v on fresh" <<<"$plan" || fail "not planned as a scan of fresh_v: $plan"
for round in $(seq 20); do
  "${PSQL[@]}" -c "TRUNCATE fresh"  # an empty index again: one list without pages
  "${pgbench[@]}" -c 8 -j 8 -t 4 -f "$scripts/first.sql" >"$scripts/first.log" 2>&1 ||
    fail "round $round: insert clients failed: $(tail -5 "$scripts/first.log")"
  rows=$("${PSQL[@]}" -c "SELECT count(*) FROM fresh")
  indexed=$("${PSQL[@]}" -c "$settings" -c "$all_rows")
  [[ $indexed == "$rows" ]] || fail "round $round of first inserts: table has $rows rows, index returns $indexed"
done
echo "$TEST: 20 rounds of 8 clients inserting into an empty index: every row found"

cat >"$scripts/insert.sql" <<'SQL'
INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 8))::ruvector
FROM generate_series(1, 5) g;
SQL
# Searches check what they get while rows move under them: rows in order of the distance
# recomputed from the row as returned (a copy, so not the scan's own number), none twice.
# The scan pins table pages through buffers it saw earlier (rabitq_recent.h), which VACUUM
# and inserts may have given to other pages since.
"${PSQL[@]}" <<'SQL'
CREATE FUNCTION checked_search(q ruvector) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
  last float8 := 0;
  seen bigint[] := '{}';
BEGIN
  FOR r IN SELECT id, v, v <-> q AS d FROM items ORDER BY v <-> q LIMIT 10 LOOP
    IF r.id = ANY (seen) THEN RAISE EXCEPTION 'row % returned twice', r.id; END IF;
    IF r.d <> (r.v <-> q) THEN
      RAISE EXCEPTION 'row %: scan distance % but % from the row', r.id, r.d, r.v <-> q;
    END IF;
    IF r.d < last THEN RAISE EXCEPTION 'row % at % after %', r.id, r.d, last; END IF;
    seen := seen || r.id;
    last := r.d;
  END LOOP;
END $$;
SQL
cat >"$scripts/search.sql" <<'SQL'
SELECT checked_search(array(SELECT random() * 10 FROM generate_series(1, 8))::ruvector);
SQL
seconds=${RABITQ_CONCURRENCY_SECONDS:-10}
pgbench+=(-T "$seconds")
"${pgbench[@]}" -c 4 -f "$scripts/insert.sql" >"$scripts/insert.log" 2>&1 & inserts=$!
"${pgbench[@]}" -c 2 -f "$scripts/search.sql" >"$scripts/search.log" 2>&1 & searches=$!
vacuums=0
end=$((SECONDS + seconds))
while [[ $SECONDS -lt $end ]]; do
  # A tenth of the rows at a time: tombstones in every list, never a repack's majority.
  "${PSQL[@]}" -c "DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random()
      LIMIT (SELECT count(*) / 10 FROM items))"
  "${PSQL[@]}" -c "VACUUM (INDEX_CLEANUP ON) items"
  vacuums=$((vacuums + 1))
done
wait "$inserts" || fail "insert clients failed: $(tail -5 "$scripts/insert.log")"
wait "$searches" || fail "search clients failed: $(tail -5 "$scripts/search.log")"
rate() { grep -o 'tps = [0-9.]*' "$1" | head -1; }
echo "$TEST: inserts $(rate "$scripts/insert.log"), searches $(rate "$scripts/search.log"), $vacuums DELETE + VACUUM rounds"

read -r live dead tuples tombstones <<<"$("${PSQL[@]}" -F ' ' -c "SELECT * FROM rabitq_counts('items_v')")"
[[ $tuples -gt 4000 && $vacuums -gt 1 ]] ||
  fail "the phase was too short: $tuples code tuples, $vacuums VACUUM rounds"
if [[ $live != $((tuples - tombstones)) || $dead != "$tombstones" ]]; then
  fail "directory counts live $live, dead $dead; code pages hold $tuples tuples, $tombstones tombstones"
fi
echo "$TEST: directory counts match the code pages (live $live, dead $dead)"
census "after concurrent inserts, searches and VACUUM"
verify "after concurrent inserts, searches and VACUUM"
# Deleted rows stay counted live until VACUUM tombstones them (rows that searches' snapshots
# kept from the last round's VACUUM); after one more round with nobody else about the
# directory counts exactly the table's rows, and tombstones that no insert reused.
# INDEX_CLEANUP ON: VACUUM skips the indexes when few pages have dead rows.
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 10 = 0" -c "VACUUM (INDEX_CLEANUP ON) items"
read -r live dead tuples tombstones <<<"$("${PSQL[@]}" -F ' ' -c "SELECT * FROM rabitq_counts('items_v')")"
rows=$("${PSQL[@]}" -c "SELECT count(*) FROM items")
[[ $live == "$rows" && $dead == "$tombstones" && $tombstones -gt 0 ]] ||
  fail "after VACUUM: directory counts live $live, dead $dead; table has $rows rows, code pages $tombstones tombstones"
echo "$TEST: after VACUUM the directory counts the table's $rows rows"
