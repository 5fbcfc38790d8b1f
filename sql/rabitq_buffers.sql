-- A scan pins the code pages of its lists through the buffers where this backend last
-- found them (ReadRecentBuffer, rabitq_recent.cpp) rather than ReadBuffer; the index's
-- block statistics must count those reads as ReadBuffer counts them. The same query run
-- again reads the same pages, so each run must count as many blocks as the one before
-- (the first also reads the centroids, once per backend). A recent pin that went
-- uncounted would leave only the metapage and the directory, two blocks a run. The
-- table's pages go the same way: a reranked row's page is pinned through the buffer this
-- backend last found it in and handed to the executor's fetch of the row, and the table's
-- block statistics must count those reads too.
SET client_min_messages = warning;
SET stats_fetch_consistency = none;
SELECT setseed(0.5);
-- No autovacuum: its index cleanup would count blocks too.
CREATE TABLE buf_items (id int, v ruvector(16)) WITH (autovacuum_enabled = off);
INSERT INTO buf_items
  SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::ruvector
  FROM generate_series(1, 3000) i;
CREATE INDEX buf_items_v ON buf_items USING rabitq (v) WITH (lists = 4);
SET rabitq.probes = 4;
SET enable_seqscan = off;
-- A backend sends its statistics when idle: after a forced flush, the next statement sees
-- every earlier one's.
CREATE FUNCTION index_blocks() RETURNS bigint LANGUAGE sql AS $$
  SELECT idx_blks_read + idx_blks_hit FROM pg_statio_user_indexes
  WHERE indexrelid = 'buf_items_v'::regclass $$;
CREATE FUNCTION heap_blocks() RETURNS bigint LANGUAGE sql AS $$
  SELECT heap_blks_read + heap_blks_hit FROM pg_statio_user_tables
  WHERE relid = 'buf_items'::regclass $$;
CREATE TEMP TABLE runs (run int, blocks bigint, heap bigint);
SELECT count(*) FROM (SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 7) LIMIT 10) s;
SELECT pg_stat_force_next_flush();
INSERT INTO runs VALUES (1, index_blocks(), heap_blocks());
SELECT count(*) FROM (SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 7) LIMIT 10) s;
SELECT pg_stat_force_next_flush();
INSERT INTO runs VALUES (2, index_blocks(), heap_blocks());
SELECT count(*) FROM (SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 7) LIMIT 10) s;
SELECT pg_stat_force_next_flush();
INSERT INTO runs VALUES (3, index_blocks(), heap_blocks());
-- Code pages of all four lists: the index's blocks but the metapage, centroids, directory.
SELECT b.blocks - a.blocks = c.blocks - b.blocks AS same,
       b.heap - a.heap = c.heap - b.heap AS same_heap,
       -- beyond the subquery's sequential scan of every page: the rows' pages
       c.heap - b.heap > pg_relation_size('buf_items') / 8192 AS rows_pages,
       b.blocks - a.blocks >= pg_relation_size('buf_items_v') / 8192 - 3 AS every_code_page
FROM runs a, runs b, runs c WHERE a.run = 1 AND b.run = 2 AND c.run = 3;
-- The index rebuilt in place (a new file, the same pages): this backend's record of where
-- the old file's pages were must not serve the new one's, and the new reads count alike.
REINDEX INDEX buf_items_v;
SELECT count(*) FROM (SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 7) LIMIT 10) s;
SELECT pg_stat_force_next_flush();
INSERT INTO runs VALUES (4, index_blocks(), heap_blocks());
SELECT count(*) FROM (SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 7) LIMIT 10) s;
SELECT pg_stat_force_next_flush();
INSERT INTO runs VALUES (5, index_blocks(), heap_blocks());
SELECT e.blocks - d.blocks = c.blocks - b.blocks AS same_after_reindex
FROM runs b, runs c, runs d, runs e WHERE b.run = 2 AND c.run = 3 AND d.run = 4 AND e.run = 5;
-- Rows updated since those pages were recorded: a new version on the same page (HOT) and
-- one moved to another page. The pinned page is only where the table's fetch starts; it
-- still finds the version this snapshot sees, so id 7 and 8, now equal, tie at distance 0.
UPDATE buf_items SET v = (SELECT v FROM buf_items WHERE id = 8) WHERE id = 7;
SELECT array_agg(id ORDER BY id) AS equal_rows FROM (
  SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 8) LIMIT 2) s;
UPDATE buf_items SET v = v WHERE id BETWEEN 1 AND 400;  -- fills pages, moves rows
SELECT array_agg(id ORDER BY id) AS equal_rows FROM (
  SELECT id FROM buf_items ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 8) LIMIT 2) s;
SELECT count(*) AS returned_once FROM (
  SELECT DISTINCT id FROM (SELECT id FROM buf_items
                           ORDER BY v <-> (SELECT v FROM buf_items WHERE id = 8) LIMIT 100) t) s;
-- The table emptied and refilled (new files): the recorded buffers are the old file's.
TRUNCATE buf_items;
INSERT INTO buf_items
  SELECT i, (SELECT array_agg(((i * 7 + j) % 13)::real) FROM generate_series(1, 16) j)::ruvector
  FROM generate_series(1, 300) i;
SELECT v <-> '[3,4,5,6,7,8,9,10,11,12,0,1,2,3,4,5]' AS distance
FROM buf_items ORDER BY v <-> '[3,4,5,6,7,8,9,10,11,12,0,1,2,3,4,5]' LIMIT 3;
DROP TABLE buf_items;
DROP FUNCTION index_blocks();
DROP FUNCTION heap_blocks();
