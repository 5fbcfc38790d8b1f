#!/usr/bin/env bash
# A2A dispatch end to end: a real peer on the official JavaScript SDK (@a2a-js/sdk,
# tests/a2a/peer) and misbehaving peers (tests/a2a/hostile_peer.py), a throwaway cluster
# with the dispatch worker. Checks v1.0 and v0.3, streaming with every update recorded and
# notified in order (asyncio listener), cancel, failure, signed and tampered cards,
# transactional send, budgets, depth, retries, hostile answers, a peer that is down, a
# server restart in the middle of a task, a witness part registered on the receiving side,
# a three-level delegation with its trace and trace budgets, and routing by skill.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
source tests/server/lib/a2a.sh
a2a_test_start a2a_dispatch

python3 tests/a2a/hostile_peer.py 0 >"$WORK/hostile.out" 2>&1 &
PIDS+=($!)
set +e
peer_env=$(tests/a2a/start_peer.sh "$WORK/sdk")
rc=$?
set -e
SDK=1
if [[ $rc -eq 77 ]]; then
  echo "a2a_dispatch: SKIPPED the @a2a-js/sdk peer (node/npm or the npm registry unavailable)"
  SDK=0
elif [[ $rc -ne 0 ]]; then
  die "the SDK peer did not start (rc $rc): $(tail -5 "$WORK/sdk/peer.log" 2>/dev/null)"
else
  eval "$peer_env"
  PIDS+=("$PID")
  SDK_URL="http://127.0.0.1:$PORT"
fi
for _ in $(seq 50); do [[ -s "$WORK/hostile.out" ]] && break; sleep 0.1; done
HOSTILE="http://127.0.0.1:$(awk '{print $2}' "$WORK/hostile.out")"

cluster_start "a2a.allowed_hosts = '127.0.0.1'" "a2a.poll_interval = 100" \
  "a2a.retry_backoff = 100" "a2a.max_events_per_task = 100"
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
q() { "${PSQL[@]}" -c "$1"; }
"${PSQL[@]}" -c "CREATE EXTENSION ruvector"

# --- misbehaving peers --------------------------------------------------------------
for a in flaky garbage huge endless; do q "SELECT a2a.register_agent('$a', '$HOSTILE/$a')" >/dev/null; done
err=$("${PSQL[@]}" -c "SELECT a2a.register_agent('r', '$HOSTILE/redirect')" 2>&1 || true)
[[ "$err" == *"302"*"not followed"* ]] || die "redirected card: $err"
ok "a card that redirects is refused"
err=$("${PSQL[@]}" -c "SELECT a2a.register_agent('x', 'http://elsewhere.example/')" 2>&1 || true)
[[ "$err" == *"not in a2a.allowed_hosts"* ]] || die "host check: $err"
ok "hosts outside a2a.allowed_hosts are refused"

f=$(q "SELECT a2a.send('flaky', 'hi')")
g=$(q "SELECT a2a.send('garbage', 'hi')")
h=$(q "SELECT a2a.send('huge', 'hi')")
e=$(q "SELECT a2a.send('endless', 'hi')")
expect "503 twice, then completed (retries with backoff)" \
  "$(q "SELECT a2a.wait('$f', '20 s')->>'state'") $(q "SELECT string_agg(kind, ',' ORDER BY seq) FROM a2a.task_events WHERE task_id = '$f'")" \
  "completed retry,retry,task"
expect "an answer that is not JSON fails the task" \
  "$(q "SELECT a2a.wait('$g', '20 s')->>'reason' LIKE '%not valid JSON%'")" t
expect "an endless answer stops at a2a.max_response_size" \
  "$(q "SELECT a2a.wait('$h', '20 s')->>'reason' LIKE '%larger than 1048576 bytes%'")" t
expect "an endless stream stops at a2a.max_events_per_task" \
  "$(q "SELECT a2a.wait('$e', '20 s')->>'reason' LIKE '%more than 100 updates%'")" t

# A peer that is down: retried, then failed with the reason.
q "SELECT a2a.register_agent('gone', '$HOSTILE/flaky')" >/dev/null
q "UPDATE a2a.agents SET rpc_url = 'http://127.0.0.1:1/' WHERE name = 'gone'"
d=$(q "SELECT a2a.send('gone', 'hi')")
r=$(q "SELECT a2a.wait('$d', '30 s')->>'reason'")
[[ "$r" == *"gave up after 4 attempts"* ]] || die "peer down: $r"
ok "a peer that is down fails the task after a2a.max_retries"

# Budgets and depth.
q "SELECT a2a.register_agent('limited', '$HOSTILE/flaky', '{\"max_per_minute\": 1}')" >/dev/null
q "SELECT a2a.send('limited', 'one')" >/dev/null
b=$(q "SELECT a2a.send('limited', 'two')" 2>/dev/null)
expect "a budget refusal fails the task with the reason" \
  "$(q "SELECT state || ': ' || reason FROM a2a.tasks WHERE id = '$b'" | cut -c1-42)" \
  "failed: budget exceeded: agent limited was"
err=$("${PSQL[@]}" -c "SELECT a2a.send('flaky', 'deep', '{\"depth\": 8}')" 2>&1 || true)
[[ "$err" == *"exceeds a2a.max_depth"* ]] || die "depth: $err"
ok "depth beyond a2a.max_depth is refused"
err=$("${PSQL[@]}" -c "SELECT a2a.send('flaky', '{\"parts\": []}'::jsonb)" 2>&1 || true)
[[ "$err" == *'"parts" must be a non-empty array'* ]] || die "bad message: $err"
ok "a malformed message is refused"

# Transactional: a rolled-back send is never sent.
n_before=$(q "SELECT count(*) FROM a2a.tasks")
q "BEGIN; SELECT a2a.send('flaky', 'never'); ROLLBACK;" >/dev/null
sleep 0.5
expect "a rolled-back send leaves nothing" "$(q "SELECT count(*) FROM a2a.tasks")" "$n_before"

if [[ $SDK -eq 1 ]]; then
  # --- the official SDK peer ----------------------------------------------------------
  q "INSERT INTO a2a.trusted_keys (kid, jwk) SELECT j->>'kid', j FROM
     jsonb_array_elements('$(cat "$WORK/sdk/jwks.json")'::jsonb->'keys') j"
  for a in echo streamer slow failing; do q "SELECT a2a.register_agent('$a', '$SDK_URL/$a')" >/dev/null; done
  expect "signed card verified" \
    "$(q "SELECT a2a.register_agent('signed', '$SDK_URL/signed', '{\"require_signed\": true}')->>'signed_by'")" \
    "ruvector-test-es256"
  err=$("${PSQL[@]}" -c "SELECT a2a.register_agent('tampered', '$SDK_URL/tampered')" 2>&1 || true)
  [[ "$err" == *"does not match the card"* ]] || die "tampered card: $err"
  ok "tampered card refused"
  err=$("${PSQL[@]}" -c "SELECT a2a.register_agent('unsigned', '$SDK_URL/echo', '{\"require_signed\": true}')" 2>&1 || true)
  [[ "$err" == *"has no trusted signature"* ]] || die "unsigned card: $err"
  ok "unsigned card refused when require_signed"

  t=$(q "SELECT a2a.send('echo', 'hello')")
  expect "echo (v1.0, send then poll)" \
    "$(q "SELECT a2a.wait('$t', '20 s')->>'state'") $(q "SELECT result #>> '{artifacts,0,parts,0,text}' FROM a2a.tasks WHERE id = '$t'")" \
    "completed echo: hello"
  expect "trace id and depth travel in the metadata" \
    "$(q "SELECT (result #>> '{metadata,trace_id}') = trace_id::text AND (result #>> '{metadata,depth}') = '1' FROM a2a.tasks WHERE id = '$t'")" t

  # v0.3: the same peer, registered as a v0.3 agent.
  q "SELECT a2a.register_agent('echo03', '$SDK_URL/echo')" >/dev/null
  q "UPDATE a2a.agents SET protocol_version = '0.3' WHERE name = 'echo03'"
  t=$(q "SELECT a2a.send('echo03', 'old')")
  expect "echo over v0.3" "$(q "SELECT a2a.wait('$t', '20 s')->>'state'")" completed

  # Streaming: every update, notified in order to an asyncio client.
  out=$(/usr/bin/python3 tests/a2a/listen_stream.py streamer go) || die "listener: $out"
  expect "streamer: every update notified in order" "$(echo "$out" | tr '\n' ' ')" \
    "1 submitted 2 working 3 working 4 working 5 working 6 completed "
  expect "streamer: the kinds recorded, in order" \
    "$(q "SELECT string_agg(kind, ',' ORDER BY e.seq) FROM a2a.task_events e JOIN a2a.tasks t ON t.id = e.task_id WHERE t.agent = 'streamer'")" \
    "task,status-update,artifact-update,status-update,artifact-update,status-update"
  expect "streamer: artifacts recorded" \
    "$(q "SELECT string_agg(payload #>> '{artifact,name}', ',' ORDER BY e.seq) FROM a2a.task_events e JOIN a2a.tasks t ON t.id = e.task_id WHERE t.agent = 'streamer' AND kind = 'artifact-update'")" \
    "part-1,part-2"

  # A bundle handed over by witness: the part is small whatever the bundle holds.
  mkdir -p "$CLUSTER_DIR/bundles" && chown postgres "$CLUSTER_DIR/bundles" 2>/dev/null || true
  q "CREATE TABLE docs (id bigint PRIMARY KEY, v ruvector(64));
     INSERT INTO docs SELECT g, array_fill(g::real, ARRAY[64])::ruvector FROM generate_series(1, 2000) g;
     SELECT rulake.register('docs', 'table:docs(id, v)', 'frozen')" >/dev/null
  part=$(q "SET rulake.bundle_root = '$CLUSTER_DIR/bundles';
            SELECT rulake.publish_bundle('docs', 'docs') IS NOT NULL;
            SELECT a2a.rulake_part('docs')" | tail -1)
  expect "a rulake_witness part is small and names the bundle" \
    "$(q "SELECT octet_length('$part') < 1000 AND ('$part'::jsonb #>> '{data,rulake_witness,dim}') = '64'")" t
  t=$(q "SELECT a2a.send('echo', jsonb_build_object('parts', jsonb_build_array(
          jsonb_build_object('text', 'memory'), '$part'::jsonb)))")
  expect "a task carrying the part completes" "$(q "SELECT a2a.wait('$t', '20 s')->>'state'")" completed

  expect "the part's bundle, checked against its witness, registers on the receiving side" \
    "$(q "SET rulake.bundle_root = '$CLUSTER_DIR/bundles';
          SELECT rulake.register_from_part('docs_received', '$part'::jsonb, 'frozen') IS NOT NULL;
          SELECT string_agg(id::text, ',' ORDER BY id) FROM rulake.search('docs_received', array_fill(7::real, ARRAY[64])::ruvector, 3)" | tail -1)" \
    "6,7,8"

  # A three-level delegation: a task, a subtask of it (parent_task), and one sent on
  # behalf of the peer's answer (inbound: the metadata the peer relayed back).
  a=$(q "SELECT a2a.send('echo', 'level 1')")
  q "SELECT a2a.wait('$a', '20 s')" >/dev/null
  b=$(q "SELECT a2a.send('echo', 'level 2', jsonb_build_object('parent_task', '$a'::uuid))")
  expect "level 2 completes, and the peer saw its parent" \
    "$(q "SELECT a2a.wait('$b', '20 s')->>'state'") $(q "SELECT result #>> '{metadata,parent_task}' = '$a' FROM a2a.tasks WHERE id = '$b'")" \
    "completed t"
  c=$(q "SELECT a2a.send('echo', 'level 3', jsonb_build_object('inbound', result->'metadata')) FROM a2a.tasks WHERE id = '$b'")
  expect "level 3 completes" "$(q "SELECT a2a.wait('$c', '20 s')->>'state'")" completed
  trace=$(q "SELECT trace_id FROM a2a.tasks WHERE id = '$a'")
  expect "a2a.trace: one tree, parent links local and remote, depth from the parent" \
    "$(q "SELECT string_agg(concat_ws(':', CASE task WHEN '$a' THEN 'a' WHEN '$b' THEN 'b' WHEN '$c' THEN 'c' END,
            CASE coalesce(parent_task::text, remote_parent) WHEN '$a' THEN 'a' WHEN '$b' THEN 'b' ELSE '-' END,
            (remote_parent IS NOT NULL)::text, depth, state), ' ') FROM a2a.trace('$trace')")" \
    "a:-:false:1:completed b:a:false:2:completed c:b:true:3:completed"
  err=$("${PSQL[@]}" -c "SET a2a.max_trace_tasks = 3; SELECT a2a.send('echo', 'level 4', '{\"parent_task\": \"$c\"}')" 2>&1 || true)
  [[ "$err" == *"already holds 3 tasks (a2a.max_trace_tasks)"* ]] || die "trace task cap: $err"
  ok "a trace past a2a.max_trace_tasks is refused"
  err=$("${PSQL[@]}" -c "SET a2a.max_trace_cost = 4; SELECT a2a.send('echo', 'level 4', '{\"parent_task\": \"$c\", \"cost\": 2}')" 2>&1 || true)
  [[ "$err" == *"has spent 3 of 4 cost units, this task costs 2 (a2a.max_trace_cost)"* ]] || die "trace cost cap: $err"
  ok "a trace past a2a.max_trace_cost is refused"

  # Routing by skill, as a plain login role that may use one agent only.
  expect "route: a skill picks the agent that offers it" "$(q "SELECT a2a.route('{\"skill\": \"echo\"}')")" echo
  q "CREATE ROLE a2a_router LOGIN; SELECT a2a.grant_agent('streamer', 'a2a_router')" >/dev/null
  RPSQL=(psql -X -v ON_ERROR_STOP=1 -qtA -U a2a_router)
  expect "route as a login role: among the agents it may use only" \
    "$("${RPSQL[@]}" -c "SELECT a2a.route('{\"tags\": [\"test\"], \"input_modes\": \"text/plain\"}')")" streamer
  t=$("${RPSQL[@]}" -c "SELECT a2a.send(a2a.route('{\"tags\": \"test\"}'), 'routed')")
  expect "a routed task completes" "$("${RPSQL[@]}" -c "SELECT a2a.wait('$t', '20 s')->>'state'")" completed
  err=$("${RPSQL[@]}" -c "SELECT a2a.route('{\"skill\": \"echo\"}')" 2>&1 || true)
  [[ "$err" == *'no agent you may use offers {"skill": "echo"}'* ]] || die "route without permission: $err"
  ok "route as a login role: an agent it may not use is never chosen"
  q "SELECT a2a.revoke_agent('streamer', 'a2a_router'); DELETE FROM a2a.tasks WHERE owner = 'a2a_router'::regrole;
     DROP ROLE a2a_router" >/dev/null

  t=$(q "SELECT a2a.send('failing', 'x')")
  expect "a failing agent's task fails with its message" \
    "$(q "SELECT a2a.wait('$t', '20 s')->>'state'"): $(q "SELECT reason FROM a2a.tasks WHERE id = '$t'")" \
    "failed: deliberate failure"

  t=$(q "SELECT a2a.send('slow', 'wait')")
  for _ in $(seq 100); do [[ $(q "SELECT state FROM a2a.tasks WHERE id = '$t'") == working ]] && break; sleep 0.1; done
  expect "cancel of a running task is asked of the peer" "$(q "SELECT a2a.cancel('$t')")" "cancel requested"
  expect "slow: canceled at the peer" "$(q "SELECT a2a.wait('$t', '20 s')->>'state'")" canceled

  t=$(q "SELECT a2a.send('slow', 'wait', '{\"timeout\": \"1 second\"}')")
  expect "a task past its deadline fails" \
    "$(q "SELECT a2a.wait('$t', '20 s')->>'reason'")" "timed out after 00:00:01"

  # Restart mid-task: the worker follows the peer's task again and records its end.
  t=$(q "SELECT a2a.send('slow', 'survive')")
  for _ in $(seq 100); do [[ $(q "SELECT state FROM a2a.tasks WHERE id = '$t'") == working ]] && break; sleep 0.1; done
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w start >/dev/null
  q "SELECT a2a.cancel('$t')" >/dev/null
  expect "after a crash the running task is followed and canceled" \
    "$(q "SELECT a2a.wait('$t', '20 s')->>'state'")" canceled
fi
echo "a2a_dispatch: all checks passed"
