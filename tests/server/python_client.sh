#!/usr/bin/env bash
# The Python client (clients/python) against a throwaway cluster, with Debian's
# python3-psycopg, python3-asyncpg and python3-numpy; the A2A part follows a task sent to
# tests/a2a/hostile_peer.py's /flaky agent (two 503s, then completed).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
PY=/usr/bin/python3
if ! "$PY" -c "import psycopg, asyncpg, numpy" 2>/dev/null; then
  echo "python_client: needs python3-psycopg, python3-asyncpg and python3-numpy (make deps)" >&2
  exit 1
fi
WORK=$(mktemp -d /tmp/ruvector-py.XXXXXX)
"$PY" tests/a2a/hostile_peer.py 0 >"$WORK/peer.out" 2>&1 &
PEER=$!
trap 'kill $PEER 2>/dev/null || true; cluster_stop; rm -rf "$WORK"' EXIT
cluster_start "a2a.allowed_hosts = '127.0.0.1'" "a2a.retry_backoff = 50"
for _ in $(seq 50); do [[ -s "$WORK/peer.out" ]] && break; sleep 0.1; done
psql -X -v ON_ERROR_STOP=1 -qtA -c "CREATE EXTENSION ruvector" \
  -c "SELECT a2a.register_agent('flaky', 'http://127.0.0.1:$(awk '{print $2}' "$WORK/peer.out")/flaky')" >/dev/null
# From clients/python: the repository root holds ruvector.so, which Python would import.
cd clients/python
A2A_AGENT=flaky "$PY" -m unittest discover -s tests -v
