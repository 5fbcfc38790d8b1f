#!/usr/bin/env bash
# A2A with agents of the pre-0.3 draft (RuVector's Rust rvagent-a2a), against
# tests/a2a/draft_peer.py on loopback: the card detected as draft and its ed25519-hex
# signature checked against a2a.trusted_keys, send, stream, get (poll), cancel, the trace
# context (trace id, depth, visited agents) out to the peer and back in as inbound, a
# tampered card refused, and a v0.3 client's method answered "method not found" cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
source tests/server/lib/a2a.sh
a2a_test_start a2a_draft
field() {  # field a.b.0.c <<<JSON: a string as is, anything else as compact JSON, "" if absent
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in filter(None, sys.argv[1].split(".")):
    v = v[int(k)] if isinstance(v, list) and k.isdigit() and int(k) < len(v) else \
        v.get(k) if isinstance(v, dict) else None
print("" if v is None else v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1"
}

if ! python3 -c "import cryptography" 2>/dev/null; then
  echo "a2a_draft: SKIPPED (the peer signs its cards with python3-cryptography, not installed)"
  exit 0
fi
python3 tests/a2a/draft_peer.py 0 >"$WORK/peer.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [[ -s "$WORK/peer.out" ]] && break; sleep 0.1; done
read -r _ PORT _ KEY <"$WORK/peer.out" || die "the draft peer did not start: $(cat "$WORK/peer.out")"
PEER="http://127.0.0.1:$PORT"

cluster_start "a2a.allowed_hosts = '127.0.0.1'" "a2a.poll_interval = 100"
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
q() { "${PSQL[@]}" -c "$1"; }
q "CREATE EXTENSION ruvector"

# The peer's raw Ed25519 key, as a JWK (x is the key's bytes in base64url).
q "INSERT INTO a2a.trusted_keys (kid, jwk) VALUES ('rust-peer', jsonb_build_object('kty', 'OKP',
   'crv', 'Ed25519', 'x', rtrim(translate(encode(decode('$KEY', 'hex'), 'base64'), '+/', '-_'), '=')))"

reg=$(q "SELECT r->>'protocol_version' || ' ' || (r->>'signed_by') FROM a2a.register_agent('echo',
   '$PEER/echo', '{\"require_signed\": true}') r")
expect "card without protocolVersion at agent.json is the draft, signature trusted" "$reg" "draft rust-peer"
q "SELECT a2a.register_agent('stream', '$PEER/stream', '{\"require_signed\": true}')" >/dev/null
q "SELECT a2a.register_agent('slow', '$PEER/slow')" >/dev/null
q "SELECT a2a.register_agent('v03', '$PEER/v03')" >/dev/null
expect "a card claiming 0.3.0 stays v0.3" "$(q "SELECT protocol_version FROM a2a.agents WHERE name = 'v03'")" "0.3"

err=$("${PSQL[@]}" -c "SELECT a2a.register_agent('bad', '$PEER/tampered')" 2>&1 || true)
[[ "$err" == *"ed25519-hex signature by key \"rust-peer\" does not match the card"* ]] ||
  die "tampered card: $err"
ok "a tampered ed25519-hex card is refused"

# send: tasks/send, completed with the artifact; the peer saw parts tagged "type" and the
# context (hex trace id, depth).
t=$(q "SELECT a2a.send('echo', 'hello draft', '{\"depth\": 2}')")
res=$(q "SELECT (a2a.wait('$t', '20 seconds'))->>'state'")
expect "send completes" "$res" "completed"
expect "artifact text" "$(q "SELECT a2a.task('$t')->'result'->'artifacts'->0->'parts'->0->>'text'")" "echo: hello draft"
spec=$(curl -s "$PEER/last/echo")
trace=$(q "SELECT replace(trace_id::text, '-', '') FROM a2a.tasks WHERE id = '$t'")
expect "the peer got the task under our id" "$(field id <<<"$spec")" "$t"
expect "parts tagged type" "$(field message.parts.0.type <<<"$spec")" "text"
expect "context trace id" "$(field context.trace_id <<<"$spec")" "$trace"
expect "context depth" "$(field context.depth <<<"$spec")" "3"
expect "context in message metadata" "$(field message.metadata.ruvector.context.trace_id <<<"$spec")" "$trace"

# ...and back: the peer's context as inbound continues the trace one level deeper, and
# the next hop to a draft agent carries the visited agents on.
inbound=$(python3 -c 'import json, sys
ctx = dict(json.load(sys.stdin)["context"], current_agent="rust-b", visited_agents=["rust-a"])
print(json.dumps({"ruvector": {"context": ctx}}))' <<<"$spec")
t2=$(q "SELECT a2a.send('echo', 'hop', jsonb_build_object('inbound', '$inbound'::jsonb))")
expect "inbound trace" "$(q "SELECT replace(trace_id::text, '-', '') || ' ' || depth FROM a2a.tasks WHERE id = '$t2'")" "$trace 4"
expect "inbound finishes" "$(q "SELECT (a2a.wait('$t2', '20 seconds'))->>'state'")" "completed"
spec=$(curl -s "$PEER/last/echo")
expect "next hop depth" "$(field context.depth <<<"$spec")" "4"
expect "next hop visited agents" "$(field context.visited_agents <<<"$spec")" '["rust-a","rust-b"]'

# stream: subscribe, then tasks/sendSubscribe; every status recorded in order.
t=$(q "SELECT a2a.send('stream', 'streamed')")
expect "stream completes" "$(q "SELECT (a2a.wait('$t', '20 seconds'))->>'state'")" "completed"
states=$(q "SELECT string_agg(state, ',' ORDER BY seq) FROM a2a.task_events WHERE task_id = '$t' AND kind = 'status-update'")
expect "streamed states" "$states" "submitted,working"
expect "the send's answer ends it, with its artifacts" \
  "$(q "SELECT a2a.task('$t')->'result'->'artifacts'->0->'parts'->0->>'text'")" "echo: streamed"
expect "the streamed task reached the peer under our id" "$(curl -s "$PEER/last/stream" | field id)" "$t"

# cancel: tasks/cancel while tasks/send is in flight (the streamed "working" tells the worker
# the task is at the peer; a non-streaming draft task cannot be canceled before it answers).
t=$(q "SELECT a2a.send('slow', 'wait')")
for _ in $(seq 100); do
  [[ "$(curl -s "$PEER/last/slow" | field id)" == "$t" ]] && break
  sleep 0.1
done
expect "cancel requested" "$(q "SELECT a2a.cancel('$t')")" "cancel requested"
expect "canceled" "$(q "SELECT (a2a.wait('$t', '20 seconds'))->>'state'")" "canceled"

# A v0.3 client's message/send is answered "method not found": the task fails naming it.
t=$(q "SELECT a2a.send('v03', 'hi')")
expect "unknown method fails the task" "$(q "SELECT (a2a.wait('$t', '20 seconds'))->>'state'")" "failed"
reason=$(q "SELECT a2a.task('$t')->>'reason'")
[[ "$reason" == *"error -32600: method not found: message/send"* ]] || die "reason: $reason"
ok "unknown method answered cleanly"
echo "a2a_draft: all ok"
