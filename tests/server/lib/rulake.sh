# Shared by the ruLake server tests (source it after tools/cluster.sh's cluster_start; it
# names its messages after $TEST and uses PSQL).

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)

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
