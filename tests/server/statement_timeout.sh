#!/usr/bin/env bash
# statement_timeout cancels each long-running loop of ours within 100 ms of its deadline,
# with SQLSTATE 57014: a rabitq index scan probing every list (deadlines in its first probe
# batch and in its reranks), rulake.search_batch over a primed collection with many
# queries, and rulake.publish_bundle of a large table (deadline while the bundle is being
# written). The overshoot is measured in the server, from the statement's start to the
# handler that catches query_canceled, so a busy client machine does not count; after
# each cancel the session still answers, and a cancelled publish leaves the old bundle and
# no temp file.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start statement_timeout "shared_buffers = '512MB'" \
  "max_parallel_workers_per_gather = 0" "rulake.cache_size = '256MB'" \
  "rulake.max_prime_memory = '512MB'"
with_bundle_root
SLACK_MS=100

# big: 1M rows in 20 lists, a first probe batch of every list takes ~100 ms or more; the
# reranks of all of them take seconds. small: 200k rows for ruLake, every list probed.
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE TABLE big (id bigint PRIMARY KEY, v ruvector(32));
INSERT INTO big SELECT g, array(SELECT random() FROM generate_series(1, 32) d WHERE g > 0)::ruvector
FROM generate_series(1, 1000000) g;
CREATE INDEX big_v ON big USING rabitq (v) WITH (lists = 20);
CREATE TABLE small (id bigint PRIMARY KEY, v ruvector(32));
INSERT INTO small SELECT id, v FROM big WHERE id <= 200000;
VACUUM ANALYZE big, small;
SELECT rulake.register('small', 'table:public.small(id, v)', 'fresh', '{"lists": 8, "probes": 8}');
-- wide: for the publish, 200k rows of 160 dimensions (128 MB), few enough that reading
-- them through SPI takes less time than writing, digesting and syncing the bundle.
CREATE TABLE wide (id bigint PRIMARY KEY, v ruvector(160));
INSERT INTO wide SELECT g, array_fill((g % 1000)::real, ARRAY[160])::ruvector
FROM generate_series(1, 200000) g;
-- Hint bits set now, so that the first publish (which times the phases) reads the table
-- as fast as the second.
VACUUM wide;
SELECT rulake.register('wide', 'table:public.wide(id, v)', 'fresh', '{"lists": 8}');

-- Milliseconds from the statement's start (when statement_timeout started counting) to
-- the cancel of `stmt`, minus the timeout; NULL if it ended first. Any other error
-- propagates: the cancel must come back as query_canceled (57014).
CREATE FUNCTION overshoot(stmt text) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN NULL;
EXCEPTION WHEN query_canceled THEN
  RETURN extract(epoch FROM clock_timestamp() - statement_timestamp()
                 - current_setting('statement_timeout')::interval) * 1000;
END $$;
-- Milliseconds `stmt` takes, uncancelled.
CREATE FUNCTION took(stmt text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  EXECUTE stmt;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
SQL
Q="array_fill(0.5, ARRAY[32])::ruvector"
SCAN="SET rabitq.probes = 20; SET rabitq.iterative_scan = relaxed_order;
      SET rabitq.max_scan_tuples = 100000000; SET enable_seqscan = off;"

# cancelled WHAT TIMEOUT_MS SETUP STATEMENT [CHECK]: STATEMENT, after SETUP, under
# statement_timeout must be cancelled with 57014 within SLACK_MS of its deadline; then
# CHECK, in the same session, must return t.
cancelled() {
  local what=$1 timeout=$2 setup=$3 stmt=$4 check=${5:-SELECT true} out over
  out=$("${PSQL[@]}" -c "$setup" -c "SET statement_timeout = '${timeout}ms'" \
    -c "SELECT coalesce(round(overshoot(\$s\$$stmt\$s\$)::numeric, 1)::text, 'none')" \
    -c "RESET statement_timeout" -c "$check" 2>&1) || fail "$what: $out"
  over=$(sed -n 1p <<<"$out")
  [[ "$over" != none ]] || fail "$what ended before its ${timeout} ms deadline: make it larger"
  [[ "$(sed -n 2p <<<"$out")" == t ]] || fail "$what: the session's next query failed: $out"
  awk -v o="$over" -v s="$SLACK_MS" 'BEGIN { exit !(o <= s) }' ||
    fail "$what was cancelled $over ms after its ${timeout} ms deadline (more than $SLACK_MS)"
  echo "statement_timeout: $what cancelled $over ms after its ${timeout} ms deadline: ok"
}

# 1. The index scan: a deadline early in its first probe batch (every list, before
#    the first row), then one among the reranks of a scan that wants every row.
first=$("${PSQL[@]}" -c "$SCAN" -c "SELECT round(took(\$s\$SELECT id FROM big ORDER BY v <-> $Q LIMIT 1\$s\$))")
first=$(tail -1 <<<"$first")
echo "statement_timeout: the first probe batch takes $first ms"
NEAREST="SELECT count(*) = 5 FROM (SELECT id FROM big ORDER BY v <-> $Q LIMIT 5) s"
cancelled "rabitq scan (first probe batch)" $((first / 10 > 5 ? first / 10 : 5)) "$SCAN" \
  "SELECT id FROM big ORDER BY v <-> $Q LIMIT 1" "$NEAREST"
cancelled "rabitq scan (reranks)" 1500 "$SCAN" \
  "SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> $Q LIMIT 1000000) s" "$NEAREST"

# 2. ruLake: 2000 queries over every list of 200k rows (primed by the first search).
"${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('small', $Q, 5)" >/dev/null
cancelled "rulake.search_batch" 1500 "SET application_name = st" \
  "SELECT count(*) FROM rulake.search_batch('small', array(SELECT v FROM small WHERE id <= 2000), 10)" \
  "SELECT count(*) = 5 FROM rulake.search('small', $Q, 5)"

# 3. A publish of 200k × 160 floats, cancelled while it writes the bundle. Reading the
#    rows through SPI comes first and its time varies on a busy machine, so each attempt
#    times an uncancelled publish (the first one is the old bundle) to place the deadline a
#    quarter into the writing, and only a cancel that came while a temp file was there
#    counts; up to 4 attempts.
# timed_publish [TIMEOUT_MS]: sets WRITING (ms until a temp file appeared, or empty),
# TOTAL (ms) and OUT (psql's output).
timed_publish() {
  local start file=$CLUSTER_DIR/publish.out
  start=$(date +%s%N)
  "${PSQL[@]}" -c "SET statement_timeout = '${1:-0}ms'" \
    -c "SELECT coalesce(round(overshoot(\$s\$SELECT rulake.publish_bundle('wide', 'b')\$s\$)::numeric, 1)::text, 'none')" \
    -c "RESET statement_timeout" -c "SELECT rulake.verify_bundle('b')->>'rvf_witness'" \
    >"$file" 2>&1 &
  local publisher=$!
  WRITING=""
  while kill -0 "$publisher" 2>/dev/null; do
    if [[ -z "$WRITING" ]] && ls "$BUNDLES/b" 2>/dev/null | grep -q '\.tmp\.'; then
      WRITING=$((($(date +%s%N) - start) / 1000000))
    fi
    sleep 0.005
  done
  wait "$publisher" || fail "publish: $(cat "$file")"
  TOTAL=$((($(date +%s%N) - start) / 1000000))
  OUT=$(cat "$file")
}
timed_publish
old=$(sed -n 2p <<<"$OUT")
done_publish=""
for attempt in 1 2 3 4; do
  # Each attempt times an uncancelled publish first: after an attempt cancelled before it
  # wrote, the last timing is that attempt's, with no writing seen.
  [[ $attempt == 1 ]] || timed_publish
  [[ -n "$WRITING" ]] || fail "the publish was too quick to see it write"
  deadline=$((WRITING + (TOTAL - WRITING) / 4))
  echo "statement_timeout: a publish wrote from $WRITING ms to $TOTAL ms; deadline $deadline ms"
  timed_publish "$deadline"
  over=$(sed -n 1p <<<"$OUT")
  if [[ "$over" == none || -z "$WRITING" ]]; then
    continue  # it ended first, or was cancelled before writing: times again
  fi
  [[ "$(sed -n 2p <<<"$OUT")" == "$old" ]] || fail "a cancelled publish changed the bundle: $OUT"
  awk -v o="$over" -v s="$SLACK_MS" 'BEGIN { exit !(o <= s) }' ||
    fail "rulake.publish_bundle was cancelled $over ms after its $deadline ms deadline (more than $SLACK_MS)"
  echo "statement_timeout: rulake.publish_bundle cancelled $over ms after its $deadline ms deadline: ok"
  done_publish=1
  break
done
[[ -n "$done_publish" ]] || fail "no publish was cancelled while writing in 4 attempts"
leftovers=$(ls "$BUNDLES/b" | grep -c '\.tmp\.' || true)
[[ "$leftovers" == 0 ]] || fail "a cancelled publish left $leftovers temp files"
echo "statement_timeout: ok"
