#!/usr/bin/env bash
# rabitq under crashes and concurrency: kill -9 the server during concurrent inserts and
# searches, restart (WAL replay), and check that a scan probing every list returns exactly
# the sequential scan's nearest rows; again after DELETE + VACUUM and a second crash, and
# after a crash while inserts reuse the slots VACUUM freed.
# RABITQ_BITS=n builds the index with bits = n (extended RaBitQ codes).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
TEST=rabitq_crash
source tests/server/lib/rabitq_items.sh
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE items (id bigserial PRIMARY KEY, v ruvector(8));
-- The row number in the subquery makes it correlated: without it Postgres evaluates the
-- array once and every row gets the same vector.
INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 8))::ruvector
FROM generate_series(1, 3000) g;
CREATE INDEX items_v ON items USING rabitq (v) WITH (lists = 16, rerank_from_heap = false${RABITQ_BITS:+, bits = $RABITQ_BITS});
SQL
distinct=$("${PSQL[@]}" -c "SELECT count(DISTINCT v::text) FROM items")
if [[ "$distinct" -lt 2990 ]]; then
  fail "test data is degenerate: $distinct distinct vectors in 3000 rows"
fi

insert_loop() {  # small committed transactions until killed
  while psql -X -qtA -c "INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM
      generate_series(1, 8))::ruvector FROM generate_series(1, 50) g" >/dev/null 2>&1; do :; done
}
search_loop() {
  while psql -X -qtA -c "SELECT count(*) FROM (SELECT id FROM items ORDER BY v <->
      '[5,5,5,5,5,5,5,5]' LIMIT 10) s" >/dev/null 2>&1; do :; done
}

# 1. Concurrent inserters and searchers, then kill -9 in the middle.
pids=()
for _ in 1 2 3; do insert_loop & pids+=($!); done
for _ in 1 2; do search_loop & pids+=($!); done
sleep 4
crash
for p in "${pids[@]}"; do wait "$p" || true; done
verify "after kill -9 during concurrent inserts"

# 2. Deletes and VACUUM, then a crash right after.
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 3 = 0"
"${PSQL[@]}" -c "VACUUM items"
crash
verify "after DELETE, VACUUM and kill -9"

# 3. Inserts after VACUUM still land and are found.
"${PSQL[@]}" -c "INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM
    generate_series(1, 8))::ruvector FROM generate_series(1, 500) g"
verify "after more inserts"

# 4. A crash while inserts reuse the slots VACUUM freed: a quarter of the rows deleted and
# VACUUMed (too few for VACUUM to repack a list, see tests/server/rabitq_repack_crash.sh),
# then kill -9 once concurrent inserters have filled about half of the freed slots,
# so that inserts are overwriting tombstones in place (code tuple, vector, ex item and
# directory entry in one WAL record) when the server dies. Every committed row must be found
# exactly, and the index must not have grown: the inserts all went into freed slots.
max_id=$("${PSQL[@]}" -c "SELECT max(id) FROM items")
freed=$("${PSQL[@]}" -c "SELECT count(*) FROM items WHERE id % 4 = 1")
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 4 = 1"
"${PSQL[@]}" -c "VACUUM items"
size=$("${PSQL[@]}" -c "SELECT pg_relation_size('items_v')")
pids=()
for _ in 1 2 3; do insert_loop & pids+=($!); done
for _ in 1 2; do search_loop & pids+=($!); done
for _ in $(seq 600); do
  [[ $("${PSQL[@]}" -c "SELECT count(*) FROM items WHERE id > $max_id") -ge $((freed / 2)) ]] && break
  sleep 0.1
done
crash
for p in "${pids[@]}"; do wait "$p" || true; done
inserted=$("${PSQL[@]}" -c "SELECT count(*) FROM items WHERE id > $max_id")
grown=$(($("${PSQL[@]}" -c "SELECT pg_relation_size('items_v')") - size))
verify "after kill -9 during inserts into $freed freed slots ($inserted committed)"
if [[ $inserted -ge $freed || $grown -ne 0 ]]; then
  fail "$inserted rows inserted into $freed freed slots grew the index by $grown bytes"
fi

# 5. VACUUM after the restart frees the slots of rows whose inserts never committed too, and
# later inserts reuse them.
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 5 = 0"
"${PSQL[@]}" -c "VACUUM items"
"${PSQL[@]}" -c "INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM
    generate_series(1, 8))::ruvector FROM generate_series(1, 500) g"
verify "after VACUUM and inserts after the restart"
