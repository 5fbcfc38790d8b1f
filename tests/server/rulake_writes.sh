#!/usr/bin/env bash
# Writes folded into a cached image (docs/rulake.md#writes): a fresh table collection
# searched after every kind of write answers exactly what its snapshot sees, the same rows
# as an exact scan of the table, while the image is primed once and the writes go into
# overlays (stats().deltas). Then the cases that must prime in full (a statement of more
# than 10000 rows, TRUNCATE, rulake.rebuild_threshold = 0) and those that must not see
# other sessions' state (an older REPEATABLE READ snapshot, this transaction's own
# writes), the worker folding the log, a renamed id column, and a login role's table.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_writes "rulake.cache_size = 64MB"
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE EXTENSION ruvector;
SELECT setseed(0.25);
CREATE TABLE t (id bigint PRIMARY KEY, v ruvector(16));
INSERT INTO t SELECT g, array(SELECT random()::real FROM generate_series(1, 16))::ruvector
  FROM generate_series(1, 3000) g;
ANALYZE t;
CREATE TABLE queries (i int, v ruvector(16));
INSERT INTO queries SELECT g, array(SELECT random()::real FROM generate_series(1, 16))::ruvector
  FROM generate_series(1, 12) g;
-- Every list probed and every row a candidate: the collection's answers are exact.
SELECT rulake.register('w', 'table:public.t(id, v)', 'fresh',
  '{"lists": 8, "probes": 0, "rerank_factor": 1000}');
SQL

# exact: whether every query's 10 nearest from the collection are the table's, by id.
exact_sql="SELECT bool_and(coalesce(
    (SELECT array_agg(id ORDER BY distance, id) FROM rulake.search('w', q.v, 10)) =
    (SELECT array_agg(id) FROM (SELECT id FROM t ORDER BY v <-> q.v, id LIMIT 10) s), false))
  FROM queries q"
check() {
  local got
  got=$("${PSQL[@]}" -c "$exact_sql")
  [[ "$got" == t ]] || fail "$1: the collection's answers differ from the table's"
}
stat() { "${PSQL[@]}" -c "SELECT $1 FROM rulake.stats() WHERE collection = 'w'"; }

check "first search"
primes=$(stat primes)

# Every kind of write, one round at a time, each followed by searches.
"${PSQL[@]}" -c "SELECT setseed(0.5)" >/dev/null
writes=(
  "INSERT INTO t VALUES (5001, array_fill(0.5, ARRAY[16])::ruvector)"
  "UPDATE t SET v = array_fill(0.25, ARRAY[16])::ruvector WHERE id = 17"
  "DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE i = 1) LIMIT 3)"
  "UPDATE t SET id = 7001 WHERE id = 18"
  "INSERT INTO t SELECT 6000 + g, array(SELECT random()::real FROM generate_series(1, 16))::ruvector FROM generate_series(1, 50) g"
  "UPDATE t SET v = (SELECT v FROM queries WHERE i = 2) WHERE id BETWEEN 100 AND 120"
  "DELETE FROM t WHERE id = 5001; INSERT INTO t VALUES (5001, (SELECT v FROM queries WHERE i = 3))"
  "BEGIN; UPDATE t SET v = (SELECT v FROM queries WHERE i = 4) WHERE id = 200; ROLLBACK"
  "MERGE INTO t USING (SELECT 200 + g AS id FROM generate_series(1, 5) g) s ON t.id = s.id
     WHEN MATCHED THEN UPDATE SET v = (SELECT v FROM queries WHERE i = 5)"
  "UPDATE t SET v = v WHERE false"
)
for w in "${writes[@]}"; do
  "${PSQL[@]}" -c "$w" >/dev/null
  check "after: $w"
done
after=$(stat primes)
deltas=$(stat deltas)
[[ $after -eq $primes ]] || fail "writes were primed in full ($primes -> $after primes), not folded in"
[[ $deltas -ge 8 ]] || fail "stats() counts $deltas writes folded in"
logged=$("${PSQL[@]}" -c "SELECT count(*) FILTER (WHERE ids IS NOT NULL AND id_column = 'id') > 0
  FROM rulake.table_writes")
[[ $logged == t ]] || fail "the write log names no ids"
echo "rulake_writes: ${#writes[@]} kinds of write folded in ($deltas deltas, still $after prime), answers exact: ok"

# Random single-row writes, as an application makes them, with searches in between.
for round in $(seq 1 20); do
  "${PSQL[@]}" >/dev/null <<SQL
SELECT setseed(0.01 * $round);
INSERT INTO t SELECT 10000 + $round, array(SELECT random()::real FROM generate_series(1, 16))::ruvector;
UPDATE t SET v = array(SELECT random()::real FROM generate_series(1, 16))::ruvector
  WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1);
DELETE FROM t WHERE id = (SELECT id FROM t ORDER BY random() LIMIT 1);
SQL
  check "random round $round"
done
[[ $(stat primes) -eq $primes ]] || fail "random writes were primed in full: $(stat primes) primes"
echo "rulake_writes: 20 rounds of random inserts, updates and deletes: exact, no full prime: ok"

# An older snapshot sees its own rows: a REPEATABLE READ transaction that began before a
# write, searching after it (from a second session) still gets the rows it sees.
fifo=$(mktemp -u)
mkfifo "$fifo"
psql -X -qtA -v ON_ERROR_STOP=1 <"$fifo" >"$CLUSTER_DIR/rr.out" 2>&1 &
exec 7>"$fifo"
echo "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;" >&7
sleep 0.5
"${PSQL[@]}" -c "UPDATE t SET v = (SELECT v FROM queries WHERE i = 6) WHERE id BETWEEN 300 AND 340" >/dev/null
check "after the update the old snapshot does not see"
echo "SELECT 'rr:' || ($exact_sql)::text; COMMIT;" >&7
exec 7>&-
wait
rm -f "$fifo"
grep -q '^rr:true$' "$CLUSTER_DIR/rr.out" || fail "an older snapshot got another snapshot's rows: $(cat "$CLUSTER_DIR/rr.out")"
echo "rulake_writes: an older REPEATABLE READ snapshot gets exactly its rows: ok"

# This transaction's own writes are seen by its searches, and by nobody else's.
own=$("${PSQL[@]}" <<SQL
BEGIN;
UPDATE t SET v = (SELECT v FROM queries WHERE i = 7) WHERE id BETWEEN 400 AND 420;
SELECT ($exact_sql)::text;
ROLLBACK;
SQL
)
[[ "$own" == true ]] || fail "a transaction's search did not see its own writes exactly: $own"
check "after a rolled back transaction that searched its own writes"
echo "rulake_writes: a transaction's own writes are searched exactly, and vanish with it: ok"

# What primes in full: a statement of more than 10000 rows (its ids are not logged),
# TRUNCATE, and rebuild_threshold 0.
p0=$(stat primes)
"${PSQL[@]}" -c "INSERT INTO t SELECT 20000 + g, array(SELECT random()::real FROM generate_series(1, 16))::ruvector FROM generate_series(1, 10001) g" >/dev/null
check "after a statement of 10001 rows"
[[ $(stat primes) -gt $p0 ]] || fail "a statement of 10001 rows did not prime in full"
p1=$(stat primes)
# (Set for the server: the refill worker folds writes in too.)
"${PSQL[@]}" -c "ALTER SYSTEM SET rulake.rebuild_threshold = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
"${PSQL[@]}" -c "UPDATE t SET v = v WHERE id = 1" >/dev/null
check "after a write with rebuild_threshold 0"
[[ $(stat primes) -gt $p1 ]] || fail "rebuild_threshold 0 did not prime in full"
d0=$(stat deltas)
"${PSQL[@]}" -c "UPDATE t SET v = v WHERE id = 2" >/dev/null
check "after a second write with rebuild_threshold 0"
[[ $(stat deltas) -eq $d0 ]] || fail "rebuild_threshold 0 still folded a write in"
"${PSQL[@]}" -c "ALTER SYSTEM RESET rulake.rebuild_threshold" -c "SELECT pg_reload_conf()" >/dev/null
"${PSQL[@]}" -c "SET rulake.rebuild_threshold = 0.5" 2>&1 >/dev/null | grep -q . && fail "a superuser cannot set rulake.rebuild_threshold"
"${PSQL[@]}" -c "TRUNCATE t; INSERT INTO t SELECT g, array(SELECT random()::real FROM generate_series(1, 16))::ruvector FROM generate_series(1, 500) g" >/dev/null
check "after TRUNCATE and a refill"
echo "rulake_writes: a 10001-row statement, rebuild_threshold 0 and TRUNCATE prime in full, exact: ok"

# The worker folds the log (a cycle is about a second): overlays keep working over folded
# rows, and the generation is unchanged by folding.
for round in $(seq 1 6); do
  "${PSQL[@]}" -c "UPDATE t SET v = array(SELECT random()::real FROM generate_series(1, 16))::ruvector WHERE id = $round" >/dev/null
  check "round $round with the worker folding"
  sleep 0.5
done
folded=$("${PSQL[@]}" -c "SELECT count(*) FILTER (WHERE folded) > 0 AND count(*) < 20 FROM rulake.table_writes")
[[ $folded == t ]] || fail "the worker did not fold the write log: $("${PSQL[@]}" -c "SELECT relid, weight, folded, cardinality(ids) FROM rulake.table_writes")"
p2=$(stat primes)
for round in $(seq 1 5); do
  "${PSQL[@]}" -c "DELETE FROM t WHERE id = 100 + $round" >/dev/null
  check "delete $round after folding"
done
[[ $(stat primes) -le $((p2 + 1)) ]] || fail "writes after folding were primed in full: $p2 -> $(stat primes)"
echo "rulake_writes: the worker folds the log, overlays keep working over folded rows: ok"

# A renamed id column must not make the table's writes fail.
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE TABLE r (id bigint, v ruvector(16));
INSERT INTO r SELECT g, array_fill(g::real, ARRAY[16])::ruvector FROM generate_series(1, 100) g;
SELECT rulake.register('r', 'table:public.r(id, v)');
ALTER TABLE r RENAME COLUMN id TO rid;
INSERT INTO r VALUES (101, array_fill(0.5, ARRAY[16])::ruvector);
UPDATE r SET v = v WHERE rid = 5;
DELETE FROM r WHERE rid = 7;
SQL
echo "rulake_writes: writes to a table whose id column was renamed still succeed: ok"

# A login role's own table, registered, written and searched by that role.
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE ROLE writer LOGIN;
GRANT CREATE ON SCHEMA public TO writer;
SET ROLE writer;
CREATE TABLE mine (id int PRIMARY KEY, v ruvector(16));
INSERT INTO mine SELECT g, array_fill((g % 37)::real, ARRAY[16])::ruvector FROM generate_series(1, 400) g;
SELECT rulake.register('mine', 'table:public.mine(id, v)', 'fresh', '{"probes": 0, "rerank_factor": 1000}');
SELECT count(*) FROM rulake.search('mine', array_fill(3, ARRAY[16])::ruvector, 5);
UPDATE mine SET v = array_fill(3, ARRAY[16])::ruvector WHERE id = 399;
SQL
top=$(psql -X -qtA -U writer -c "SELECT id FROM rulake.search('mine', array_fill(3, ARRAY[16])::ruvector, 1)")
[[ "$top" == 3 || "$top" == 40 || "$top" == 399 ]] || fail "the login role's search after its write returned $top"
d=$(psql -X -qtA -U writer -c "SELECT deltas FROM rulake.stats() WHERE collection = 'mine'")
[[ $d -ge 1 ]] || fail "the login role's write was not folded in (deltas $d)"
echo "rulake_writes: a login role's table takes its writes as overlays: ok"

# Which ids a write touched is for those who may read the id column: a role that may read
# only the vector column reads the generation, not the logged ids.
"${PSQL[@]}" -c "CREATE ROLE peek LOGIN" -c "GRANT SELECT (v) ON t TO peek" >/dev/null
gen=$(psql -X -qtA -U peek -c "SELECT sum(weight) > 0 FROM rulake.table_writes WHERE relid = 't'::regclass")
[[ "$gen" == t ]] || fail "a reader of the vector column cannot read the table's generation: $gen"
out=$(psql -X -qtA -U peek -c "SELECT ids FROM rulake.table_writes" 2>&1 || true)
grep -q 'permission denied' <<<"$out" || fail "a role that may not read the id column read the logged ids: $out"
echo "rulake_writes: the logged ids are hidden from a role that may not read the id column: ok"
