# Starts tests/a2a/hostile_peer.py on 127.0.0.1 (a free port) for a server test: sets PEER
# (its base URL) and PEER_PID. Source it; kill "$PEER_PID" in the test's cleanup.
start_hostile_peer() {  # start_hostile_peer WORKDIR
  python3 tests/a2a/hostile_peer.py 0 >"$1/peer.out" 2>&1 &
  PEER_PID=$!
  for _ in $(seq 50); do [[ -s "$1/peer.out" ]] && break; sleep 0.1; done
  [[ -s "$1/peer.out" ]] || { echo "hostile_peer.py did not start" >&2; return 1; }
  PEER="http://127.0.0.1:$(awk '{print $2}' "$1/peer.out")"
}
