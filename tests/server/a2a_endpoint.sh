#!/usr/bin/env bash
# The database's own A2A endpoint (docs/a2a.md, "The A2A endpoint"), on loopback: off by
# default; with a2a.endpoint_port set, the official @a2a-js/sdk client (tests/a2a/peer)
# discovers the AgentCard and calls rulake.search, and the answer is byte-identical to the
# same query in SQL (ids and distances as text): the A2A decision record's acceptance test
# 1. Then wrong, revoked and expired tokens (401), an oversized and a too-deep request, a
# slow query canceled at a2a.endpoint_statement_timeout, a role without SELECT on the
# collection's table, a slow client that holds nobody else up, and who may mint tokens.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
source tests/server/lib/a2a.sh
a2a_test_start a2a_endpoint
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
q() { "${PSQL[@]}" -c "$1"; }

# --- off by default -------------------------------------------------------------------
cluster_start
expect "the endpoint is off by default" \
  "$(q "SELECT current_setting('a2a.endpoint_port') || ' ' || count(*) FROM pg_stat_activity
        WHERE backend_type = 'a2a endpoint'")" "0 0"
cluster_stop

# --- on, on a free loopback port --------------------------------------------------------
EP=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$EP/"
cluster_start "a2a.endpoint_port = $EP" "a2a.endpoint_statement_timeout = '1s'" \
  "a2a.endpoint_max_request_size = '16kB'" "a2a.endpoint_client_timeout = '2s'"
for _ in $(seq 100); do curl -sf "${BASE}.well-known/agent-card.json" >/dev/null && break; sleep 0.1; done
card=$(curl -sf -H 'A2A-Version: 1.0' "${BASE}.well-known/agent-card.json") || die "no AgentCard"
expect "the card advertises rulake.search at the listening address" \
  "$(jq -r '.skills[0].id + " " + .supportedInterfaces[0].url' <<<"$card")" "rulake.search $BASE"
expect "the endpoint listens on loopback only" \
  "$(grep -c "a2a endpoint listening on 127.0.0.1 port $EP" "$CLUSTER_DIR/server.log")" 1

q "CREATE EXTENSION ruvector"
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE TABLE docs (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO docs SELECT g, array(SELECT sin(g * d) FROM generate_series(1, 8) d)::ruvector
FROM generate_series(1, 500) g;
SELECT rulake.register('docs', 'table:public.docs(id, v)', 'fresh', '{"lists": 4, "probes": 4}');
CREATE ROLE alice LOGIN;
GRANT SELECT ON docs TO alice;
CREATE ROLE bob LOGIN;
SQL
ALICE=$(q "SELECT a2a.create_endpoint_token('alice', label => 'test')")
BOB=$(PGUSER=bob q "SELECT a2a.create_endpoint_token('bob')")
expect "a token is stored as its SHA-256 only" \
  "$(q "SELECT count(*) FROM a2a.endpoint_tokens
        WHERE token_hash = sha256(convert_to('$ALICE', 'UTF8')) AND role = 'alice'::regrole")" 1

# --- the SDK client ---------------------------------------------------------------------
# Without node or the npm registry, a hand-written client stands in (as a2a_dispatch.sh
# skips its SDK peer), so that everything but the SDK's own part is still checked.
set +e
peer_env=$(tests/a2a/start_peer.sh "$WORK/sdk")
rc=$?
set -e
if [[ $rc -eq 77 ]]; then
  echo "a2a_endpoint: SKIPPED the @a2a-js/sdk client (node/npm or the npm registry unavailable): using tests/a2a/endpoint_client.py"
  CLIENT="the stand-in client"
  sdk() { python3 tests/a2a/endpoint_client.py "$BASE" "$1" "$2"; }
else
  [[ $rc -eq 0 ]] || die "the SDK (tests/a2a/peer) did not install or start (rc $rc)"
  eval "$peer_env"
  kill "$PID" # only its node_modules are needed
  cp tests/a2a/peer/endpoint_client.mjs "$WORK/sdk/peer/"
  CLIENT="the SDK client"
  sdk() { node "$WORK/sdk/peer/endpoint_client.mjs" "$BASE" "$1" "$2"; }
fi

VEC='[0.5,-0.25,0.125,1,0,-1,0.75,0.3]'
out=$(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 10}")
expect "$CLIENT discovers the card" "$(jq -r '.skills | join(",")' <<<"$out")" "rulake.search"
remote=$(jq -r '.results[]? | .id + " " + .distance' <<<"$out")
local_rows=$(PGUSER=alice "${PSQL[@]}" -F ' ' -c "SELECT id, distance FROM rulake.search('docs', '$VEC', 10)")
[[ -n "$remote" && $(wc -l <<<"$remote") -eq 10 ]] || die "the call returned: $out"
[[ "$remote" == "$local_rows" ]] || die "endpoint and SQL differ:
$remote
---
$local_rows"
ok "$CLIENT's answer is byte-identical to rulake.search in SQL"

# --- tokens that do not open the door ---------------------------------------------------
expect "a wrong token is refused" \
  "$(sdk rva2a_wrong "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1}" | jq -r .error)" \
  "unauthenticated: the token is not valid, has expired or was revoked"
expect "no token: HTTP 401 with a challenge" \
  "$(curl -s -o /dev/null -D - -X POST -H 'Content-Type: application/json' -d '{}' "$BASE" |
    tr -d '\r' | grep -E '^(HTTP|WWW-Authenticate)' | paste -sd' ')" \
  'HTTP/1.1 401 Unauthorized WWW-Authenticate: Bearer realm="ruvector"'
T=$(q "SELECT a2a.create_endpoint_token('alice')")
q "UPDATE a2a.endpoint_tokens SET expires = now() - interval '1 s'
   WHERE token_hash = sha256(convert_to('$T', 'UTF8'))"
expect "an expired token is refused" \
  "$(sdk "$T" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1}" | jq -r '.error | startswith("unauthenticated")')" true
T=$(q "SELECT a2a.create_endpoint_token('alice')")
q "SELECT a2a.revoke_endpoint_token(id) FROM a2a.endpoint_tokens
   WHERE token_hash = sha256(convert_to('$T', 'UTF8'))" >/dev/null
expect "a revoked token is refused" \
  "$(sdk "$T" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1}" | jq -r '.error | startswith("unauthenticated")')" true
q "ALTER ROLE alice NOLOGIN"
expect "the token of a role that may not log in is refused" \
  "$(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1}" | jq -r '.error | startswith("unauthenticated")')" true
q "ALTER ROLE alice LOGIN"

# --- privileges and limits --------------------------------------------------------------
# ruLake hides a collection from a role that may not read its table; through the endpoint
# as in SQL. One whose owner lost SELECT on its table is refused with permission denied.
out=$(sdk "$BOB" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1}")
sql_err=$(PGUSER=bob "${PSQL[@]}" -c "SELECT * FROM rulake.search('docs', '$VEC', 1)" 2>&1 | head -1 | sed 's/^ERROR:  //' || true)
expect "a role without SELECT on the collection's table is refused as in SQL" \
  "$(jq -r '(.code | tostring) + " " + .error' <<<"$out")" "-32602 $sql_err"
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE TABLE secret (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO secret SELECT id, v FROM docs WHERE id <= 50;
GRANT SELECT, TRIGGER ON secret TO bob;
SET ROLE bob;
SELECT rulake.register('bobs', 'table:public.secret(id, v)', 'fresh', '{"lists": 2}');
RESET ROLE;
REVOKE SELECT ON secret FROM bob;
SQL
out=$(sdk "$BOB" "{\"collection\": \"bobs\", \"vector\": $VEC, \"k\": 1}")
expect "a role that lost SELECT on its collection's table gets the permission error" \
  "$(jq -r '(.code | tostring) + " " + .error' <<<"$out")" \
  '-32603 permission denied for rulake collection "bobs"'
big=$(python3 -c 'print("[" + ",".join(["0.123456789"] * 2000) + "]")')
out=$(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $big, \"k\": 1}")
[[ "$(jq -r .error <<<"$out")" == *"larger than 16384 bytes"* ]] || die "oversized: $out"
expect "a request over a2a.endpoint_max_request_size is refused with 413" \
  "$(head -c 20000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $ALICE" -H 'A2A-Version: 1.0' --data-binary @- "$BASE")" 413
# A client that asks "Expect: 100-continue" (curl does for large bodies) waits for it.
body=$(python3 -c 'import json, sys; print(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
  "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"data": {"collection": "docs",
  "vector": sys.argv[1] + " " * 2000, "k": 2}}]}}}))' "$VEC")
expect "a client that expects 100-continue is asked for its body, then answered" \
  "$(curl -sv -X POST -H "Authorization: Bearer $ALICE" -H 'A2A-Version: 1.0' \
    -H 'Content-Type: application/json' -H 'Expect: 100-continue' -d "$body" "$BASE" 2>&1 |
    grep -E '^< HTTP|"results"' | sed -E 's/.*"results": ?\[.*/results/' | tr -d '\r' | paste -sd' ')" \
  "< HTTP/1.1 100 Continue < HTTP/1.1 200 OK results"
deep=$(python3 -c 'print("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":" + "[" * 50 + "]" * 50 + "}")')
expect "a request nested too deep is refused" \
  "$(curl -s -X POST -H "Authorization: Bearer $ALICE" -H 'A2A-Version: 1.0' \
    -H 'Content-Type: application/json' -d "$deep" "$BASE" | jq -r '.error.data[0].reason')" \
  REQUEST_TOO_DEEP
expect "k past a2a.endpoint_max_k is refused" \
  "$(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1001}" | jq -r .code)" -32602
expect "no SQL text is taken" \
  "$(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1, \"query\": \"SELECT 1\"}" | jq -r .error)" \
  'the data part has an unknown member "query"'

# A search that waits for a lock is canceled at a2a.endpoint_statement_timeout (1 s).
"${PSQL[@]}" -c "BEGIN; LOCK TABLE rulake.collections IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT" \
  >/dev/null &
LOCKER=$!
PIDS+=("$LOCKER")
sleep 0.5
start=$(date +%s%N)
out=$(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 1}")
ms=$((($(date +%s%N) - start) / 1000000))
expect "a slow query is canceled at the timeout" "$(jq -r .error <<<"$out")" \
  "canceling statement due to statement timeout"
((ms >= 1000 && ms < 3300)) || die "the canceled call took $ms ms"
wait "$LOCKER"
[[ $(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 3}" | jq '.results | length') == 3 ]] ||
  die "the endpoint does not answer after a cancel"
ok "the endpoint answers again after the cancel (the call took $ms ms)"

# A client that sends half a request holds nobody up and is cut off with 408.
python3 - "$EP" >"$WORK/slow.out" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n")[0].decode())
PY
SLOW=$!
PIDS+=("$SLOW")
sleep 0.3
[[ $(sdk "$ALICE" "{\"collection\": \"docs\", \"vector\": $VEC, \"k\": 2}" | jq '.results | length') == 2 ]] ||
  die "a slow client held up another"
wait "$SLOW"
expect "a slow client does not hold up others and is cut off at a2a.endpoint_client_timeout" \
  "$(cat "$WORK/slow.out")" "HTTP/1.1 408 Request Timeout"

# --- who may mint and revoke -------------------------------------------------------------
err=$(PGUSER=bob "${PSQL[@]}" -c "SELECT a2a.create_endpoint_token('alice')" 2>&1 || true)
[[ "$err" == *'permission denied to create an A2A endpoint token for role "alice"'* ]] ||
  die "bob minted for alice: $err"
ok "a role may not mint a token for another role"
q "CREATE ROLE admin LOGIN; GRANT alice TO admin WITH ADMIN OPTION"
PGUSER=admin q "SELECT a2a.create_endpoint_token('alice')" >/dev/null
ok "a role with ADMIN OPTION may mint for the role"
err=$(PGUSER=admin "${PSQL[@]}" -c "SELECT a2a.create_endpoint_token('postgres')" 2>&1 || true)
[[ "$err" == *"permission denied"* ]] || die "minted for a superuser: $err"
ok "only a superuser mints for a superuser"
expect "a role sees the tokens it manages, not their hashes" \
  "$(PGUSER=bob q "SELECT count(*) FROM (SELECT id, role FROM a2a.endpoint_tokens) t")
$(PGUSER=bob "${PSQL[@]}" -c "SELECT token_hash FROM a2a.endpoint_tokens" 2>&1 | grep -c 'permission denied')" \
  "1
1"
bob_id=$(q "SELECT id FROM a2a.endpoint_tokens WHERE role = 'bob'::regrole")
err=$(PGUSER=alice "${PSQL[@]}" -c "SELECT a2a.revoke_endpoint_token($bob_id)" 2>&1 || true)
[[ "$err" == *"permission denied to revoke"* ]] || die "alice revoked bob's token: $err"
ok "a role may not revoke another role's token"
q "CREATE ROLE carol LOGIN"
q "SELECT a2a.create_endpoint_token('carol')" >/dev/null
q "DROP ROLE carol"
expect "DROP ROLE removes the role's tokens" \
  "$(q "SELECT count(*) FROM a2a.endpoint_tokens WHERE role::oid NOT IN (SELECT oid FROM pg_roles)")" 0
# The worker keeps its plans; a dropped and re-created extension is still found at once,
# and the tokens went with the old one.
"${PSQL[@]}" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP EXTENSION ruvector CASCADE;
CREATE EXTENSION ruvector;
CREATE TABLE again (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO again SELECT g, array(SELECT sin(g * d) FROM generate_series(1, 8) d)::ruvector
FROM generate_series(1, 500) g;
GRANT SELECT ON again TO alice;
SELECT rulake.register('again', 'table:public.again(id, v)', 'fresh', '{"lists": 2}');
SQL
expect "a token of the dropped extension is refused" \
  "$(sdk "$ALICE" "{\"collection\": \"again\", \"vector\": $VEC, \"k\": 1}" | jq -r '.error | startswith("unauthenticated")')" true
T=$(q "SELECT a2a.create_endpoint_token('alice')")
out=$(sdk "$T" "{\"collection\": \"again\", \"vector\": $VEC, \"k\": 3}")
[[ $(jq -c '[(.results | length), .error]' <<<"$out") == '[3,null]' ]] || die "after re-creating: $out"
ok "a re-created extension is served at once"
echo "a2a_endpoint: all ok"
