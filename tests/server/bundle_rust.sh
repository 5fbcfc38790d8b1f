#!/usr/bin/env bash
# Bundles of the Rust RuVector (docs/bundle-format.md#the-rust-format), with fixtures built
# from its source alone (tests/fixtures/rust_bundle/make_fixtures.py): verify_bundle says
# which witness scheme and that the data is not authenticated; a bundle:DIR collection
# searches them with exact results; a tampered sidecar, a gs:// data_ref and a file://
# outside rulake.bundle_root are refused; a file:// inside it is read; and
# publish_bundle(..., '{"format": "ruvector-rust"}') writes the fixture byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start bundle_rust
with_bundle_root
FIX=tests/fixtures/rust_bundle
MAKE_FIX=$FIX/make_fixtures.py
DATA=$(cd $FIX/v2 && ls vectors-*.ruvec1)
sql() { "${PSQL[@]}" -c "$1"; }
refused() {  # refused SQL PATTERN
  local out
  if out=$(psql -X -qtA -v ON_ERROR_STOP=1 -c "$1" 2>&1); then fail "allowed: $1 ($out)"; fi
  [[ "$out" == *$2* ]] || fail "$1: expected '$2', got: $out"
}
# bundle NAME: an empty bundle directory the server owns, written through a temp dir.
stage() {
  local tmp
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  echo "$tmp"
}
install_dir() {  # install_dir SRC NAME
  chmod -R a+rX "$1"
  cluster_as_owner cp -r "$1" "$BUNDLES/$2"
}

install_dir "$FIX/v2" rust_v2
install_dir "$FIX/v1" rust_v1

# 1. verify_bundle: the Rust witness checks, and the answer says what it covers.
[[ $(sql "SELECT v->>'valid', v->>'witness_scheme', v->>'data_authenticated', v->>'format_version',
                 v->>'rvf_witness' = '$(python3 -c "import json;print(json.load(open('$FIX/v2/table.rulake.json'))['rvf_witness'])")',
                 v->>'data_digest' = '${DATA:8:64}'
          FROM rulake.verify_bundle('rust_v2') v") == "true|ruvector-rust-v1|false|2|t|t" ]] ||
  fail "verify_bundle of the v2 fixture"
[[ $(sql "SELECT v->>'memory_class', v->>'generation', v->'lineage_id' FROM rulake.verify_bundle('rust_v1') v") \
  == "episodic|01JCX7NK6G5R9G1YZ7QH|null" ]] || fail "verify_bundle of the v1 fixture"
echo "bundle_rust: both fixtures verify, witness_scheme ruvector-rust-v1, data not authenticated: ok"

# 2. Search a bundle:DIR collection over the fixture: every row, in exact order and distance.
sql "SELECT rulake.register('rv2', 'bundle:rust_v2', 'fresh', '{\"lists\": 1, \"probes\": 1}')" >/dev/null
expected=$(python3 - "$FIX" <<'PY'
import math, sys
sys.path.insert(0, sys.argv[1])
import make_fixtures as m
q = [0.9, 0.2, 0.1, -0.3]
rows = sorted((math.dist(v, q), i) for i, v in m.V2_ROWS)
print("\n".join("%d|%.4f" % (i, d) for d, i in rows))
PY
)
got=$(sql "SELECT id || '|' || to_char(distance, 'FM990.0000') FROM rulake.search('rv2', '[0.9,0.2,0.1,-0.3]', 8)")
[[ "$got" == "$expected" ]] || fail "search of the Rust bundle: expected $expected, got $got"
[[ $(sql "SELECT witness IS NOT NULL AND state = 'ready' FROM rulake.stats() WHERE collection = 'rv2'") == t ]] ||
  fail "the Rust bundle was not primed"

# 2b. The same bundle served over HTTP, as a remote collection: the refill worker mirrors
#     the sidecar and its ruvec1 file, and the search is the same.
python3 tests/server/lib/bundle_server.py 0 "$FIX/v2" >"$CLUSTER_DIR/http.log" 2>&1 &
SERVER_PIDS+=($!)
for _ in $(seq 1 50); do grep -q '^PORT' "$CLUSTER_DIR/http.log" && break; sleep 0.1; done
PORT=$(sed -n 's/^PORT //p' "$CLUSTER_DIR/http.log")
[[ -n "$PORT" ]] || fail "the bundle server did not start"
sql "ALTER SYSTEM SET rulake.allowed_hosts = '127.0.0.1'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
sql "SELECT rulake.register('rv2_remote', 'http://127.0.0.1:$PORT/good/', 'eventual', '{\"lists\": 1, \"probes\": 1}')" >/dev/null
got=$("${PSQL[@]}" -c "SET rulake.cold_wait = '20s'" -c "SELECT id || '|' || to_char(distance, 'FM990.0000') FROM rulake.search('rv2_remote', '[0.9,0.2,0.1,-0.3]', 8)")
[[ "$got" == "$expected" ]] || fail "search of the remote Rust bundle: expected $expected, got $got"
grep -q "^GET /good/$DATA" "$CLUSTER_DIR/http.log" || fail "the remote Rust bundle's data file was not fetched: $(cat "$CLUSTER_DIR/http.log")"
echo "bundle_rust: the fixture served over HTTP mirrors and searches the same: ok"
[[ $(sql "SELECT rulake.refresh('rv2')") == up_to_date ]] || fail "refresh of an unchanged Rust bundle"
echo "bundle_rust: a bundle:DIR collection over the fixture searches exactly: ok"

# 3. Refused: a tampered sidecar, other data_ref schemes, a file:// outside the root.
tmp=$(stage)
cp -r "$FIX/v2/." "$tmp"
sed -i 's/"dim": 4/"dim": 5/' "$tmp/table.rulake.json"
install_dir "$tmp" rust_tampered
refused "SELECT rulake.verify_bundle('rust_tampered')" "does not match its rvf_witness"
for ref in gs://bucket/table.parquet s3://bucket/x http://example.com/x; do
  tmp=$(stage)
  python3 $MAKE_FIX sidecar "$tmp" "data_ref=$ref"
  install_dir "$tmp" "rust_${ref%%:*}"
  refused "SELECT rulake.verify_bundle('rust_${ref%%:*}')" "scheme \"${ref%%:*}:\""
done
tmp=$(stage)
python3 $MAKE_FIX sidecar "$tmp" "data_ref=file:///etc/passwd"
install_dir "$tmp" rust_outside
refused "SELECT rulake.verify_bundle('rust_outside')" "outside rulake.bundle_root"
tmp=$(stage)
python3 $MAKE_FIX sidecar "$tmp" "data_ref=../rust_v2/$DATA"
install_dir "$tmp" rust_dotdot
refused "SELECT rulake.verify_bundle('rust_dotdot')" "neither a file:// URI nor a file name"
echo "bundle_rust: tampered sidecar, gs/s3/http data_refs, file:// outside the root, '..' refused: ok"

# 4. A file:// URI inside the root, as the Rust FsBackend writes it, is read; its rows are
# the v2 fixture's, so it answers the same (under another witness: data_ref differs).
tmp=$(stage)
python3 $MAKE_FIX sidecar "$tmp" "data_ref=file://$BUNDLES/rust_v2/$DATA"
install_dir "$tmp" rust_uri
[[ $(sql "SELECT v->>'valid' FROM rulake.verify_bundle('rust_uri') v") == true ]] ||
  fail "file:// inside the root"
sql "SELECT rulake.register('ruri', 'bundle:rust_uri', 'fresh', '{\"lists\": 1, \"probes\": 1}')" >/dev/null
got=$(sql "SELECT id || '|' || to_char(distance, 'FM990.0000') FROM rulake.search('ruri', '[0.9,0.2,0.1,-0.3]', 8)")
[[ "$got" == "$expected" ]] || fail "search through a file:// data_ref"
[[ $(sql "SELECT rulake.witness('ruri') <> rulake.witness('rv2')") == t ]] || fail "witnesses"
echo "bundle_rust: file:// inside rulake.bundle_root is read and searched: ok"

# 5. Publishing the fixture's rows in the Rust format gives the fixture's bytes.
sql "CREATE TABLE fx (id bigint PRIMARY KEY, v ruvector(4))" >/dev/null
python3 - "$FIX" <<'PY' | "${PSQL[@]}" >/dev/null
import sys
sys.path.insert(0, sys.argv[1])
import make_fixtures as m
for i, v in m.V2_ROWS:
    print("INSERT INTO fx VALUES (%d, '[%s]');" % (i, ",".join(repr(x) for x in v)))
PY
sql "SELECT rulake.register('fx', 'table:public.fx(id, v)', 'fresh', '{\"seed\": 42, \"rerank_factor\": 20}')" >/dev/null
sql "SELECT rulake.publish_bundle('fx', 'rust_out', '{\"format\": \"ruvector-rust\", \"generation\": 7, \"lineage_id\": \"ol://jobs/fixture\"}')" >/dev/null
for f in table.rulake.json "$DATA"; do
  cluster_as_owner cat "$BUNDLES/rust_out/$f" | cmp - "$FIX/v2/$f" || fail "published $f differs from the fixture"
done
[[ $(cluster_as_owner ls "$BUNDLES/rust_out" | wc -l) == 2 ]] || fail "publish left other files"
refused "SELECT rulake.publish_bundle('fx', 'rust_bad', '{\"format\": \"rust\"}')" 'must be "native" or "ruvector-rust"'
echo "bundle_rust: a ruvector-rust publish reproduces the fixture byte for byte: ok"
