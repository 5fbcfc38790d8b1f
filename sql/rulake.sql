-- ruLake: registration, search through the cache, consistency modes, bundles, federation.
-- The refill worker serves rulake.database (postgres), not this database, so every prime
-- here is done by the searching backend and the counters are deterministic.
SET client_min_messages = warning;
-- No CONTEXT lines: they carry PL/pgSQL line numbers, which change with every edit of
-- rulake.register; the errors' messages, details and hints are what is tested.
\set SHOW_CONTEXT never

-- Deterministic clustered data: 8 clusters in 16 dimensions, pseudo-random offsets from a
-- hash of (row, dimension) so that no two rows tie.
CREATE FUNCTION pseudo(a float8, b float8) RETURNS float8 LANGUAGE sql IMMUTABLE
  AS $$ SELECT x - floor(x) FROM (SELECT sin(a * 12.9898 + b * 78.233) * 43758.5453 AS x) s $$;
CREATE TABLE docs (id bigint PRIMARY KEY, v ruvector(16));
INSERT INTO docs SELECT g, array(SELECT (g % 8) * 2 + 2 * pseudo(g, d) FROM generate_series(1, 16) d)::ruvector
FROM generate_series(1, 3000) g;
CREATE TABLE queries (q int PRIMARY KEY, v ruvector(16));
INSERT INTO queries SELECT g, array(SELECT (g % 8) * 2 + 2 * pseudo(g + 5000, d) FROM generate_series(1, 16) d)::ruvector
FROM generate_series(1, 20) g;

-- Registration and its errors.
SELECT rulake.register('docs', 'table:public.docs(id, v)', 'fresh', '{"seed": 42, "lists": 16, "probes": 16}');
SELECT rulake.register('docs', 'table:public.docs(id, v)');
SELECT rulake.register('bad', 'table:public.nope(id, v)');
SELECT rulake.register('bad', 'table:public.docs(id, w)');
SELECT rulake.register('bad', 'table:public.docs');
SELECT rulake.register('bad', 'ftp://example.com/x');
SELECT rulake.register('bad', 'table:public.docs(id, v)', 'sometimes');
SELECT rulake.register('bad', 'table:public.docs(id, v)', 'fresh', '{"colour": 1}');
SELECT rulake.register('bad', 'table:public.docs(id, v)', 'fresh', '{"metric": "manhattan"}');
SELECT rulake.register('bad', 'https://example.com/b', 'fresh');
SELECT rulake.register('bad name', 'table:public.docs(id, v)');
SELECT name, kind, location, consistency, metric, seed, rerank_factor, lists, probes, dim
FROM rulake.collections ORDER BY name;

-- 1. recall@10 against the exact answer over 20 queries.
SELECT avg(recall) >= 0.95 AS recall_ok FROM (
  SELECT q.q, (SELECT count(*) FROM rulake.search('docs', q.v, 10) s
               WHERE s.id IN (SELECT id FROM docs ORDER BY v <-> q.v LIMIT 10)) / 10.0 AS recall
  FROM queries q) r;
-- Exact distances come back, in order.
SELECT bool_and(abs(s.distance - (d.v <-> q.v)) < 1e-4) AS distances_exact
FROM queries q, rulake.search('docs', q.v, 5) s JOIN docs d ON d.id = s.id;
SELECT primes, hits, misses, state FROM rulake.stats() WHERE collection = 'docs';

-- Search errors.
SELECT * FROM rulake.search('nope', '[1,2]', 3);
SELECT * FROM rulake.search('docs', '[1,2]', 3);
SELECT * FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 1), -1);
SELECT * FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 1), 5, 0);
SELECT count(*) FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 1), 0);
SELECT count(*) FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 1), 100000);

-- 2. verify: publish a bundle; the cache's witness equals the one on disk.
SELECT set_config('rulake.bundle_root', current_setting('data_directory'), false) IS NOT NULL AS root_set;
SELECT j->>'dim' AS dim, j->>'rotation_seed' AS seed, j->>'rerank_factor' AS rerank,
       j->>'lineage_id' AS lineage, length(j->>'rvf_witness') AS witness_hex_length
FROM rulake.publish_bundle('docs', 'rulake_bundle_docs') j;
SELECT (rulake.verify_bundle('rulake_bundle_docs'))->>'valid' AS valid;
-- This extension's witness covers the data (a Rust RuVector bundle's does not:
-- tests/server/bundle_rust.sh).
SELECT v->>'witness_scheme' AS scheme, v->'data_authenticated' AS data_authenticated
FROM rulake.verify_bundle('rulake_bundle_docs') v;
SELECT rulake.register('docs_bundle', 'bundle:rulake_bundle_docs', 'frozen', '{"lists": 16, "probes": 16}');
CREATE TEMP TABLE before_forget AS
SELECT q.q, s.id, s.distance FROM queries q, rulake.search('docs_bundle', q.v, 10) s;
SELECT rulake.witness('docs_bundle') = (rulake.verify_bundle('rulake_bundle_docs'))->>'rvf_witness'
  AS witness_matches_disk;
-- (primes is 0 when an earlier run on the same server left this witness in the cache)
CREATE TEMP TABLE primes_before AS SELECT primes FROM rulake.stats() WHERE collection = 'docs_bundle';
SELECT state FROM rulake.stats() WHERE collection = 'docs_bundle';

-- 3. forget.
SELECT rulake.invalidate('docs_bundle');
SELECT state, witness IS NULL AS no_witness, bytes FROM rulake.stats() WHERE collection = 'docs_bundle';

-- 4. rehydrate: the next search primes again.
CREATE TEMP TABLE after_rehydrate AS
SELECT q.q, s.id, s.distance FROM queries q, rulake.search('docs_bundle', q.v, 10) s;
SELECT primes - (SELECT primes FROM primes_before) AS new_primes, state, bytes > 0 AS cached
FROM rulake.stats() WHERE collection = 'docs_bundle';

-- 5. location transparency: byte-exact before and after, and table ≡ bundle.
SELECT count(*) AS rows,
       (SELECT count(*) FROM (SELECT * FROM before_forget EXCEPT SELECT * FROM after_rehydrate) x) AS differ
FROM before_forget;
SELECT count(*) AS differ_from_table FROM (
  SELECT q.q, s.id, s.distance FROM queries q, rulake.search('docs', q.v, 10) s
  EXCEPT SELECT * FROM after_rehydrate) x;

-- Bundle path and permission errors.
SELECT rulake.verify_bundle('../outside');
-- (messages of these two name the server's data directory: only the SQLSTATE is shown)
DO $$ BEGIN PERFORM rulake.verify_bundle('/etc');
EXCEPTION WHEN OTHERS THEN RAISE WARNING 'verify_bundle outside the root: %', SQLSTATE; END $$;
DO $$ BEGIN PERFORM rulake.verify_bundle('rulake_bundle_none');
EXCEPTION WHEN OTHERS THEN RAISE WARNING 'verify_bundle of a missing directory: %', SQLSTATE; END $$;
SELECT rulake.register('bad', 'bundle:../x');
SELECT rulake.publish_bundle('docs_bundle', 'rulake_bundle_copy');

-- Publishing options: the governance fields and a string generation reach the sidecar, its
-- witness and verify_bundle; without options, the defaults of 0.4.0.
SELECT j->>'pii_policy' AS pii, j->>'lineage_id' AS lineage, j->'generation' AS generation
FROM rulake.publish_bundle('docs', 'rulake_bundle_gov',
  '{"pii_policy": "pii://policies/redact", "lineage_id": "ol://jobs/ingest-42", "generation": "snap-6843921700521"}') j;
SELECT v->>'valid' AS valid, v->>'pii_policy' AS pii, v->>'lineage_id' AS lineage, v->'generation' AS generation,
       v->>'rvf_witness' <> (rulake.verify_bundle('rulake_bundle_docs'))->>'rvf_witness' AS other_witness,
       v->>'data_digest' = (rulake.verify_bundle('rulake_bundle_docs'))->>'data_digest' AS same_data
FROM rulake.verify_bundle('rulake_bundle_gov') v;
SELECT (rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"generation": 9007199254740991}'))->'generation' AS generation;
SELECT v->>'pii_policy' AS pii, v->>'lineage_id' AS lineage, v->'generation' AS generation
FROM rulake.verify_bundle('rulake_bundle_gov') v;
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov') IS NOT NULL AS published;
SELECT v->>'pii_policy' AS pii, v->>'lineage_id' AS lineage, jsonb_typeof(v->'generation') AS generation
FROM rulake.verify_bundle('rulake_bundle_gov') v;
-- Errors name the key (SQLSTATE 22023) and come before anything is written.
CREATE TEMP TABLE gov_before AS SELECT rulake.verify_bundle('rulake_bundle_gov') AS v;
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"lineage_id": "x", "pii": "y"}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"pii_policy": 7}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"generation": -1}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"generation": 1.5}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"generation": 9007199254740992}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"generation": ""}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"lineage_id": "a\nb"}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', jsonb_build_object('pii_policy', repeat('p', 1025)));
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '[]');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"format": "rust"}');
SELECT rulake.publish_bundle('docs', 'rulake_bundle_gov', NULL) IS NULL AS strict;
DO $$ BEGIN PERFORM rulake.publish_bundle('docs', 'rulake_bundle_gov', '{"owner": "me"}');
EXCEPTION WHEN OTHERS THEN RAISE WARNING 'unknown publish option: %', SQLSTATE; END $$;
SELECT v = rulake.verify_bundle('rulake_bundle_gov') AS unchanged_by_errors FROM gov_before;

-- Refresh of a collection that was never primed: nothing is stale, so up to date (and
-- still cold); a missing source is still told apart.
SELECT rulake.register('docs_cold', 'table:public.docs(id, v)', 'fresh', '{"seed": 11}');
SELECT rulake.refresh('docs_cold');
SELECT state FROM rulake.stats() WHERE collection = 'docs_cold';
SELECT rulake.register('docs_cold_bundle', 'bundle:rulake_bundle_never', 'fresh');
SELECT rulake.refresh('docs_cold_bundle');
SELECT rulake.unregister('docs_cold');
SELECT rulake.unregister('docs_cold_bundle');

-- Frozen never rechecks; refresh reports the change.
-- (another seed: with seed 42 it would share the entry of "docs", and never prime)
SELECT rulake.register('docs_frozen', 'table:public.docs(id, v)', 'frozen', '{"seed": 7, "lists": 16, "probes": 16}');
SELECT count(*) FROM rulake.search('docs_frozen', (SELECT v FROM queries WHERE q = 1), 3);
CREATE TEMP TABLE frozen_witness AS SELECT rulake.witness('docs_frozen') AS w;
INSERT INTO docs VALUES (100000, (SELECT v FROM queries WHERE q = 1));
SELECT bool_or(id = 100000) AS sees_new_row FROM rulake.search('docs_frozen', (SELECT v FROM queries WHERE q = 1), 3);
SELECT rulake.witness('docs_frozen') = (SELECT w FROM frozen_witness) AS same_witness;
SELECT primes FROM rulake.stats() WHERE collection = 'docs_frozen';
SELECT rulake.refresh('docs_frozen');
SELECT rulake.refresh('docs_bundle');

-- Fresh sees the committed insert on the next search.
SELECT id, distance FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 1), 1);
SELECT rulake.refresh('docs');

-- This transaction's own writes are searched but never shared through the cache.
BEGIN;
INSERT INTO docs VALUES (100001, (SELECT v FROM queries WHERE q = 2));
SELECT id FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 2), 1);
ROLLBACK;
SELECT id <> 100001 AS rolled_back_row_gone FROM rulake.search('docs', (SELECT v FROM queries WHERE q = 2), 1);

-- Federated search over 4 shards against one collection of the same rows.
CREATE TABLE shard0 AS SELECT * FROM docs WHERE id % 4 = 0;
CREATE TABLE shard1 AS SELECT * FROM docs WHERE id % 4 = 1;
CREATE TABLE shard2 AS SELECT * FROM docs WHERE id % 4 = 2;
CREATE TABLE shard3 AS SELECT * FROM docs WHERE id % 4 = 3;
SELECT rulake.register('shard' || i, format('table:public.shard%s(id, v)', i), 'fresh', '{"lists": 4, "probes": 4}')
FROM generate_series(0, 3) i;
SELECT avg(recall) >= 0.95 AS federated_recall_ok FROM (
  SELECT (SELECT count(*) FROM rulake.search_federated(ARRAY['shard0', 'shard1', 'shard2', 'shard3'], q.v, 10) s
          WHERE s.id IN (SELECT id FROM docs ORDER BY v <-> q.v LIMIT 10)) / 10.0 AS recall
  FROM queries q) r;
SELECT collection, id % 4 = right(collection, 1)::int AS right_shard
FROM rulake.search_federated(ARRAY['shard0', 'shard1', 'shard2', 'shard3'], (SELECT v FROM queries WHERE q = 3), 4)
LIMIT 4;
-- The shards are searched on up to max_parallel_workers_per_gather + 1 threads: the
-- answers, order and distances included, are those of one search after another.
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE fed_serial AS
SELECT q.q, s.* FROM queries q,
  rulake.search_federated(ARRAY['shard0', 'shard1', 'shard2', 'shard3'], q.v, 10) WITH ORDINALITY s;
SET max_parallel_workers_per_gather = 3;
CREATE TEMP TABLE fed_parallel AS
SELECT q.q, s.* FROM queries q,
  rulake.search_federated(ARRAY['shard0', 'shard1', 'shard2', 'shard3'], q.v, 10) WITH ORDINALITY s;
RESET max_parallel_workers_per_gather;
SELECT (SELECT count(*) FROM fed_serial) AS serial_rows, count(*) AS parallel_differs
FROM ((TABLE fed_serial EXCEPT ALL TABLE fed_parallel)
      UNION ALL (TABLE fed_parallel EXCEPT ALL TABLE fed_serial)) d;
-- Two threads, the backend's pool already started: the same again.
SET max_parallel_workers_per_gather = 1;
SELECT count(*) AS two_threads_differ FROM (
  (SELECT q.q, s.* FROM queries q,
     rulake.search_federated(ARRAY['shard0', 'shard1', 'shard2', 'shard3'], q.v, 10) WITH ORDINALITY s
   EXCEPT ALL TABLE fed_serial)
  UNION ALL
  (TABLE fed_serial EXCEPT ALL
   SELECT q.q, s.* FROM queries q,
     rulake.search_federated(ARRAY['shard0', 'shard1', 'shard2', 'shard3'], q.v, 10) WITH ORDINALITY s)) d;
RESET max_parallel_workers_per_gather;
-- The shards' catalog rows are read in one query: an unknown name is still named.
SELECT * FROM rulake.search_federated(ARRAY['shard0', 'no_such_shard', 'shard1'], '[1]', 3);
SELECT * FROM rulake.search_federated(ARRAY['shard0', 'shard0'], '[1]', 3);
SELECT * FROM rulake.search_federated(ARRAY[]::text[], '[1]', 3);
-- Five collections at once (a backend once pinned at most four), and the limit.
SELECT count(*) AS five_shards FROM rulake.search_federated(
  ARRAY['shard0', 'shard1', 'shard2', 'shard3', 'docs'], (SELECT v FROM queries WHERE q = 1), 10);
SELECT * FROM rulake.search_federated(array_fill('shard0'::text, ARRAY[65]), '[1]', 3);

-- A batch answers each query as a search of one would, numbered by array position.
SELECT count(*) AS batch_differs FROM (
  SELECT query, rank, id, distance FROM rulake.search_batch('shard0', (SELECT array_agg(v ORDER BY q) FROM queries), 7)
  EXCEPT
  SELECT q.q, s.rank::int, s.id, s.distance FROM queries q,
    LATERAL (SELECT row_number() OVER () AS rank, * FROM rulake.search('shard0', q.v, 7)) s) d;
SELECT count(*) AS batch_rows, count(DISTINCT query) AS queries, max(rank) AS max_rank
FROM rulake.search_batch('shard0', (SELECT array_agg(v ORDER BY q) FROM queries), 7);
SELECT count(*) FROM rulake.search_batch('shard0', ARRAY[]::ruvector[], 3);
SELECT count(*) FROM rulake.search_batch('shard0', (SELECT array_agg(v) FROM queries), 0);
SELECT * FROM rulake.search_batch('shard0', ARRAY[(SELECT v FROM queries WHERE q = 1), NULL], 3);
SELECT * FROM rulake.search_batch('shard0', ARRAY[(SELECT v FROM queries WHERE q = 1), '[1,2]'], 3);
SELECT * FROM rulake.search_batch('shard0', ARRAY['[1,2]'::ruvector, '[3,4]'], 3);
SELECT count(*) AS every_row_of_every_query FROM rulake.search_batch('shard0', (SELECT array_agg(v) FROM queries), 20000);
SELECT count(*) FROM rulake.search_batch('shard0', (SELECT array_agg(v) FROM queries, generate_series(1, 6)), 100000);
-- ruvector.gpu: auto falls back to the CPU; on says why it cannot.
SET ruvector.gpu = auto;
SET ruvector.gpu_library = '/nonexistent/ruvector_cuda.so';
SELECT count(*) FROM rulake.search_batch('shard0', (SELECT array_agg(v) FROM queries), 3);
SET ruvector.gpu = on;
SELECT count(*) FROM rulake.search_batch('shard0', (SELECT array_agg(v) FROM queries), 3);
SELECT count(*) FROM rulake.search('shard0', (SELECT v FROM queries WHERE q = 1), 3);
SET ruvector.gpu = sometimes;
RESET ruvector.gpu;
RESET ruvector.gpu_library;

-- Unregister drops the trigger once no collection uses the table.
SELECT rulake.unregister('docs_frozen');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'docs'::regclass AND tgname = 'rulake_generation';
SELECT rulake.unregister('docs');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'docs'::regclass AND tgname = 'rulake_generation';
SELECT rulake.unregister('docs');
SELECT collection, state FROM rulake.stats() ORDER BY 1;
