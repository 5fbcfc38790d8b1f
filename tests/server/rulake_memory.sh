#!/usr/bin/env bash
# ruLake priming in bounded memory, with the refill worker serving this database: a table
# whose index image is larger than rulake.cache_size, and one whose build is larger than
# rulake.max_prime_memory, are refused by the worker and by a searching backend with an
# error that names the limit, shown in rulake.stats(); no process is killed for memory;
# and a small collection on the same server is primed and searched as usual.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/server/lib/rulake.sh
rulake_cluster_start rulake_memory "rulake.cache_size = 8MB" "rulake.max_prime_memory = 4MB"

# 12000 × 256 floats: a 12 MB image, more than the 8 MB cache. 6000 × 256: a 6 MB image,
# which the cache could hold, but more than 4 MB to build.
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE EXTENSION ruvector;
CREATE TABLE huge (id bigint PRIMARY KEY, v ruvector(256));
INSERT INTO huge SELECT g, array_fill((g % 11)::real, ARRAY[256])::ruvector
FROM generate_series(1, 12000) g;
CREATE TABLE large (id bigint PRIMARY KEY, v ruvector(256));
INSERT INTO large SELECT g, array_fill((g % 11)::real, ARRAY[256])::ruvector
FROM generate_series(1, 6000) g;
CREATE TABLE small (id bigint PRIMARY KEY, v ruvector(256));
INSERT INTO small SELECT g, array_fill((g % 11)::real, ARRAY[256])::ruvector
FROM generate_series(1, 300) g;
ANALYZE huge, large, small;
SELECT rulake.register('huge', 'table:public.huge(id, v)', 'eventual', '{"lists": 8}');
SELECT rulake.register('large', 'table:public.large(id, v)', 'eventual', '{"lists": 8}');
SELECT rulake.register('small', 'table:public.small(id, v)', 'eventual', '{"lists": 8}');
SQL

# 1. The worker primes the small one and records why it cannot prime the others, and when
#    it tries again.
wait_for "SELECT state = 'ready' FROM rulake.stats() WHERE collection = 'small'" ||
  fail "the worker did not prime the small collection"
wait_for "SELECT last_error LIKE '%more than rulake.cache_size (8 MB) can hold (%next attempt in %'
          FROM rulake.stats() WHERE collection = 'huge'" ||
  fail "stats does not say that huge does not fit the cache"
wait_for "SELECT last_error LIKE '%more than rulake.max_prime_memory (4 MB) (%next attempt in %'
          FROM rulake.stats() WHERE collection = 'large'" ||
  fail "stats does not say that large passes the priming bound"
echo "rulake_memory: the worker refused both and primed the small one: ok"

# 2. A search gets the error, with its SQLSTATE, naming the collection, size and setting.
search_error() {
  psql -X -qtA -v VERBOSITY=verbose -c "SELECT count(*) FROM rulake.search('$1',
    array_fill(1, ARRAY[256])::ruvector, 5)" 2>&1 >/dev/null | head -2 || true
}
err=$(search_error huge)
[[ "$err" == *"ERROR:  54000: rulake collection \"huge\" needs an index image of about 13 MB, more than rulake.cache_size (8 MB) can hold"* ]] ||
  fail "unexpected error for huge: $err"
[[ "$err" == *"12000 rows of 256 dimensions, estimated by the planner. Raise rulake.cache_size"* ]] ||
  fail "the detail for huge does not give the estimate: $err"
err=$(search_error large)
[[ "$err" == *"ERROR:  54000: rulake collection \"large\" needs about "*" MB of memory to prime, more than rulake.max_prime_memory (4 MB)"* ]] ||
  fail "unexpected error for large: $err"
echo "rulake_memory: searches get the error: ok"

# 3. The small collection answers; the server lost no process.
[[ "$("${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('small', array_fill(1, ARRAY[256])::ruvector, 5)")" == 5 ]] ||
  fail "the small collection did not answer"
[[ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'rulake refill worker'")" == 1 ]] ||
  fail "the refill worker is not running"
if grep -E "terminated by signal|out of memory|server process .* was terminated" "$CLUSTER_DIR/server.log"; then
  fail "a process was killed or ran out of memory"
fi
echo "rulake_memory: the small collection answers, no process was lost: ok"

# 4. A table never analyzed has no row width: the planner would guess 32 bytes for a 1 KB
#    row (~18,000 rows estimated for 1000, 18 MB of image for 1 MB). It is
#    primed, and the builder's own budget still guards it.
"${PSQL[@]}" >/dev/null <<'SQL'
CREATE TABLE fresh_copy WITH (autovacuum_enabled = false) AS
SELECT g::bigint AS id, (SELECT array_agg(random()::real + i * 0 + g * 0) FROM generate_series(1, 256) i)::ruvector(256) AS v
FROM generate_series(1, 1000) g;
SELECT rulake.register('fresh_copy', 'table:public.fresh_copy(id, v)', 'fresh', '{"lists": 8}');
SQL
[[ "$("${PSQL[@]}" -c "SELECT reltuples < 0 FROM pg_class WHERE relname = 'fresh_copy'")" == t ]] ||
  fail "fresh_copy was analyzed: the case does not hold"
err=$("${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('fresh_copy', (SELECT v FROM fresh_copy WHERE id = 1), 5)" 2>&1) ||
  fail "the never-analyzed table was refused: $err"
[[ $err == 5 ]] || fail "the never-analyzed table answered $err rows"
echo "rulake_memory: a table never analyzed is primed by its rows, not the planner's guess: ok"
