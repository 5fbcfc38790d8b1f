#!/usr/bin/env bash
# Start the A2A test peer (tests/a2a/peer/peer.mjs) for the A2A client tests.
#
#   eval "$(tests/a2a/start_peer.sh <workdir>)"   # sets PORT and PID
#   ...                                            # agents at http://127.0.0.1:$PORT/{echo,streamer,slow,failing,signed,tampered}
#   kill "$PID"
#
# Copies the peer into <workdir>/peer (never installs into the repo tree),
# runs `npm ci` there (skipped when the installed lock file is unchanged;
# npm's own cache makes a fresh install cheap), starts `node peer.mjs 0`
# with PEER_JWKS_OUT=<workdir>/jwks.json, waits up to 30 s for its
# "PORT <n>" line and prints PORT=<n> and PID=<pid> on stdout.
# Peer logs: <workdir>/peer.log.
#
# Exit 77 (skip) when node >= 20 / npm are missing or `npm ci` fails;
# exit 1 when the peer itself fails to start.
set -u

skip() { echo "start_peer.sh: SKIP: $*" >&2; exit 77; }
die() { echo "start_peer.sh: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: start_peer.sh <workdir>"
src=$(cd "$(dirname "$0")/peer" && pwd) || die "peer sources not found"
wd=$(mkdir -p "$1" && cd "$1" && pwd) || die "cannot create workdir $1"

command -v node >/dev/null 2>&1 || skip "node not found"
command -v npm >/dev/null 2>&1 || skip "npm not found"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || skip "node does not run"
[ "$major" -ge 20 ] 2>/dev/null || skip "node >= 20 required (have $(node -v))"

dst=$wd/peer
mkdir -p "$dst"
cp "$src/package.json" "$src/package-lock.json" "$src/peer.mjs" "$dst/" || die "copy failed"

stamp=$dst/node_modules/.ruvector-lock
if ! cmp -s "$dst/package-lock.json" "$stamp"; then
    if ! (cd "$dst" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) \
            >"$wd/npm-ci.log" 2>&1; then
        tail -n 20 "$wd/npm-ci.log" >&2
        skip "npm ci failed (log: $wd/npm-ci.log)"
    fi
    cp "$dst/package-lock.json" "$stamp"
fi

rm -f "$wd/jwks.json" "$wd/peer.out"
# stdin/stdout/stderr all redirected so that `$(start_peer.sh ...)` does not
# wait for the background peer.
(cd "$dst" && PEER_JWKS_OUT="$wd/jwks.json" exec node peer.mjs 0) \
    </dev/null >"$wd/peer.out" 2>"$wd/peer.log" &
pid=$!

for _ in $(seq 300); do
    port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$wd/peer.out" 2>/dev/null)
    if [ -n "$port" ]; then
        echo "PORT=$port"
        echo "PID=$pid"
        exit 0
    fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$wd/peer.log" >&2; die "peer exited before listening"; }
    sleep 0.1
done
kill "$pid" 2>/dev/null
tail -n 20 "$wd/peer.log" >&2
die "peer did not print its port within 30 s"
