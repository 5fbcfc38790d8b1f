#!/usr/bin/env bash
# The hostile-input corpus against every parser the extension owns, through the server as
# a user reaches it: vector text and binary, bundle sidecars, AgentCards with signatures,
# JSON-RPC answers, SSE events, options and messages, and a task row the worker reads.
# Deep nesting, huge numbers, NUL escapes, wrong types and truncation must each end in a
# clean error (or a failed task naming the reason); no process may die on a signal. Last,
# a task that kills the dispatch worker while in flight fails after two restarts instead
# of crashing it forever.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
source tests/server/lib/hostile_peer.sh
WORK=$(mktemp -d /tmp/ruvector-hostile.XXXXXX)
chmod 755 "$WORK"
start_hostile_peer "$WORK"
SERVER_PIDS+=("$PEER_PID")
rulake_cluster_start hostile_input "a2a.allowed_hosts = '127.0.0.1'" "a2a.poll_interval = 100" \
  "a2a.retry_backoff = 100"
trap 'stop_all; rm -rf "$WORK"' EXIT
q() { "${PSQL[@]}" -c "$1"; }
ok() { echo "hostile_input: $1: ok"; }
# clean_error WHAT SQL PATTERN: the statement fails with an error matching PATTERN and the
# server is still up.
clean_error() {
  local out
  if out=$("${PSQL[@]}" -c "$2" 2>&1); then fail "$1 was accepted: $out"; fi
  [[ "$out" == *ERROR:*$3* ]] || fail "$1: expected an error with '$3', got: ${out:0:400}"
  q "SELECT 1" >/dev/null || fail "$1: the server is down"
  ok "$1"
}
crashed() { grep -E "terminated by signal (1[01]|6|7|4|8)" "$CLUSTER_DIR/server.log" || true; }
DEEP=300000
deep() { python3 -c "import sys; n=int(sys.argv[1]); print('[' * n + ']' * n, end='')" "$1"; }

with_bundle_root
"${PSQL[@]}" >/dev/null <<SQL
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(4));
INSERT INTO items SELECT g, array[g, g % 7, sin(g), 1]::ruvector FROM generate_series(1, 200) g;
SELECT rulake.register('items', 'table:public.items(id, v)');
SELECT rulake.publish_bundle('items', 'good');
SQL

# --- vector text ----------------------------------------------------------------------
clean_error "text: nested brackets" "SELECT '$(deep 1000)'::ruvector" "invalid input syntax"
clean_error "text: 1e400" "SELECT '[1e400]'::ruvector" "out of range"
clean_error "text: truncated" "SELECT '[1,2'::ruvector" "invalid input syntax"
clean_error "text: an object" "SELECT '{\"a\": 1}'::ruvector" "invalid input syntax"
clean_error "text: NUL escape" "SELECT '[1,\\u0000]'::ruvector" "invalid input syntax"

# --- vector binary --------------------------------------------------------------------
binary_error() {  # binary_error WHAT HEX PATTERN
  local f="$WORK/$RANDOM.copy"
  python3 - "$1" "$2" "$f" <<'PY'
import struct, sys
payload = bytes.fromhex(sys.argv[2])
out = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
out += struct.pack(">h", 1) + struct.pack(">i", len(payload)) + payload + struct.pack(">h", -1)
open(sys.argv[3], "wb").write(out)
PY
  chmod 644 "$f"
  clean_error "$1" "CREATE TEMP TABLE t (v ruvector); COPY t FROM '$f' WITH (FORMAT binary)" "$3"
}
binary_error "binary: dimension -1" "ffff00003f800000" "negative dimension"
binary_error "binary: dimension 32767" "7fff00003f800000" "more than 16000"
binary_error "binary: truncated values" "000400003f800000" "bytes of values"
binary_error "binary: NaN" "000100007fc00000" "NaN"

# --- bundle sidecars ------------------------------------------------------------------
sidecar_error() {  # sidecar_error WHAT JSON-FILE-CONTENT PATTERN
  local dir="$BUNDLES/bad_$RANDOM"
  cluster_as_owner mkdir -p "$dir"
  cluster_as_owner cp "$BUNDLES/good/"vectors-*.rvb "$dir/"
  printf '%s' "$2" >"$WORK/sidecar.json"
  cluster_as_owner cp "$WORK/sidecar.json" "$dir/table.rulake.json"
  clean_error "$1 (verify)" "SELECT rulake.verify_bundle('$(basename "$dir")')" "$3"
  q "SELECT rulake.register('$(basename "$dir")', 'bundle:$(basename "$dir")', 'frozen')" >/dev/null
  clean_error "$1 (search)" "SELECT * FROM rulake.search('$(basename "$dir")', '[1,2,3,4]', 3)" "$3"
}
good=$(cat "$BUNDLES/good/table.rulake.json")
sidecar_error "sidecar: 20,000 levels deep" "{\"x\": $(deep 20000)}" "deeper than"
sidecar_error "sidecar: format_version 1e400" "${good/\"format_version\": 1/\"format_version\": 1e400}" "format_version"
sidecar_error "sidecar: dim -1e400" "${good/\"dim\": 4/\"dim\": -1e400}" "dim"
sidecar_error "sidecar: NUL in data_ref" "${good/\"data_ref\": \"/\"data_ref\": \"\\u0000}" "data_ref"
sidecar_error "sidecar: dim a string" "${good/\"dim\": 4/\"dim\": \"4\"}" "dim"
sidecar_error "sidecar: truncated" "${good:0:40}" "sidecar"

# --- options and messages (jsonb from SQL) ---------------------------------------------
d=$(deep 10000)
clean_error "message 10,000 levels deep" "SELECT a2a._normalize_message('{\"parts\": [{\"data\": {\"x\": $d}}]}')" "deeper than"
clean_error "register options nested" "SELECT rulake.register('o', 'table:public.items(id, v)', 'fresh', '{\"lists\": $d}')" "invalid input syntax for type integer"

# --- AgentCards -------------------------------------------------------------------------
clean_error "card: signatures and 300,000 levels" "SELECT a2a.register_agent('deepcard', '$PEER/deepcard')" "deeper than"

# --- JSON-RPC answers and SSE events: the task fails with the reason --------------------
task_fails() {  # task_fails AGENT PATTERN
  q "SELECT a2a.register_agent('$1', '$PEER/$1')" >/dev/null
  local id state reason
  id=$(q "SELECT a2a.send('$1', 'hello', '{\"timeout\": \"1 min\"}')")
  state=$(q "SELECT a2a.wait('$id', '20 s')->>'state'")
  reason=$(q "SELECT reason FROM a2a.tasks WHERE id = '$id'")
  [[ "$state" == failed && "$reason" == *$2* ]] || fail "$1: task $state: $reason"
  ok "answer from /$1 fails the task ($reason)"
}
task_fails deep "deeper than"
task_fails deepsse "deeper than"
task_fails nul "NUL"
task_fails badid "id"
task_fails bigheader "header"
clean_error "send options nested" "SELECT a2a.send('nul', 'x', '{\"timeout\": $d}')" "invalid input syntax for type interval"
# A task row whose stored message the worker cannot read (written by hand).
id=$(q "SELECT a2a.send('nul', 'x')")
q "UPDATE a2a.tasks SET message = '{\"x\": $d}', state = 'queued' WHERE id = '$id'" >/dev/null 2>&1 || true
state=$(q "SELECT a2a.wait('$id', '20 s')->>'state'")
[[ "$state" == failed ]] || fail "a stored task the worker cannot read: $state"
ok "a stored task row the worker cannot read fails"
# Any answer the worker cannot store fails its task at once with the reason (here a
# trigger refuses it; in the field, whatever jsonb or a constraint refuses).
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.kind = 'task' AND NEW.payload::text LIKE '%boom%' THEN RAISE EXCEPTION 'boom refused'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_boom BEFORE INSERT ON a2a.task_events FOR EACH ROW EXECUTE FUNCTION refuse_boom();
SQL
q "SELECT a2a.register_agent('echo', '$PEER/echo')" >/dev/null
id=$(q "SELECT a2a.send('echo', 'boom', '{\"timeout\": \"1 min\"}')")
state=$(q "SELECT a2a.wait('$id', '20 s')->>'state'")
reason=$(q "SELECT reason FROM a2a.tasks WHERE id = '$id'")
[[ "$state" == failed && "$reason" == *"could not store the agent's answer: boom refused"* ]] ||
  fail "an answer that cannot be stored: $state $reason"
q "DROP TRIGGER refuse_boom ON a2a.task_events" >/dev/null
ok "an answer the worker cannot store fails the task ($reason)"
[[ -z "$(crashed)" ]] || fail "a process crashed: $(crashed)"

# --- a task in flight when the worker dies is retried twice, then failed ----------------
q "SELECT a2a.register_agent('hang', '$PEER/hang')" >/dev/null
id=$(q "SELECT a2a.send('hang', 'x', '{\"timeout\": \"5 min\"}')")
worker_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'a2a dispatch worker'"; }
# Right after crash recovery the row still says 'sending' from before the kill; only once
# the new worker has counted the interruption and sent again is it this round's send.
sending_round() { q "SELECT state || ' ' || interruptions FROM a2a.tasks WHERE id = '$id'" 2>/dev/null; }
for round in 1 2 3; do
  for _ in $(seq 200); do
    [[ "$(sending_round)" == "sending $((round - 1))" ]] && break
    sleep 0.1
  done
  [[ "$(sending_round)" == "sending $((round - 1))" ]] || fail "round $round: $(sending_round)"
  pid=$(worker_pid)
  [[ -n "$pid" ]] || fail "no dispatch worker"
  kill -9 "$pid"
  # Crash recovery restarts every process; wait until the server answers again.
  for _ in $(seq 300); do q "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq 200); do
  [[ "$(q "SELECT state FROM a2a.tasks WHERE id = '$id'" 2>/dev/null)" == failed ]] && break
  sleep 0.1
done
reason=$(q "SELECT reason FROM a2a.tasks WHERE id = '$id'")
[[ "$reason" == *"dispatch worker stopped while sending"* ]] || fail "after three worker stops: $reason"
restarts=$(grep -c "a2a dispatch worker.*terminated by signal 9" "$CLUSTER_DIR/server.log" || true)
[[ "$restarts" == 3 ]] || fail "expected 3 worker kills in the log, saw $restarts"
ok "a task in flight at three worker stops fails ($reason)"
[[ -z "$(crashed)" ]] || fail "a process crashed: $(crashed)"
echo "hostile_input: ok"
