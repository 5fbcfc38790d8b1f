#!/usr/bin/env bash
# A damaged rabitq index gives an error, never a wild read. With the server stopped, one
# thing in the index file is damaged at a time (line pointers of code tuples, ex items and
# vector chunks, chain and item links, page types, the special space, the metapage: see
# tests/server/lib/rabitq_corrupt.py); then a search that reads every row, an insert and a
# VACUUM must each either succeed or fail with XX002 (index corrupted), the server must not
# crash, and after REINDEX the search must give the sequential scan's answer again.
# Each case starts from the same undamaged copy of the file.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
TEST=rabitq_corrupt
source tests/server/lib/rabitq_items.sh  # fail

"${PSQL[@]}" <<'SQL'
CREATE EXTENSION ruvector;
CREATE TABLE items (id bigserial PRIMARY KEY, v ruvector(8));
INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 8))::ruvector
FROM generate_series(1, 2000) g;
SQL
# Deleted rows leave tombstones (too few for VACUUM to repack a list): inserts into a list
# then walk its code chain for one to reuse, and read the old row's vector and ex item.
"${PSQL[@]}" <<'SQL'
CREATE INDEX items_v ON items USING rabitq (v) WITH (lists = 4, bits = 3, rerank_from_heap = false);
DELETE FROM items WHERE id % 10 = 0;
VACUUM items;
SQL
# The truth, from the table alone.
QUERY="'[5,5,5,5,5,5,5,5]'"
TRUTH=$("${PSQL[@]}" -c "SET enable_indexscan = off; SET enable_bitmapscan = off;
  SELECT array_agg(round(d::numeric, 4) ORDER BY d)
  FROM (SELECT d FROM (SELECT v <-> $QUERY AS d FROM items OFFSET 0) s ORDER BY d LIMIT 10) t" |
  tail -1)

# Every probe, every candidate refined and reranked: the scan reads each code tuple, ex
# item and vector of the index.
SEARCH="SET enable_seqscan = off; SET rabitq.probes = 1000; SET rabitq.epsilon = 4.0;
  SET rabitq.iterative_scan = relaxed_order; SET rabitq.max_scan_tuples = 100000000;
  SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> $QUERY LIMIT 100000) s;
  SET rabitq.iterative_scan = strict_order;
  SELECT array_agg(round(d::numeric, 4) ORDER BY d) FROM
    (SELECT v <-> $QUERY AS d FROM items ORDER BY v <-> $QUERY LIMIT 10) s"
INSERT="BEGIN; INSERT INTO items (v) SELECT array(SELECT random() * 10 + 0 * g
  FROM generate_series(1, 8))::ruvector FROM generate_series(1, 40) g; ROLLBACK"
# The rolled-back rows are dead: VACUUM walks every code chain to remove them.
VACUUM="VACUUM (INDEX_CLEANUP ON) items"

answer() {
  local out
  out=$("${PSQL[@]}" -c "$SEARCH" | tail -1)
  [[ "$out" == "$TRUTH" ]] || fail "$1: index answer $out, sequential scan $TRUTH"
}
answer "before any damage"

stop_server() { cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; }
start_server() {
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w -t 60 \
    start >/dev/null
}
index_file() { echo "$PGDATA/$("${PSQL[@]}" -c "SELECT pg_relation_filepath('items_v')")"; }

file=$(index_file)
stop_server
pristine="$CLUSTER_DIR/items_v.pristine"
cp "$file" "$pristine"
start_server

# Runs one statement; prints ok, or the SQLSTATE of its error.
outcome() {
  local err
  if err=$(psql -X -qtA -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" 2>&1 >/dev/null); then
    echo ok
  else
    grep -o 'ERROR:  [0-9A-Z]\{5\}' <<<"$err" | head -1 | cut -c9- || echo "none: $err"
  fi
}

cases=(code_lp_offset code_lp_length code_lp_unused code_lp_overlap code_page_type code_link_past_end
  code_link_cycle code_link_to_meta vector_ref_past_end ex_ref_offset ex_ref_to_code_page
  ex_lp_offset chunk_lp_length chunk_count chunk_link_past_end vector_page_type special_offset
  meta_magic meta_dim meta_lists meta_directory meta_centroids_to_codes directory_head_past_end)
for c in "${cases[@]}"; do
  file=$(index_file)
  stop_server
  cp "$pristine" "$file"
  python3 tests/server/lib/rabitq_corrupt.py "$file" "$c"
  start_server
  search=$(outcome "$SEARCH")
  insert=$(outcome "$INSERT")
  vacuum=$(outcome "$VACUUM")
  for o in "$search" "$insert" "$vacuum"; do
    [[ "$o" == ok || "$o" == XX002 ]] || fail "$c: search $search, insert $insert, vacuum $vacuum"
  done
  if grep -q "terminated by signal" "$CLUSTER_DIR/server.log"; then
    fail "$c: the server crashed: $(grep 'terminated by signal' "$CLUSTER_DIR/server.log")"
  fi
  [[ "$search" == XX002 ]] || fail "$c: the search read the damage without an error"
  "${PSQL[@]}" -c "REINDEX INDEX items_v"
  answer "$c: after REINDEX"
  echo "$TEST: $c: search $search, insert $insert, vacuum $vacuum; REINDEX recovers"
done

# An index of 256 lists over 128 dimensions stores its centroids' subspace, which orders
# the probes: a metapage that places it wrongly must be reported as well.
"${PSQL[@]}" <<'SQL'
CREATE TABLE wide (id bigserial PRIMARY KEY, v ruvector(128));
INSERT INTO wide (v) SELECT array(SELECT random() * 10 + 0 * g FROM generate_series(1, 128))::ruvector
FROM generate_series(1, 3000) g;
CREATE INDEX wide_v ON wide USING rabitq (v) WITH (lists = 256);
SQL
WIDE_QUERY="(SELECT v FROM wide WHERE id = 7)"
WIDE_SEARCH="SET enable_seqscan = off; SET rabitq.probes = 300;
  SELECT array_agg(id ORDER BY d, id) FROM
    (SELECT id, v <-> $WIDE_QUERY AS d FROM wide ORDER BY v <-> $WIDE_QUERY LIMIT 10) s"
WIDE_TRUTH=$("${PSQL[@]}" -c "SET enable_indexscan = off; SET enable_bitmapscan = off;
  SELECT array_agg(id ORDER BY d, id) FROM
    (SELECT id, v <-> $WIDE_QUERY AS d FROM wide ORDER BY v <-> $WIDE_QUERY LIMIT 10) s" |
  tail -1)
wide_file() { echo "$PGDATA/$("${PSQL[@]}" -c "SELECT pg_relation_filepath('wide_v')")"; }
file=$(wide_file)
stop_server
cp "$file" "$CLUSTER_DIR/wide_v.pristine"
start_server
wide_cases=(meta_projection_past_end meta_projection_to_codes meta_projection_rank)
for c in "${wide_cases[@]}"; do
  file=$(wide_file)
  stop_server
  cp "$CLUSTER_DIR/wide_v.pristine" "$file"
  python3 tests/server/lib/rabitq_corrupt.py "$file" "$c"
  start_server
  search=$(outcome "$WIDE_SEARCH")
  [[ "$search" == XX002 ]] || fail "$c: the search gave $search, not XX002"
  if grep -q "terminated by signal" "$CLUSTER_DIR/server.log"; then
    fail "$c: the server crashed: $(grep 'terminated by signal' "$CLUSTER_DIR/server.log")"
  fi
  "${PSQL[@]}" -c "REINDEX INDEX wide_v"
  out=$("${PSQL[@]}" -c "$WIDE_SEARCH" | tail -1)
  [[ "$out" == "$WIDE_TRUTH" ]] || fail "$c: after REINDEX $out, sequential scan $WIDE_TRUTH"
  echo "$TEST: $c: search $search; REINDEX recovers"
done
echo "$TEST: ok ($((${#cases[@]} + ${#wide_cases[@]})) cases)"
