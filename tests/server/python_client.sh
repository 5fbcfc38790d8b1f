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
mkdir "$WORK/bundles" && chmod 755 "$WORK"
[[ $(id -u) -ne 0 ]] || chown postgres "$WORK/bundles"
cluster_start "a2a.allowed_hosts = '127.0.0.1'" "a2a.retry_backoff = 50" "rulake.bundle_root = '$WORK/bundles'"
for _ in $(seq 50); do [[ -s "$WORK/peer.out" ]] && break; sleep 0.1; done
psql -X -v ON_ERROR_STOP=1 -qtA -c "CREATE EXTENSION ruvector" \
  -c "SELECT a2a.register_agent('flaky', 'http://127.0.0.1:$(awk '{print $2}' "$WORK/peer.out")/flaky')" \
  -c "SELECT a2a.register_agent('echo', 'http://127.0.0.1:$(awk '{print $2}' "$WORK/peer.out")/echo')" >/dev/null
# The package as a user installs it: a fresh venv that sees Debian's packages, no network.
"$PY" -m venv --system-site-packages "$WORK/venv"
start=$(date +%s%N)
cp -r clients/python "$WORK/src"  # setuptools writes build/ and *.egg-info beside the source
"$WORK/venv/bin/pip" install --quiet --no-index --no-build-isolation "$WORK/src"
echo "python_client: pip install took $((($(date +%s%N) - start) / 1000000)) ms"
# The tests run against the installed package, from outside the repository (its root
# holds ruvector.so, which Python would import).
tests=$PWD/clients/python/tests
cd "$WORK"
"$WORK/venv/bin/python" -c "import ruvector; assert ruvector.__file__.startswith('$WORK/venv'), ruvector.__file__"
A2A_AGENT=flaky A2A_ECHO=echo "$WORK/venv/bin/python" -m unittest discover -s "$tests" -v
