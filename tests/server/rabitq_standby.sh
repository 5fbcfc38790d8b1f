#!/usr/bin/env bash
# rabitq on a streaming standby: the index is built (with a parallel worker), extended by
# inserts, thinned by DELETE + VACUUM on the primary (then repacked by VACUUM, and refilled
# from its free pages), and the standby's copy (WAL replay of GenericXLog records) must
# answer exactly as its own sequential scan and as the primary does.
# RABITQ_BITS=n builds the indexes with bits = n (extended RaBitQ codes).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start "wal_level = replica" "max_wal_senders = 4" "hot_standby = on"
STANDBY="$CLUSTER_DIR/standby"
STANDBY_PORT=""
stop_all() {
  [[ -d "$STANDBY" ]] && cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$STANDBY" -m immediate -w stop >/dev/null 2>&1
  cluster_stop
}
trap stop_all EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
"${PSQL[@]}" -c "CREATE EXTENSION ruvector"
"${PSQL[@]}" -f tests/server/rabitq_census.sql >/dev/null
cluster_as_owner "$PG_BINDIR/pg_basebackup" -D "$STANDBY" -R -X stream -h "$PGHOST" -p "$PGPORT" -U postgres
STANDBY_PORT=$((PGPORT + 1))
while (exec 3<>"/dev/tcp/127.0.0.1/$STANDBY_PORT") 2>/dev/null || [[ -e "$CLUSTER_DIR/.s.PGSQL.$STANDBY_PORT" ]]; do
  STANDBY_PORT=$((STANDBY_PORT + 1))
done
echo "port = $STANDBY_PORT" >>"$STANDBY/postgresql.conf"
cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$STANDBY" -l "$CLUSTER_DIR/standby.log" -w -t 60 start >/dev/null
SB=(psql -X -v ON_ERROR_STOP=1 -qtA -p "$STANDBY_PORT")

for t in items items_heap; do
  opts=$([[ $t == items_heap ]] && echo ", rerank_from_heap = true" || true)
  opts+=${RABITQ_BITS:+, bits = $RABITQ_BITS}
  "${PSQL[@]}" <<SQL
CREATE TABLE $t (id int PRIMARY KEY, v ruvector(24));
INSERT INTO $t SELECT g, array(SELECT sin(g * 0.37 + d) * 10 + (g % 17) FROM generate_series(1, 24) d)::ruvector
FROM generate_series(1, 3000) g;
-- Built by a parallel worker (the table is too small for Postgres to plan one by itself).
ALTER TABLE $t SET (parallel_workers = 1);
CREATE INDEX ${t}_v ON $t USING rabitq (v) WITH (lists = 16$opts);
INSERT INTO $t SELECT g, array(SELECT cos(g * 0.11 + d) * 10 + (g % 13) FROM generate_series(1, 24) d)::ruvector
FROM generate_series(3001, 4000) g;
DELETE FROM $t WHERE id % 3 = 0;
VACUUM $t;
INSERT INTO $t SELECT g, array(SELECT sin(g * 0.05 + d) * 12 FROM generate_series(1, 24) d)::ruvector
FROM generate_series(4001, 4300) g;
-- Most rows deleted: VACUUM repacks the lists (under a lock the standby replays) and moves
-- their old pages to the free list, from which the inserts after take pages.
DELETE FROM $t WHERE id % 5 <> 0;
VACUUM $t;
INSERT INTO $t SELECT g, array(SELECT cos(g * 0.07 + d) * 11 FROM generate_series(1, 24) d)::ruvector
FROM generate_series(4301, 5300) g;
SQL
done
lsn=$("${PSQL[@]}" -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 300); do
  [[ $("${SB[@]}" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'") == t ]] && break
  sleep 0.1
done
[[ $("${SB[@]}" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'") == t ]] || {
  echo "rabitq_standby: the standby did not catch up" >&2
  exit 1
}

# The same answer from the standby's index, its sequential scan, and the primary's index.
answers() {  # table psql...
  local t=$1
  shift
  "$@" <<SQL
SET enable_seqscan = off;
SET rabitq.probes = 1000;
SET rabitq.epsilon = 4.0;
SET rabitq.iterative_scan = strict_order;
SELECT string_agg(d::text, ',' ORDER BY g, n) FROM (
  SELECT g, n, d FROM generate_series(1, 10) g,
    LATERAL (SELECT row_number() OVER () AS n, v <-> array(SELECT (g * 3 + x) % 11 FROM generate_series(1, 24) x)::ruvector AS d
             FROM $t ORDER BY v <-> array(SELECT (g * 3 + x) % 11 FROM generate_series(1, 24) x)::ruvector LIMIT 10) s) t;
SQL
}
exact() {  # table psql...
  local t=$1
  shift
  "$@" <<SQL
SET enable_indexscan = off;
SELECT string_agg(d::text, ',' ORDER BY g, n) FROM (
  SELECT g, n, d FROM generate_series(1, 10) g,
    LATERAL (SELECT row_number() OVER (ORDER BY d) AS n, d FROM (SELECT v <-> array(SELECT (g * 3 + x) % 11 FROM generate_series(1, 24) x)::ruvector AS d
             FROM $t) a ORDER BY d LIMIT 10) s) t;
SQL
}
for t in items items_heap; do
  want=$(exact "$t" "${SB[@]}")
  [[ -n "$want" ]] || { echo "rabitq_standby: no exact answer" >&2; exit 1; }
  # answers() forces index scans; check that the standby can plan one (on a table this
  # small the planner's free choice flips with the code size, e.g. with bits > 1).
  [[ $("${SB[@]}" -c "SET enable_seqscan = off" -c "EXPLAIN (COSTS OFF) SELECT id FROM $t ORDER BY v <-> (SELECT v FROM $t LIMIT 1) LIMIT 3" |
    grep -c "Index Scan using ${t}_v") == 1 ]] || { echo "rabitq_standby: $t: the standby does not use the index" >&2; exit 1; }
  got_standby=$(answers "$t" "${SB[@]}")
  got_primary=$(answers "$t" "${PSQL[@]}")
  if [[ "$got_standby" != "$want" || "$got_primary" != "$want" ]]; then
    echo "rabitq_standby: $t: answers differ" >&2
    echo "exact:   ${want:0:300}" >&2
    echo "standby: ${got_standby:0:300}" >&2
    echo "primary: ${got_primary:0:300}" >&2
    exit 1
  fi
  echo "rabitq_standby: $t: standby index == standby seq scan == primary index ($(tr -cd , <<<"$want" | wc -c) distances): ok"
  # The standby's pages are where the primary's are: the repack and the free list replayed.
  census="SELECT * FROM rabitq_census('${t}_v')"
  pages_standby=$("${SB[@]}" -c "$census")
  pages_primary=$("${PSQL[@]}" -c "$census")
  IFS='|' read -r _ orphaned free counted lost twice mistyped _ <<<"$pages_standby"
  if [[ "$pages_standby" != "$pages_primary" || $free == 0 || $free != "$counted" ||
    "$orphaned$lost$twice$mistyped" != 0000 ]]; then
    echo "rabitq_standby: $t: pages (chains|orphaned|free|counted|lost|twice|mistyped|new) standby $pages_standby, primary $pages_primary" >&2
    exit 1
  fi
  echo "rabitq_standby: $t: pages (chains|orphaned|free|...) $pages_standby on both: ok"
done
