#!/usr/bin/env bash
# Runs a command against a throwaway cluster (see cluster.sh) and always stops it after.
# On failure the server log's tail is printed, since the cause is often only there.
set -uo pipefail
source "$(dirname "$0")/cluster.sh"
cluster_start || exit 1
trap cluster_stop EXIT
"$@"
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "---- server log (tail) ----" >&2
  tail -n 40 "$CLUSTER_DIR/server.log" >&2
fi
exit $rc
