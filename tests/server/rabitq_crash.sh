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
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE items (id bigserial PRIMARY KEY, v ruvector(8));
-- The row number in the subquery makes it correlated: without it Postgres evaluates the
-- array once and every row gets the same vector.
INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 8))::ruvector
FROM generate_series(1, 3000) g;
CREATE INDEX items_v ON items USING rabitq (v) WITH (lists = 16${RABITQ_BITS:+, bits = $RABITQ_BITS});
SQL
distinct=$("${PSQL[@]}" -c "SELECT count(DISTINCT v::text) FROM items")
if [[ "$distinct" -lt 2990 ]]; then
  echo "rabitq_crash: test data is degenerate: $distinct distinct vectors in 3000 rows" >&2
  exit 1
fi

insert_loop() {  # small committed transactions until killed
  while psql -X -qtA -c "INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM
      generate_series(1, 8))::ruvector FROM generate_series(1, 50) g" >/dev/null 2>&1; do :; done
}
search_loop() {
  while psql -X -qtA -c "SELECT count(*) FROM (SELECT id FROM items ORDER BY v <->
      '[5,5,5,5,5,5,5,5]' LIMIT 10) s" >/dev/null 2>&1; do :; done
}

crash() {
  local pm
  pm=$(head -1 "$PGDATA/postmaster.pid")
  pkill -9 -P "$pm" || true
  kill -9 "$pm"
  while kill -0 "$pm" 2>/dev/null; do sleep 0.1; done
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w -t 120 start >/dev/null 2>&1
}

# Index results must equal the sequential scan's for 20 queries when every list is probed.
# Distances are compared, not ids: rows at equal distance may come in either order.
# The RaBitQ bound holds with a probability set by rabitq.epsilon: at the default 1.9 about
# one row in twenty may be estimated past its bound, which puts a wrong row into some top 10
# (seen in CI). At 4.0 a miss is some thousand times rarer, so a difference means a broken
# index, not an unlucky estimate.
verify() {
  local what=$1 bad total indexed
  bad=$("${PSQL[@]}" <<'SQL'
SET rabitq.probes = 1000;
SET rabitq.epsilon = 4.0;
SET rabitq.iterative_scan = strict_order;
SET enable_seqscan = off;
WITH q AS (SELECT g, array(SELECT (g * 7 + d) % 10 FROM generate_series(1, 8) d)::ruvector AS q
           FROM generate_series(1, 20) g)
SELECT count(*) FROM q
WHERE array(SELECT v <-> q.q FROM items ORDER BY v <-> q.q LIMIT 10)
   <> array(SELECT d FROM (SELECT v <-> q.q AS d FROM items OFFSET 0) s ORDER BY d LIMIT 10);
SQL
)
  total=$("${PSQL[@]}" -c "SELECT count(*) FROM items")
  indexed=$("${PSQL[@]}" -c "SET enable_seqscan = off; SET rabitq.iterative_scan = relaxed_order;
      SET rabitq.max_scan_tuples = 100000000;
      SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 10000000) s")
  if [[ "$bad" != 0 || "$total" != "$indexed" ]]; then
    echo "rabitq_crash: $what: $bad queries differ; table has $total rows, index returns $indexed" >&2
    exit 1
  fi
  echo "rabitq_crash: $what: ok ($total rows)"
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
  echo "rabitq_crash: $inserted rows inserted into $freed freed slots grew the index by $grown bytes" >&2
  exit 1
fi

# 5. VACUUM after the restart frees the slots of rows whose inserts never committed too, and
# later inserts reuse them.
"${PSQL[@]}" -c "DELETE FROM items WHERE id % 5 = 0"
"${PSQL[@]}" -c "VACUUM items"
"${PSQL[@]}" -c "INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM
    generate_series(1, 8))::ruvector FROM generate_series(1, 500) g"
verify "after VACUUM and inserts after the restart"
