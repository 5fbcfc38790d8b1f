-- The rabitq access method: plans, exact agreement with a sequential scan when every
-- list is probed, the three metrics, options, GUCs, inserts, deletes, VACUUM, recall on a
-- clustered set, deterministic builds and every bad input.
SET client_min_messages = warning;

-- 3000 rows in 30 clusters of 16 dimensions, generated deterministically
CREATE TABLE items (id int PRIMARY KEY, v ruvector(16));
INSERT INTO items
SELECT i, ('[' || array_to_string(array(
         SELECT round((10 * sin((i % 30) * 7 + d) + sin(i * 13 + d * 3)) :: numeric, 3)
         FROM generate_series(1, 16) d), ',') || ']')::ruvector
FROM generate_series(1, 3000) i;
CREATE TABLE queries (qid int PRIMARY KEY, q ruvector(16));
INSERT INTO queries SELECT qid, v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]'
FROM items JOIN generate_series(1, 40) qid ON items.id = qid * 71;
-- Exact nearest 10 for the recall check, taken before any index exists
CREATE TABLE truth AS
SELECT qid, array(SELECT id FROM items ORDER BY v <-> q, id LIMIT 10) AS ids FROM queries;

-- Raises unless `query` is planned with an index scan of `idx`: a check whose side under
-- test is not the index compares the index with itself, or nothing, and cannot fail.
CREATE FUNCTION assert_index_scan(query text, idx text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP plan := plan || line || E'\n'; END LOOP;
  IF position('Index Scan using ' || idx || ' ' IN plan) = 0 THEN
    RAISE EXCEPTION 'not a scan of %: %', idx, plan;
  END IF;
  RETURN true;
END $$;
-- Queries whose nearest 10 rows of `tbl` by `op`, read through the index `idx` with every
-- list probed, differ from the exact ones. Distances are compared: rows at equal distance
-- may come in either order. The exact ones are sorted with index scans off behind an
-- OFFSET 0 fence, before the index side runs.
CREATE FUNCTION exact_mismatches(tbl text, op text, idx text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  tested text := format('SELECT qid, array(SELECT v %2$s q.q FROM %1$I ORDER BY v %2$s q.q LIMIT 10)
    AS top FROM queries q', tbl, op);
  n bigint;
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true);
  EXECUTE format('CREATE TEMP TABLE exact_top ON COMMIT DROP AS SELECT qid, array(SELECT d
    FROM (SELECT v %2$s q.q AS d FROM %1$I OFFSET 0) s ORDER BY d LIMIT 10) AS top FROM queries q',
    tbl, op);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('rabitq.probes', '65536', true);
  PERFORM set_config('rabitq.epsilon', '4', true);
  PERFORM assert_index_scan(tested, idx);
  EXECUTE format('SELECT count(*) FROM (%s) t JOIN exact_top e USING (qid) WHERE t.top <> e.top',
    tested) INTO n;
  RETURN n;
END $$;

CREATE INDEX items_l2 ON items USING rabitq (v ruvector_l2_ops);
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'items_l2';
-- a table this small is as fast to sort; force the plan to show the index is usable
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
-- no ORDER BY: never the index
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE v = '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]';
RESET enable_seqscan;

-- Recall@10 against the exact results at the default probes and epsilon
CREATE FUNCTION recall() RETURNS numeric LANGUAGE sql AS $$
  SELECT avg(cardinality(array(SELECT unnest(t.ids) INTERSECT
           SELECT unnest(array(SELECT id FROM items ORDER BY v <-> q.q LIMIT 10))))) / 10
  FROM truth t JOIN queries q USING (qid) $$;
SET enable_seqscan = off;
SELECT assert_index_scan('SELECT array(SELECT id FROM items ORDER BY v <-> q.q LIMIT 10) FROM queries q',
  'items_l2') AS planned, recall() >= 0.95 AS recall_ok;
RESET enable_seqscan;

-- Probing every list returns exactly the sequential scan's rows and distances
SELECT exact_mismatches('items', '<->', 'items_l2') AS l2_mismatches;
SET rabitq.probes = 1000;
SELECT id, round((v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')::numeric, 4) AS d
FROM items ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
RESET rabitq.probes;

-- k larger than the table: every row, in order (forcing the index: a sort would win)
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id) FROM
  (SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
SET rabitq.iterative_scan = off;
SET rabitq.probes = 1;
SELECT count(*) < 3000 AS fewer_rows_without_iterative_scan FROM
  (SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
-- strict_order returns rows in distance order, but for rows estimated past their error
-- bound: at the default epsilon some hundred of the 3000 here, at 4 none
SET rabitq.iterative_scan = strict_order;
SET rabitq.epsilon = 4;
SELECT bool_and(d >= lag_d) AS ordered, count(*) FROM (
  SELECT d, lag(d, 1, 0::float8) OVER () AS lag_d FROM
    (SELECT v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' AS d FROM items
     ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s) t;
RESET rabitq.epsilon;
RESET rabitq.iterative_scan;
RESET rabitq.probes;
RESET enable_seqscan;

-- A selective filter still gets its k rows (iterative scan is on by default). The
-- planner would sort the 1% that pass; with sorts off only the index is left.
SET enable_sort = off;
SELECT assert_index_scan('SELECT id FROM items WHERE id % 100 = 0
  ORDER BY v <-> ''[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'' LIMIT 10', 'items_l2');
SELECT count(*) FROM (SELECT id FROM items WHERE id % 100 = 0
  ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 10) s;
RESET enable_sort;

-- Inserts after build, NULLs, deletes and VACUUM
INSERT INTO items VALUES (10001, '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]'),
                         (10002, NULL);
SELECT id FROM items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 1;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
DELETE FROM items WHERE id = 10001 OR id % 2 = 0;
VACUUM items;
SELECT id FROM items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 1;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
-- a NULL query orders nothing but still returns rows
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> NULL LIMIT 7) s;
RESET enable_seqscan;

-- Inner product and cosine
CREATE INDEX items_ip ON items USING rabitq (v ruvector_ip_ops);
CREATE INDEX items_cos ON items USING rabitq (v ruvector_cosine_ops);
SELECT exact_mismatches('items', '<#>', 'items_ip') AS ip_mismatches;
SELECT exact_mismatches('items', '<=>', 'items_cos') AS cosine_mismatches;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <#> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
-- a zero vector has no cosine distance: not indexed, and a zero query returns rows unordered
INSERT INTO items VALUES (20000, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <=> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 5) s;
RESET enable_seqscan;
DROP INDEX items_ip, items_cos;

-- Deterministic: two builds with the same seed give the same pages (LSNs aside)
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE INDEX det_a ON items USING rabitq (v) WITH (lists = 20, seed = 7);
CREATE INDEX det_b ON items USING rabitq (v) WITH (lists = 20, seed = 7);
CREATE INDEX det_c ON items USING rabitq (v) WITH (lists = 20, seed = 8);
CREATE FUNCTION index_bytes(idx regclass) RETURNS SETOF bytea LANGUAGE sql AS $$
  SELECT substr(get_raw_page(idx::text, b), 9)
  FROM generate_series(0, pg_relation_size(idx) / 8192 - 1) b ORDER BY b $$;
SELECT pg_relation_size('det_a') = pg_relation_size('det_b') AS same_size,
  (SELECT array_agg(x) FROM index_bytes('det_a') x) = (SELECT array_agg(x) FROM index_bytes('det_b') x) AS same_bytes,
  (SELECT array_agg(x) FROM index_bytes('det_a') x) = (SELECT array_agg(x) FROM index_bytes('det_c') x) AS other_seed_same;
DROP INDEX det_a, det_b, det_c;
-- From 1024 lists k-means runs in two levels: deterministic too, and an index scan over
-- every list is still exact.
CREATE INDEX det_h1 ON items USING rabitq (v) WITH (lists = 1024, sample_factor = 2, seed = 7);
CREATE INDEX det_h2 ON items USING rabitq (v) WITH (lists = 1024, sample_factor = 2, seed = 7);
SELECT (SELECT array_agg(x) FROM index_bytes('det_h1') x) = (SELECT array_agg(x) FROM index_bytes('det_h2') x) AS same_bytes;
DROP INDEX det_h2;
-- (items_l2 is set aside so that the plan must take det_h1)
BEGIN;
DROP INDEX items_l2;
SELECT exact_mismatches('items', '<->', 'det_h1') AS two_level_mismatches;
ROLLBACK;
DROP INDEX det_h1;

-- Empty table, then rows
CREATE TABLE empty_items (v ruvector(4));
CREATE INDEX ON empty_items USING rabitq (v);
SET enable_seqscan = off;
SELECT * FROM empty_items ORDER BY v <-> '[1,1,1,1]' LIMIT 3;
INSERT INTO empty_items VALUES ('[1,1,1,1]'), ('[2,2,2,2]'), ('[0,0,0,1]');
SELECT v FROM empty_items ORDER BY v <-> '[1,1,1,1]' LIMIT 3;

-- Large dimensions: codes and vectors (copies kept in the index) span pages
CREATE TABLE wide (id int, v ruvector(3000));
INSERT INTO wide SELECT i, array_fill(i::real, ARRAY[3000])::ruvector FROM generate_series(1, 20) i;
CREATE INDEX ON wide USING rabitq (v) WITH (lists = 2, rerank_from_heap = false);
SELECT id FROM wide ORDER BY v <-> array_fill(7.2::real, ARRAY[3000])::ruvector LIMIT 3;
INSERT INTO wide VALUES (99, array_fill(7.25::real, ARRAY[3000])::ruvector);
SELECT id FROM wide ORDER BY v <-> array_fill(7.2::real, ARRAY[3000])::ruvector LIMIT 3;
RESET enable_seqscan;

-- Reranking from the table (rerank_from_heap, the default) against copies of the vectors
-- kept in the index: no vector pages, the same answers
CREATE TABLE heap_items AS SELECT * FROM items WHERE v IS NOT NULL;
ALTER TABLE heap_items ADD PRIMARY KEY (id);
CREATE INDEX heap_items_v ON heap_items USING rabitq (v);
CREATE INDEX heap_items_full ON heap_items USING rabitq (v) WITH (rerank_from_heap = false);
SELECT pg_relation_size('heap_items_v') < pg_relation_size('heap_items_full') AS smaller;
DROP INDEX heap_items_full;
SELECT exact_mismatches('heap_items', '<->', 'heap_items_v') AS heap_mismatches;
SET enable_seqscan = off;
SET rabitq.probes = 1000;
-- rows updated or deleted since the build: only the versions this snapshot sees
UPDATE heap_items SET v = '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' WHERE id = 1;
DELETE FROM heap_items WHERE id = 3;
SELECT id FROM heap_items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 2;
BEGIN;
DELETE FROM heap_items WHERE id = 1;
SELECT id FROM heap_items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 1;
ROLLBACK;
SELECT count(*) = (SELECT count(*) FROM heap_items) AS every_row, count(DISTINCT id) = count(*) AS no_duplicates
FROM (SELECT id FROM heap_items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
-- an expression cannot be read back from the table: its index keeps copies unless asked
CREATE INDEX ON heap_items USING rabitq ((v::text::ruvector(16))) WITH (rerank_from_heap = true);
CREATE INDEX heap_items_expr ON heap_items USING rabitq ((v::text::ruvector(16))) WITH (lists = 4);
SELECT id FROM heap_items ORDER BY v::text::ruvector(16) <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 1;
DROP INDEX heap_items_expr;
RESET rabitq.probes;
RESET enable_seqscan;

-- Options
CREATE INDEX ON items USING rabitq (v) WITH (lists = 0, seed = 3, sample_factor = 16, kmeans_iterations = 5);
CREATE INDEX ON items USING rabitq (v) WITH (lists = -1);
CREATE INDEX ON items USING rabitq (v) WITH (lists = 70000);
CREATE INDEX ON items USING rabitq (v) WITH (bits = 9);
CREATE INDEX ON items USING rabitq (v) WITH (sample_factor = 0);
CREATE INDEX ON items USING rabitq (v) WITH (colour = 1);
-- more lists than rows: fewer lists, with a notice
SET client_min_messages = notice;
CREATE INDEX ON empty_items USING rabitq (v) WITH (lists = 50);
SET client_min_messages = warning;

-- GUCs
SET rabitq.probes = 0;
SET rabitq.epsilon = -1;
SET rabitq.iterative_scan = sideways;
SET rabitq.max_scan_tuples = 0;

-- Bad input
SET enable_seqscan = off;
SELECT id FROM items ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;
CREATE TABLE nodims (v ruvector);
CREATE INDEX ON nodims USING rabitq (v);
CREATE TABLE ints (i int);
CREATE INDEX ON ints USING rabitq (i);
CREATE INDEX ON items USING rabitq (v ruvector_l2_ops, id);
INSERT INTO empty_items VALUES ('[1,2]');
SELECT '[1,NaN,3]'::ruvector;
SET enable_seqscan = off;
SET enable_indexscan = on;
SELECT id FROM items WHERE v = '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 1;
RESET enable_seqscan;

DROP TABLE items, queries, truth, empty_items, wide, nodims, ints;
DROP FUNCTION recall(), index_bytes(regclass), assert_index_scan(text, text),
  exact_mismatches(text, text, text);
