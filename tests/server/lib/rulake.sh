# Shared by the ruLake server tests, sourced from the repository root. A test starts with
# rulake_cluster_start; on exit the cluster stops, and so do the processes the test added
# to SERVER_PIDS (its HTTP servers).

source tools/cluster.sh
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
SERVER_PIDS=()

stop_all() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  cluster_stop
}

# rulake_cluster_start TEST [postgresql.conf lines...]: messages are named after TEST.
rulake_cluster_start() {
  TEST=$1
  shift
  cluster_start "$@"
  trap stop_all EXIT
}

fail() {
  echo "$TEST: $*" >&2
  tail -20 "$CLUSTER_DIR/server.log" >&2
  exit 1
}

# wait_for SQL: polls (up to 20 s) until the query returns t.
wait_for() {
  for _ in $(seq 1 200); do
    [[ "$("${PSQL[@]}" -c "$1")" == t ]] && return 0
    sleep 0.1
  done
  return 1
}

# with_bundle_root: makes $PGDATA/bundles (BUNDLES) rulake.bundle_root, creates the
# extension, and waits until the postmaster has reloaded the setting for new sessions.
with_bundle_root() {
  BUNDLES="$PGDATA/bundles"
  cluster_as_owner mkdir -p "$BUNDLES"
  "${PSQL[@]}" >/dev/null <<SQL
ALTER SYSTEM SET rulake.bundle_root = '$BUNDLES';
SELECT pg_reload_conf();
CREATE EXTENSION ruvector;
SQL
  sleep 1.2
}

# items_collection OPTIONS: a table items of 5000 rows of 32 dimensions in 10 clusters,
# registered as the fresh collection `items` with the JSON OPTIONS.
items_collection() {
  "${PSQL[@]}" >/dev/null <<SQL
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(32));
INSERT INTO items SELECT g, array(SELECT (g % 10) + random() FROM generate_series(1, 32) d WHERE g > 0)::ruvector
FROM generate_series(1, 5000) g;
SELECT rulake.register('items', 'table:public.items(id, v)', 'fresh', '$1');
SQL
}

# six_collections: the extension and six fresh collections c1..c6 over tables t1..t6 of
# 10,000 rows of 64 dimensions, about 3 MB of image each: more than an 8 MB cache holds.
# search NAME: one search of collection NAME.
six_collections() {
  "${PSQL[@]}" -c "CREATE EXTENSION ruvector" >/dev/null
  for i in 1 2 3 4 5 6; do
    "${PSQL[@]}" >/dev/null <<SQL
CREATE TABLE t$i (id bigint PRIMARY KEY, v ruvector(64));
INSERT INTO t$i SELECT g, array(SELECT ((g * $i + d) % 17)::real FROM generate_series(1, 64) d)::ruvector
FROM generate_series(1, 10000) g;
ANALYZE t$i;
SELECT rulake.register('c$i', 'table:public.t$i(id, v)', 'fresh', '{"lists": 16}');
SQL
  done
}
search() { "${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('$1', array_fill(1, ARRAY[64])::ruvector, 5)" >/dev/null; }
