#!/usr/bin/env bash
# Regenerate the captured-exchange part of WIRE.md from a live peer:
#   tests/a2a/peer/capture_wire.sh > /tmp/captured.md
# Starts the peer with ../start_peer.sh, curls every example, stops it.
# Output is markdown; HTTP header lines have their CR removed (the wire
# uses CRLF for headers; bodies, SSE included, are copied byte for byte).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
wd=$(mktemp -d /tmp/a2a-wire.XXXXXX)
eval "$("$here/../start_peer.sh" "$wd")"
trap 'kill $PID 2>/dev/null; rm -rf "$wd"' EXIT
U=http://127.0.0.1:$PORT
NID=0

# Wrap stdin in a code fence (adding a final newline if the body lacks one).
fence() { echo '```'"${1:-}"; sed -e '$a\'; echo '```'; }

# card <title> <path> [A2A-Version]
card() {
  echo "### $1"; echo
  local h=(); [ -n "${3:-}" ] && h=(-H "A2A-Version: $3")
  if [ -n "${3:-}" ]; then echo "\`GET $2\` with header \`A2A-Version: $3\`"; else echo "\`GET $2\` (no A2A-Version header)"; fi; echo
  curl -s -i "${h[@]}" "$U$2" | tr -d '\r' | fence http
  echo
}

# rpc <title> <path> <version-or-empty> <body> [curl-extra...]
rpc() {
  local title=$1 path=$2 ver=$3 body=$4; shift 4
  echo "### $title"; echo
  NID=$((NID + 1)); body=${body//__ID__/$NID}   # sequential JSON-RPC ids
  if [ -n "$ver" ]; then echo "Request: \`POST $path\`, \`Content-Type: application/json\`, \`A2A-Version: $ver\`"
  else echo "Request: \`POST $path\`, \`Content-Type: application/json\`, no A2A-Version header"; fi; echo
  echo "$body" | fence json
  echo; echo "Response:"; echo
  local h=(-H 'Content-Type: application/json'); [ -n "$ver" ] && h+=(-H "A2A-Version: $ver")
  curl -s -i -N "$@" "${h[@]}" -X POST --data-binary "$body" "$U$path" > "$wd/last"
  tr -d '\r' < "$wd/last" | fence http
  echo
}

# Task id of the first task in the last response (v1.0 or v0.3 shape).
last_task_id() { grep -o '"id":"[0-9a-f-]\{36\}"' "$wd/last" | head -1 | cut -d'"' -f4; }

msg10() { # <messageId> <text> [extra params json]
  echo '{"jsonrpc":"2.0","id":'__ID__',"method":"'"$M"'","params":{"message":{"messageId":"'"$1"'","role":"ROLE_USER","parts":[{"text":"'"$2"'"}],"metadata":{"trace_id":"trace-1","depth":1}}'"${3:+,$3}"'}}'
}
msg03() {
  echo '{"jsonrpc":"2.0","id":'__ID__',"method":"'"$M"'","params":{"message":{"kind":"message","messageId":"'"$1"'","role":"user","parts":[{"kind":"text","text":"'"$2"'"}],"metadata":{"trace_id":"trace-1","depth":1}}'"${3:+,$3}"'}}'
}
byid() { echo '{"jsonrpc":"2.0","id":'__ID__',"method":"'"$1"'","params":{"id":"'"$2"'"}}'; }

echo "# Captured exchanges"; echo
echo "## Agent cards"; echo
card "echo card, v1.0" /echo/.well-known/agent-card.json 1.0
card "echo card, v0.3 shape (same URL, no header)" /echo/.well-known/agent-card.json
card "streamer card, v1.0" /streamer/.well-known/agent-card.json 1.0
card "signed card, v1.0" /signed/.well-known/agent-card.json 1.0
curl -s -H 'A2A-Version: 1.0' "$U/signed/.well-known/agent-card.json" > "$wd/signed.json"
echo "### signed card: JWKS written to \$PEER_JWKS_OUT, decoded signature, canonical payload"; echo
echo "JWKS file:"; echo; fence json < "$wd/jwks.json"; echo
(cd "$wd/peer" && node --input-type=module -e '
import fs from "node:fs"; import crypto from "node:crypto";
import { canonicalizeAgentCard, verifyAgentCardSignature } from "@a2a-js/sdk";
const [cardPath, jwksPath] = process.argv.slice(1);
const card = JSON.parse(fs.readFileSync(cardPath)); const jwk = JSON.parse(fs.readFileSync(jwksPath)).keys[0];
const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
const s = card.signatures[0]; const canon = canonicalizeAgentCard(card);
const input = s.protected + "." + Buffer.from(canon).toString("base64url");
const manual = crypto.verify("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s.signature, "base64url"));
let sdk = "VERIFIED"; try { await verifyAgentCardSignature(async () => key)(card); } catch (e) { sdk = "REJECTED: " + e.message; }
console.log("Protected header (base64url-decoded):\n\n```json\n" + Buffer.from(s.protected, "base64url") + "\n```\n");
console.log("Signature: " + Buffer.from(s.signature, "base64url").length + " bytes (raw R||S, base64url)\n");
console.log("Canonical payload = canonicalizeAgentCard(card) (the JWS payload is detached: signing input is `protected + \".\" + base64url(canonical)`):\n\n```json\n" + canon + "\n```\n");
console.log("Check: ES256 over `protected.base64url(canonical)` with the JWKS key: " + manual + "; SDK verifyAgentCardSignature: " + sdk + "\n");
' "$wd/signed.json" "$wd/jwks.json")
card "tampered card, v1.0 (description changed after signing)" /tampered/.well-known/agent-card.json 1.0

echo "## v1.0 (header A2A-Version: 1.0)"; echo
M=SendMessage
rpc "SendMessage to echo, blocking (default)" /echo 1.0 "$(msg10 msg-1001 hello)"
rpc "SendMessage to echo, non-blocking (configuration.returnImmediately)" /echo 1.0 "$(msg10 msg-1002 hello '"configuration":{"returnImmediately":true}')"
M=SendStreamingMessage
rpc "SendStreamingMessage to streamer (raw SSE)" /streamer 1.0 "$(msg10 msg-1003 go)"
rpc "SendStreamingMessage to failing (raw SSE)" /failing 1.0 "$(msg10 msg-1004 go)"
M=SendMessage
rpc "SendMessage to slow, non-blocking" /slow 1.0 "$(msg10 msg-1005 'take your time' '"configuration":{"returnImmediately":true}')"
tid=$(last_task_id); sleep 0.3
rpc "GetTask on slow (working)" /slow 1.0 "$(byid GetTask "$tid")"
rpc "CancelTask on slow" /slow 1.0 "$(byid CancelTask "$tid")"
rpc "CancelTask again on the already-completed echo task: not cancelable" /echo 1.0 \
  "$(byid CancelTask "$(curl -s -H 'Content-Type: application/json' -H 'A2A-Version: 1.0' -d "$(M=SendMessage msg10 msg-1006 x | sed s/__ID__/0/)" "$U/echo" | grep -o '"id":"[0-9a-f-]\{36\}"' | head -1 | cut -d'"' -f4)")"

echo "### SendStreamingMessage to slow, CancelTask from a second connection 0.5 s later (raw SSE of the first)"; echo
M=SendStreamingMessage; body=$(msg10 msg-1007 'take your time'); NID=$((NID + 1)); body=${body//__ID__/$NID}
echo "$body" | fence json; echo
curl -s -i -N -H 'Content-Type: application/json' -H 'A2A-Version: 1.0' --data-binary "$body" "$U/slow" > "$wd/slowsse" &
cpid=$!; sleep 0.5
tid=$(grep -o '"id":"[0-9a-f-]\{36\}"' "$wd/slowsse" | head -1 | cut -d'"' -f4)
curl -s -o /dev/null -H 'Content-Type: application/json' -H 'A2A-Version: 1.0' --data-binary "$(byid CancelTask "$tid" | sed s/__ID__/0/)" "$U/slow"
wait $cpid
tr -d '\r' < "$wd/slowsse" | fence http; echo

echo "## v0.3 (no A2A-Version header, v0.3 method names and shapes)"; echo
M=message/send
rpc "message/send to echo, blocking (default)" /echo "" "$(msg03 msg-0301 hello)"
rpc "message/send to echo, non-blocking (configuration.blocking=false)" /echo "" "$(msg03 msg-0302 hello '"configuration":{"blocking":false}')"
M=message/stream
rpc "message/stream to streamer (raw SSE)" /streamer "" "$(msg03 msg-0303 go)"
M=message/send
rpc "message/send to slow, non-blocking" /slow "" "$(msg03 msg-0304 'take your time' '"configuration":{"blocking":false}')"
tid=$(last_task_id); sleep 0.3
rpc "tasks/get on slow" /slow "" "$(byid tasks/get "$tid")"
rpc "tasks/cancel on slow" /slow "" "$(byid tasks/cancel "$tid")"

echo "## Errors"; echo
rpc "v1.0 GetTask, unknown id" /echo 1.0 "$(byid GetTask no-such-task)"
rpc "v0.3 tasks/get, unknown id" /echo "" "$(byid tasks/get no-such-task)"
M=SendStreamingMessage
rpc "v1.0 SendStreamingMessage to echo (streaming false in its card)" /echo 1.0 "$(msg10 msg-9001 x)"
rpc "unsupported version header A2A-Version: 2.0" /echo 2.0 "$(byid GetTask x)"
rpc "v0.3 method name sent with A2A-Version: 1.0" /echo 1.0 "$(byid tasks/get x)"
rpc "malformed JSON" /echo 1.0 '{"jsonrpc":'
