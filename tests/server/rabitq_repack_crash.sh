#!/usr/bin/env bash
# rabitq's VACUUM repack when it fails half way: a damaged page makes a repack stop with an
# error after it has written part of a list's new chains; kill -9 right after repacks
# (WAL replay of the free list and the swapped chains); inserts that take free pages while
# the server is killed. After each, a scan probing every list returns exactly the
# sequential scan's nearest rows, and every page of the index is in a list's chain, an
# orphaned chain the metapage names, or the free list (tests/server/rabitq_census.sql);
# the next VACUUM frees the orphans.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
TEST=rabitq_repack_crash
source tests/server/lib/rabitq_items.sh
"${PSQL[@]}" -f tests/server/rabitq_census.sql >/dev/null
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE items (id int PRIMARY KEY, v ruvector(8));
INSERT INTO items SELECT g, array(SELECT sin(g * 0.37 + d) * 10 + (g % 17) FROM generate_series(1, 8) d)::ruvector
FROM generate_series(1, 20000) g;
CREATE INDEX items_v ON items USING rabitq (v) WITH (lists = 2, rerank_from_heap = false${RABITQ_BITS:+, bits = $RABITQ_BITS});
SQL

stop_server() {
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
}
start_server() {
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w -t 120 start >/dev/null
}

# 1. A repack that fails half way. 70% of the rows deleted; then, with the server stopped,
# the type of the last vector page of list 0 is overwritten, so that VACUUM marks the
# tombstones (reading only code pages) and its repack copies most of the list's rows and
# then meets a page it does not expect.
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 10 < 7"
block=$("${PSQL[@]}" -c "SELECT rabitq_u32(get_raw_page('items_v', rabitq_u32(get_raw_page('items_v', 0), 60)::int), 24 + 12)")
file="$PGDATA/$("${PSQL[@]}" -c "SELECT pg_relation_filepath('items_v')")"
stop_server
saved=$(mktemp)
dd if="$file" of="$saved" bs=8192 skip="$block" count=1 status=none
printf '\x07\x00' | dd of="$file" bs=1 seek=$((block * 8192 + 8188)) conv=notrunc status=none
start_server
if out=$("${PSQL[@]}" -c "VACUUM items" 2>&1); then
  fail "VACUUM over a damaged page succeeded"
fi
grep -q "unexpected page at block $block" <<<"$out" || fail "VACUUM failed otherwise: $out"
census "after a repack failed half way" orphans
# The page repaired, the old chains still answer; the next VACUUM frees the orphans and
# repacks.
stop_server
dd if="$saved" of="$file" bs=8192 seek="$block" conv=notrunc status=none
rm -f "$saved"
start_server
verify "after a repack failed half way"
"${PSQL[@]}" -c "VACUUM items"
census "after the next VACUUM"
verify "after the next VACUUM"

# 2. A parallel VACUUM leaves the repack to a background worker (rabitq_repack_worker.cpp),
# which runs once the VACUUM has ended; kill -9 right after: the free list, the orphans'
# release and the swapped chains come back from WAL.
"${PSQL[@]}" -c "INSERT INTO items SELECT g, array(SELECT cos(g * 0.11 + d) * 10 + (g % 13)
    FROM generate_series(1, 8) d)::ruvector FROM generate_series(20001, 30000) g"
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 10 <> 9"
out=$("${PSQL[@]}" -c "SET min_parallel_index_scan_size = 0" -c "VACUUM (PARALLEL 2, VERBOSE) items" 2>&1)
grep -q "launched 1 parallel vacuum worker" <<<"$out" || fail "no parallel VACUUM: $out"
dead="SELECT sum(get_byte(p, 24 + 32 * l + 20) + 256 * get_byte(p, 24 + 32 * l + 21))
      FROM get_raw_page('items_v', 2) p, generate_series(0, 1) l"
for _ in $(seq 300); do
  [[ $("${PSQL[@]}" -c "$dead") == 0 ]] && break
  sleep 0.1
done
[[ $("${PSQL[@]}" -c "$dead") == 0 ]] || fail "the repack worker did not repack the lists"
grep -q 'LOG:  rabitq index "items_v": repacked 2 lists' "$CLUSTER_DIR/server.log" ||
  fail "the repack worker did not log its work"
crash
census "after VACUUM and kill -9"
verify "after VACUUM and kill -9"

# 3. kill -9 while concurrent inserts take free pages; no page lost, no growth until the
# free pages run out.
size=$("${PSQL[@]}" -c "SELECT pg_relation_size('items_v')")
insert_loop() {  # $1: first id; small committed transactions until killed
  local id=$1
  while psql -X -qtA -c "INSERT INTO items SELECT g, array(SELECT sin(g * 0.05 + d) * 12
      FROM generate_series(1, 8) d)::ruvector FROM generate_series($id, $id + 49) g" >/dev/null 2>&1; do
    id=$((id + 50))
  done
}
pids=()
for i in 1 2 3; do insert_loop $((i * 1000000)) & pids+=($!); done
for _ in $(seq 600); do
  [[ $("${PSQL[@]}" -c "SELECT count(*) FROM items WHERE id >= 1000000") -ge 3000 ]] && break
  sleep 0.1
done
crash
for p in "${pids[@]}"; do wait "$p" || true; done
census "after kill -9 during inserts into free pages"
verify "after kill -9 during inserts into free pages"
grown=$(($("${PSQL[@]}" -c "SELECT pg_relation_size('items_v')") - size))
[[ $grown -eq 0 ]] || fail "inserts into free pages grew the index by $grown bytes"

# 4. A session that holds the index (an open transaction that searched it) keeps VACUUM
# from repacking: VACUUM waits 5 seconds for the lock, says so and leaves the lists. (The
# session sleeps between statements, holding no snapshot that would keep the deleted rows.)
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 10 <> 0"
"${PSQL[@]}" -c "SET enable_seqscan = off" -c "BEGIN" \
  -c "SELECT id FROM items ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 1" -c '\! sleep 8' \
  -c "COMMIT" >/dev/null &
holder=$!
sleep 1
out=$("${PSQL[@]}" -c "VACUUM (VERBOSE, PARALLEL 0) items" 2>&1)
grep -q 'NOTICE:  rabitq index "items_v": lists not repacked: the index is in use' <<<"$out" ||
  fail "VACUUM did not report the index in use: $out"
wait "$holder"
out=$("${PSQL[@]}" -c "VACUUM (VERBOSE, PARALLEL 0) items" 2>&1)
grep -Eq 'index "items_v": pages: [0-9]+ in total, [1-9][0-9]* newly deleted' <<<"$out" ||
  fail "VACUUM did not repack once the index was free: $out"
census "after a VACUUM locked out and the next"

# 5. Searches and inserts from other sessions while VACUUM repacks again and again: they
# wait for the lock, or VACUUM waits for them; none fails.
errors="$CLUSTER_DIR/concurrent.err"
: >"$errors"
search_loop() {
  while [[ ! -e "$CLUSTER_DIR/stop" ]]; do
    psql -X -qtA -c "SET enable_seqscan = off" -c "SELECT count(*) FROM (SELECT id FROM items
        ORDER BY v <-> '[5,5,5,5,5,5,5,5]' LIMIT 10) s" >/dev/null 2>>"$errors"
  done
}
insert_batches() {  # $1: first id
  local id=$1
  while [[ ! -e "$CLUSTER_DIR/stop" ]]; do
    psql -X -qtA -c "INSERT INTO items SELECT g, array(SELECT cos(g * 0.03 + d) * 9
        FROM generate_series(1, 8) d)::ruvector FROM generate_series($id, $id + 99) g" >/dev/null 2>>"$errors"
    id=$((id + 100))
    sleep 0.05
  done
}
pids=()
for i in 1 2; do insert_batches $((i * 10000000)) & pids+=($!); done
for _ in 1 2; do search_loop & pids+=($!); done
repacked=0
locked_out=0
for _ in 1 2 3 4 5 6; do
  sleep 0.5
  "${PSQL[@]}" -c "DELETE FROM items WHERE random() < 0.9"
  out=$("${PSQL[@]}" -c "VACUUM (VERBOSE, PARALLEL 0) items" 2>&1)
  grep -Eq 'index "items_v": pages: [0-9]+ in total, [1-9][0-9]* newly deleted' <<<"$out" &&
    repacked=$((repacked + 1))
  grep -q "the index is in use" <<<"$out" && locked_out=$((locked_out + 1))
done
touch "$CLUSTER_DIR/stop"
for p in "${pids[@]}"; do wait "$p"; done
[[ -s "$errors" ]] && fail "concurrent sessions failed: $(head -5 "$errors")"
[[ $repacked -gt 0 ]] || fail "no VACUUM repacked while others searched and inserted"
census "after $repacked repacks ($locked_out VACUUMs locked out) among concurrent searches and inserts"
verify "after repacks among concurrent searches and inserts"
