# Shared by the A2A server tests, sourced from the repository root after tools/cluster.sh:
# a2a_test_start NAME makes a work directory (WORK), a list of processes to stop (PIDS),
# stops them, the cluster and the directory on exit, and names the messages of ok, die
# and expect after NAME.

a2a_test_start() {
  A2A_TEST=$1
  WORK=$(mktemp -d "/tmp/ruvector-$1.XXXXXX")
  PIDS=()
  trap a2a_cleanup EXIT
}

a2a_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  cluster_stop
  rm -rf "$WORK"
}

ok() { echo "$A2A_TEST: $1: ok"; }
die() {
  echo "$A2A_TEST: $1" >&2
  [[ -n "${CLUSTER_DIR:-}" ]] && tail -20 "$CLUSTER_DIR/server.log" >&2
  exit 1
}
expect() {  # expect WHAT ACTUAL WANTED
  [[ "$2" == "$3" ]] || die "$1: got '$2', expected '$3'"
  ok "$1"
}
