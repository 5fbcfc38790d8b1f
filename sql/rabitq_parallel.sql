-- Parallel CREATE INDEX: workers read the table in chunks of blocks and the leader takes
-- the chunks in block order, so a parallel build's pages are a serial build's, byte for
-- byte, whatever the number of workers (tests/server/rabitq_parallel_build.sh checks that
-- the workers really ran, and what happens when one fails).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE FUNCTION index_pages(idx regclass) RETURNS bytea LANGUAGE sql AS $$
  SELECT string_agg(substr(get_raw_page(idx::text, b::int), 9), ''::bytea ORDER BY b)
  FROM generate_series(0, pg_relation_size(idx) / 8192 - 1) b $$;

-- 8000 rows of 64 dimensions, about 300 pages: dozens of chunks. Some NULLs and zero
-- vectors (not indexed under cosine), all counted.
CREATE TABLE par (id int, v ruvector(64));
INSERT INTO par
SELECT i, CASE WHEN i % 500 = 0 THEN NULL
               WHEN i % 777 = 0 THEN array_fill(0::real, ARRAY[64])::ruvector
               ELSE array(SELECT sin(i * 0.13 + d * 0.7) * 5 + (i % 11) + d % 3
                          FROM generate_series(1, 64) d)::ruvector END
FROM generate_series(1, 8000) i;
-- Two workers whatever the table's size, with the 32 MB per participant Postgres asks.
ALTER TABLE par SET (parallel_workers = 2);
SET maintenance_work_mem = '128MB';

-- L2, lists from the row count (pass 1 counts in parallel too)
SET max_parallel_maintenance_workers = 0;
CREATE INDEX par_serial ON par USING rabitq (v);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX par_parallel ON par USING rabitq (v);
SELECT index_pages('par_serial') = index_pages('par_parallel') AS same_pages;
SELECT reltuples FROM pg_class WHERE relname = 'par';
-- The parallel build answers like a sequential scan when every list is probed: the exact
-- rows sorted with index scans off behind an OFFSET 0 fence, then the parallel build's
-- index alone, planned as its scan.
DROP INDEX par_serial;
SET enable_indexscan = off;
CREATE TEMP TABLE par_exact AS SELECT array(SELECT id FROM (SELECT id, v <-> (SELECT v FROM par WHERE id = 42) AS d
  FROM par WHERE v IS NOT NULL OFFSET 0) s ORDER BY d, id LIMIT 10) AS ids;
RESET enable_indexscan;
SET enable_seqscan = off;
SET rabitq.probes = 1000;
SET rabitq.epsilon = 4;
EXPLAIN (COSTS OFF) SELECT id FROM par ORDER BY v <-> (SELECT v FROM par WHERE id = 42) LIMIT 10;
SELECT array(SELECT id FROM par ORDER BY v <-> (SELECT v FROM par WHERE id = 42) LIMIT 10) = ids
  AS parallel_exact FROM par_exact;
RESET enable_seqscan;
RESET rabitq.probes;
RESET rabitq.epsilon;
DROP TABLE par_exact;
DROP INDEX par_parallel;

-- Cosine with extended codes and the table's vectors for reranks
SET max_parallel_maintenance_workers = 0;
CREATE INDEX par_serial ON par USING rabitq (v ruvector_cosine_ops)
  WITH (bits = 3, rerank_from_heap = true, seed = 5);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX par_parallel ON par USING rabitq (v ruvector_cosine_ops)
  WITH (bits = 3, rerank_from_heap = true, seed = 5);
SELECT index_pages('par_serial') = index_pages('par_parallel') AS same_pages;
DROP INDEX par_serial, par_parallel;

-- A partial index on inner product
SET max_parallel_maintenance_workers = 0;
CREATE INDEX par_serial ON par USING rabitq (v ruvector_ip_ops) WITH (lists = 20) WHERE id % 3 <> 0;
SET max_parallel_maintenance_workers = 2;
CREATE INDEX par_parallel ON par USING rabitq (v ruvector_ip_ops) WITH (lists = 20) WHERE id % 3 <> 0;
SELECT index_pages('par_serial') = index_pages('par_parallel') AS same_pages;
DROP INDEX par_parallel;

-- No worker can start: the leader reads every chunk itself, with the same result.
SET max_parallel_workers = 0;
CREATE INDEX par_parallel ON par USING rabitq (v ruvector_ip_ops) WITH (lists = 20) WHERE id % 3 <> 0;
SELECT index_pages('par_serial') = index_pages('par_parallel') AS same_pages;
RESET max_parallel_workers;
DROP INDEX par_serial, par_parallel;

-- CREATE INDEX CONCURRENTLY builds serially.
CREATE INDEX CONCURRENTLY par_concurrent ON par USING rabitq (v) WITH (lists = 20);
SELECT count(*) FROM (SELECT id FROM par ORDER BY v <-> (SELECT v FROM par WHERE id = 42) LIMIT 5) s;
DROP INDEX par_concurrent;
DROP TABLE par;

-- HOT-updated rows deleted by this transaction break their HOT chains: the build leaves
-- them out, so snapshots older than the index must not use it (indcheckxmin). Every page
-- has such rows, so the workers find them, and the parallel build must say so as the
-- serial one does. Half-empty pages keep the updates HOT.
CREATE TABLE hot (id int, v ruvector(16)) WITH (fillfactor = 50);
INSERT INTO hot SELECT i, array(SELECT sin(i * 0.31 + d) FROM generate_series(1, 16) d)::ruvector
FROM generate_series(1, 3000) i;
ALTER TABLE hot SET (parallel_workers = 2);
BEGIN;
UPDATE hot SET id = -id WHERE id % 4 = 0;
SELECT pg_stat_get_xact_tuples_hot_updated('hot'::regclass) AS hot_updates;
SET LOCAL max_parallel_maintenance_workers = 0;
CREATE INDEX hot_serial ON hot USING rabitq (v) WITH (lists = 10);
SET LOCAL max_parallel_maintenance_workers = 2;
CREATE INDEX hot_parallel ON hot USING rabitq (v) WITH (lists = 10);
SELECT indexrelid::regclass, indcheckxmin FROM pg_index WHERE indrelid = 'hot'::regclass
  ORDER BY indexrelid::regclass::text;
SELECT index_pages('hot_serial') = index_pages('hot_parallel') AS same_pages;
COMMIT;
DROP TABLE hot;
DROP FUNCTION index_pages(regclass);
RESET max_parallel_maintenance_workers;
RESET maintenance_work_mem;
