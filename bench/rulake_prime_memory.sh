#!/usr/bin/env bash
# Peak memory of one ruLake prime: a 200k x 128 table collection is primed three times,
# each by a new backend's search (in a database the refill worker does not serve, so the
# backend primes it), and that backend's VmHWM (/proc/self/status: private memory plus
# the shared pages it touched, the cache's included) is read before and after.
# shared_buffers is small so that the table scan adds little of its own. Compare builds
# by installing each and running this in turn (docs/benchmarks.md).
#   bench/rulake_prime_memory.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
ROWS=${1:-200000}
cluster_start "rulake.cache_size = 512MB" "shared_buffers = 16MB"
trap cluster_stop EXIT
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
"${PSQL[@]}" -c "CREATE DATABASE bench"
"${PSQL[@]}" -d bench >/dev/null <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE big (id bigint PRIMARY KEY, v ruvector(128));
INSERT INTO big SELECT g, (SELECT array_agg(((g % 64) * 0.37 + sin(g * 0.001 + d))::real)
                           FROM generate_series(1, 128) d)
FROM generate_series(1, $ROWS) g;
ANALYZE big;
SELECT rulake.register('big', 'table:public.big(id, v)', 'eventual', '{}');
SQL
echo "| run | VmHWM before prime (kB) | VmHWM after prime (kB) | image (bytes) | search with prime (ms) |"
echo "|---|---|---|---|---|"
for run in 1 2 3; do
  "${PSQL[@]}" -d bench -c "SELECT rulake.invalidate('big')" >/dev/null
  out=$("${PSQL[@]}" -d bench <<'SQL'
SELECT regexp_replace(pg_read_file('/proc/self/status'), '.*VmHWM:\s+(\d+) kB.*', '\1') AS before_kb \gset
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM rulake.search('big', array_fill(1, ARRAY[128])::ruvector, 10);
SELECT :before_kb, regexp_replace(pg_read_file('/proc/self/status'), '.*VmHWM:\s+(\d+) kB.*', '\1'),
       (SELECT bytes FROM rulake.stats() WHERE collection = 'big'),
       round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
SQL
)
  echo "| $run | $(tail -1 <<<"$out" | sed 's/|/ | /g') |"
done
