#!/usr/bin/env bash
# ruvector.gpu inside the server, with the host reference kernel library standing in for
# ruvector_cuda.so (it runs the CUDA kernel's own per-code code): the library loads in a
# backend, answers search_batch as the CPU does, and the dispatch rules hold: auto skips
# small batches, a non-deterministic kernel never serves fresh collections, a failing
# kernel is replaced by the CPU under auto and is an error under on.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

lib="$CLUSTER_DIR/reference_kernel.so"
g++ -O2 -std=c++17 -shared -fPIC -I. tests/gpu/reference_kernel.cpp -o "$lib"
chmod 755 "$lib"

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
"${PSQL[@]}" >/dev/null <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector(40));
INSERT INTO items SELECT i, (SELECT array_agg(sin(i * 0.37 + j * (1 + i % 5)) + (i % 9))::real[]::ruvector
                             FROM generate_series(1, 40) j)
FROM generate_series(1, 4000) i;
CREATE TABLE queries AS SELECT id AS q, v + v AS v FROM items WHERE id % 100 = 0;
SELECT rulake.register('fresh', 'table:public.items(id, v)', 'fresh', '{"lists": 20, "probes": 6}');
SELECT rulake.register('eventual', 'table:public.items(id, v)', 'eventual', '{"lists": 20, "probes": 6}');
ALTER SYSTEM SET ruvector.gpu_library = '$lib';
SELECT pg_reload_conf() AS reloaded \gset
SQL

batch="(SELECT array_agg(v ORDER BY q) FROM queries)"
answer() {  # mode, collection
  "${PSQL[@]}" -c "SET ruvector.gpu = $1" \
    -c "SELECT string_agg(query || ':' || id, ',' ORDER BY query, rank)
        FROM rulake.search_batch('$2', $batch, 10)" | tail -1
}
kernel_used() {  # mode, collection, batch SQL -> the kernel the DEBUG1 line names
  "${PSQL[@]}" -c "SET ruvector.gpu = $1" -c "SET client_min_messages = debug1" \
    -c "SELECT count(*) FROM rulake.search_batch('$2', $3, 10)" 2>&1 |
    sed -nE 's/.*on the ([a-z]+) scan kernel.*/\1/p' | tail -1
}
fail() { echo "gpu_dispatch: $*" >&2; exit 1; }

cpu=$(answer off fresh)
[[ -n "$cpu" ]] || fail "no answer"
[[ "$(answer on fresh)" == "$cpu" ]] || fail "the loaded kernel ranks differently from the CPU"
# Its exact distances may round differently, never by more than float rounding.
worst=$("${PSQL[@]}" <<SQL | tail -1
SET ruvector.gpu = off;
CREATE TEMP TABLE by_cpu AS SELECT * FROM rulake.search_batch('fresh', $batch, 10);
SET ruvector.gpu = on;
CREATE TEMP TABLE by_lib AS SELECT * FROM rulake.search_batch('fresh', $batch, 10);
SELECT count(*) = 400 AND max(abs(c.distance - l.distance) / greatest(1, abs(c.distance))) < 1e-5
FROM by_cpu c JOIN by_lib l USING (query, rank, id);
SQL
)
[[ "$worst" == t ]] || fail "distances differ beyond rounding"
[[ "$(answer on eventual)" == "$cpu" ]] || fail "eventual collection differs"
[[ "$(kernel_used on fresh "$batch")" == reference ]] || fail "on did not use the library"
[[ "$(kernel_used auto fresh "$batch")" == reference ]] || fail "auto did not use the library for 40 queries"
[[ "$(kernel_used auto fresh "ARRAY[(SELECT v FROM queries LIMIT 1)]")" == cpu ]] ||
  fail "auto used the library below its minimum batch"
[[ "$(kernel_used off fresh "$batch")" == cpu ]] || fail "off used the library"

restart_with() {
  cluster_as_owner env RUVECTOR_REFERENCE_KERNEL="$1" "$PG_BINDIR/pg_ctl" -D "$PGDATA" \
    -l "$CLUSTER_DIR/server.log" -w restart >/dev/null
}

# A kernel without the determinism promise: eventual collections only.
restart_with nondeterministic
[[ "$(kernel_used auto fresh "$batch")" == cpu ]] || fail "a non-deterministic kernel served a fresh collection"
[[ "$(kernel_used auto eventual "$batch")" == reference ]] || fail "auto refused an eventual collection"
out=$("${PSQL[@]}" -c "SET ruvector.gpu = on" -c "SELECT count(*) FROM rulake.search_batch('fresh', $batch, 10)" 2>&1 || true)
grep -q "not deterministic and cannot serve a fresh or frozen collection" <<<"$out" || fail "on + fresh: $out"

# A kernel whose scans fail: auto warns and answers from the CPU, on is an error.
restart_with scanfail
out=$("${PSQL[@]}" -c "SET ruvector.gpu = auto" -c "SELECT string_agg(query || ':' || id, ',' ORDER BY query, rank)
        FROM rulake.search_batch('fresh', $batch, 10)" 2>&1)
grep -q "WARNING:  reference scan kernel failed: device lost" <<<"$out" || fail "auto gave no warning: $out"
[[ "$(tail -1 <<<"$out")" == "$cpu" ]] || fail "auto's fallback answered differently"
out=$("${PSQL[@]}" -c "SET ruvector.gpu = on" -c "SELECT count(*) FROM rulake.search_batch('fresh', $batch, 10)" 2>&1 || true)
grep -q "ERROR:  reference scan kernel failed: device lost" <<<"$out" || fail "on did not fail: $out"

# No library, and a library that refuses to start (no device).
restart_with fail
out=$("${PSQL[@]}" -c "SET ruvector.gpu = on" -c "SELECT count(*) FROM rulake.search_batch('fresh', $batch, 10)" 2>&1 || true)
grep -q "no GPU scan kernel is usable: no device (reference kernel told to fail)" <<<"$out" || fail "refusing library: $out"
[[ "$(answer auto fresh)" == "$cpu" ]] || fail "auto without a usable library"
echo "gpu_dispatch: ok"
