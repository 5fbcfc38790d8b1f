-- ruLake priming in bounded memory: a collection whose build would pass
-- rulake.max_prime_memory is refused before its rows are read (on the planner's estimate,
-- or a bundle's row count), or as soon as the rows read pass it when the estimate was low;
-- the reason shows in rulake.stats(), and other collections go on working. The cache's own
-- limit (rulake.cache_size, fixed at server start) is tested in tests/server/rulake_memory.sh.
SET client_min_messages = warning;

-- 8000 rows of 64 dimensions: 2 MB of vectors, an image of about 2.5 MB.
CREATE TABLE mem_big (id bigint PRIMARY KEY, v ruvector(64)) WITH (autovacuum_enabled = false);
INSERT INTO mem_big SELECT g, array_fill((g % 7)::real, ARRAY[64])::ruvector
FROM generate_series(1, 8000) g;
ANALYZE mem_big;
CREATE TABLE mem_small (id bigint PRIMARY KEY, v ruvector(64));
INSERT INTO mem_small SELECT g, array_fill((g % 7)::real, ARRAY[64])::ruvector
FROM generate_series(1, 200) g;
SELECT rulake.register('mem_big', 'table:public.mem_big(id, v)', 'fresh', '{"lists": 4}');
SELECT rulake.register('mem_small', 'table:public.mem_small(id, v)', 'fresh', '{"lists": 4}');

-- Refused on the planner's estimate, before any row is read.
SET rulake.max_prime_memory = '1MB';
SELECT count(*) FROM rulake.search('mem_big', array_fill(1, ARRAY[64])::ruvector, 3);
SELECT state, bytes, last_error FROM rulake.stats() WHERE collection = 'mem_big';
-- A small collection is primed under the same bound.
SELECT count(*) FROM rulake.search('mem_small', array_fill(1, ARRAY[64])::ruvector, 3);
SELECT state, last_error FROM rulake.stats() WHERE collection = 'mem_small';

-- Statistics that say the column is all null: the planner expects one row, so the limit
-- is met while reading, at the first batch that passes it.
CREATE TABLE mem_grown (id bigint PRIMARY KEY, v ruvector(64)) WITH (autovacuum_enabled = false);
INSERT INTO mem_grown SELECT g, NULL FROM generate_series(1, 8000) g;
ANALYZE mem_grown;
UPDATE mem_grown SET v = array_fill((id % 7)::real, ARRAY[64])::ruvector;
SELECT rulake.register('mem_grown', 'table:public.mem_grown(id, v)', 'fresh', '{"lists": 4}');
SELECT count(*) FROM rulake.search('mem_grown', array_fill(1, ARRAY[64])::ruvector, 3);
SELECT state, last_error FROM rulake.stats() WHERE collection = 'mem_grown';

-- A bundle is refused on the row count its vectors file announces.
SELECT set_config('rulake.bundle_root', current_setting('data_directory'), false) IS NOT NULL AS root_set;
SELECT (rulake.publish_bundle('mem_big', 'rulake_memory_bundle'))->>'dim' AS dim;
SELECT rulake.register('mem_bundle', 'bundle:rulake_memory_bundle', 'frozen', '{"lists": 4}');
SELECT count(*) FROM rulake.search('mem_bundle', array_fill(1, ARRAY[64])::ruvector, 3);

-- Raised, the same collections prime, and the error is cleared.
SET rulake.max_prime_memory = '64MB';
SELECT count(*) FROM rulake.search('mem_big', array_fill(1, ARRAY[64])::ruvector, 3);
SELECT count(*) FROM rulake.search('mem_grown', array_fill(1, ARRAY[64])::ruvector, 3);
SELECT count(*) FROM rulake.search('mem_bundle', array_fill(1, ARRAY[64])::ruvector, 3);
SELECT collection, state, bytes > 2000000 AS image_held, last_error
FROM rulake.stats() WHERE collection LIKE 'mem%' ORDER BY 1;

-- Only a superuser sets it.
CREATE ROLE rulake_memory_user;
SET ROLE rulake_memory_user;
SET rulake.max_prime_memory = '2GB';
RESET ROLE;
DROP ROLE rulake_memory_user;

SELECT rulake.unregister(name) FROM unnest(ARRAY['mem_big', 'mem_small', 'mem_grown', 'mem_bundle']) name;
