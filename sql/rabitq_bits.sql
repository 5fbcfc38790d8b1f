-- Extended RaBitQ codes (bits > 1) in the rabitq access method: builds, agreement with a
-- sequential scan when every list is probed, the three metrics, inserts, deletes, VACUUM,
-- rerank_from_heap, deterministic builds and option errors.
SET client_min_messages = warning;

-- 3000 rows in 30 clusters of 16 dimensions, as in the rabitq suite
CREATE TABLE bits_items (id int PRIMARY KEY, v ruvector(16));
INSERT INTO bits_items
SELECT i, ('[' || array_to_string(array(
         SELECT round((10 * sin((i % 30) * 7 + d) + sin(i * 13 + d * 3)) :: numeric, 3)
         FROM generate_series(1, 16) d), ',') || ']')::ruvector
FROM generate_series(1, 3000) i;
CREATE TABLE bits_queries (qid int PRIMARY KEY, q ruvector(16));
INSERT INTO bits_queries SELECT qid, v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]'
FROM bits_items JOIN generate_series(1, 40) qid ON bits_items.id = qid * 71;
CREATE TABLE bits_truth AS
SELECT qid, array(SELECT id FROM bits_items ORDER BY v <-> q, id LIMIT 10) AS ids FROM bits_queries;
CREATE FUNCTION bits_recall() RETURNS numeric LANGUAGE sql AS $$
  SELECT avg(cardinality(array(SELECT unnest(t.ids) INTERSECT
           SELECT unnest(array(SELECT id FROM bits_items ORDER BY v <-> q.q LIMIT 10))))) / 10
  FROM bits_truth t JOIN bits_queries q USING (qid) $$;
-- Queries whose first 10 distances by the index `idx` differ from the exact ones, per
-- metric operator. The exact ones are sorted first, with index scans off behind an OFFSET 0
-- fence; then the side under test must be planned as a scan of `idx` (else this raises):
-- a check that compares the index with itself cannot fail.
CREATE FUNCTION bits_mismatches(op text, idx text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  tested text := format('SELECT qid, array(SELECT v %1$s q.q FROM bits_items ORDER BY v %1$s q.q
    LIMIT 10) AS top FROM bits_queries q', op);
  line text;
  plan text := '';
  n bigint;
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true);
  EXECUTE format('CREATE TEMP TABLE bits_exact ON COMMIT DROP AS SELECT qid, array(SELECT d
    FROM (SELECT v %1$s q.q AS d FROM bits_items OFFSET 0) s ORDER BY d LIMIT 10) AS top
    FROM bits_queries q', op);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_seqscan', 'off', true);
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || tested LOOP plan := plan || line || E'\n'; END LOOP;
  IF position('Index Scan using ' || idx || ' ' IN plan) = 0 THEN
    RAISE EXCEPTION 'not a scan of %: %', idx, plan;
  END IF;
  EXECUTE 'SELECT count(*) FROM (' || tested || ') t JOIN bits_exact e USING (qid)
    WHERE t.top <> e.top' INTO n;
  RETURN n;
END $$;

-- Every supported width builds, is used, and answers like a sequential scan when every
-- list is probed with a wide bound
SET enable_seqscan = off;
CREATE INDEX bits_l2 ON bits_items USING rabitq (v) WITH (bits = 3);
EXPLAIN (COSTS OFF) SELECT id FROM bits_items ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
-- the recall's side under test, planned as the index scan (bits_truth predates the index)
EXPLAIN (COSTS OFF) SELECT array(SELECT id FROM bits_items ORDER BY v <-> q.q LIMIT 10) FROM bits_queries q;
SELECT bits_recall() >= 0.95 AS recall_ok;
SET rabitq.probes = 1000;
SET rabitq.epsilon = 4;
SELECT bits_mismatches('<->', 'bits_l2') AS bits3_mismatches;
SELECT id, round((v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')::numeric, 4) AS d
FROM bits_items ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
DROP INDEX bits_l2;
CREATE INDEX bits_l2 ON bits_items USING rabitq (v) WITH (bits = 2);
SELECT bits_mismatches('<->', 'bits_l2') AS bits2_mismatches;
DROP INDEX bits_l2;
CREATE INDEX bits_l2 ON bits_items USING rabitq (v) WITH (bits = 8);
SELECT bits_mismatches('<->', 'bits_l2') AS bits8_mismatches;
DROP INDEX bits_l2;
CREATE INDEX bits_ip ON bits_items USING rabitq (v ruvector_ip_ops) WITH (bits = 5);
SELECT bits_mismatches('<#>', 'bits_ip') AS ip_mismatches;
DROP INDEX bits_ip;
CREATE INDEX bits_cos ON bits_items USING rabitq (v ruvector_cosine_ops) WITH (bits = 5);
SELECT bits_mismatches('<=>', 'bits_cos') AS cosine_mismatches;
DROP INDEX bits_cos;
RESET rabitq.epsilon;
RESET rabitq.probes;

-- Inserts after build, deletes and VACUUM
CREATE INDEX bits_l2 ON bits_items USING rabitq (v) WITH (bits = 4);
INSERT INTO bits_items VALUES (10001, '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]'),
                              (10002, NULL);
SELECT id FROM bits_items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 1;
SELECT count(*), count(DISTINCT id) FROM
  (SELECT id FROM bits_items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
DELETE FROM bits_items WHERE id = 10001 OR id % 2 = 0;
VACUUM bits_items;
SELECT id FROM bits_items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 1;
SELECT count(*), count(DISTINCT id), bool_and(id % 2 = 1) AS only_live FROM
  (SELECT id FROM bits_items ORDER BY v <-> '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]' LIMIT 100000) s;
SET rabitq.probes = 1000;
SET rabitq.epsilon = 4;
-- rows inserted after the build are encoded like the build's
INSERT INTO bits_items SELECT id + 1, v FROM bits_items WHERE id % 2 = 1 AND id < 3000;
SELECT bits_mismatches('<->', 'bits_l2') AS after_insert_mismatches;
RESET rabitq.epsilon;
RESET rabitq.probes;
-- the copies go again: rows at equal distance would hide two rows returned out of order
DELETE FROM bits_items WHERE id % 2 = 0;
-- a NULL query orders nothing but still returns rows
SELECT count(*) FROM (SELECT id FROM bits_items ORDER BY v <-> NULL LIMIT 7) s;
DROP INDEX bits_l2;

-- Reranking from the table with ex codes
CREATE INDEX bits_heap ON bits_items USING rabitq (v) WITH (bits = 5, rerank_from_heap = true);
SET rabitq.probes = 1000;
SET rabitq.epsilon = 4;
SELECT bits_mismatches('<->', 'bits_heap') AS heap_mismatches;
RESET rabitq.epsilon;
RESET rabitq.probes;
UPDATE bits_items SET v = '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' WHERE id = 1;
SELECT id FROM bits_items ORDER BY v <-> '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]' LIMIT 2;
DROP INDEX bits_heap;

-- Deterministic: two builds with the same seed and bits give the same pages (LSNs aside);
-- ex codes make the index larger than the 1-bit one
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE INDEX bits_a ON bits_items USING rabitq (v) WITH (lists = 20, seed = 7, bits = 5);
CREATE INDEX bits_b ON bits_items USING rabitq (v) WITH (lists = 20, seed = 7, bits = 5);
CREATE INDEX bits_one ON bits_items USING rabitq (v) WITH (lists = 20, seed = 7);
CREATE FUNCTION bits_index_bytes(idx regclass) RETURNS SETOF bytea LANGUAGE sql AS $$
  SELECT substr(get_raw_page(idx::text, b), 9)
  FROM generate_series(0, pg_relation_size(idx) / 8192 - 1) b ORDER BY b $$;
SELECT pg_relation_size('bits_a') = pg_relation_size('bits_b') AS same_size,
  (SELECT array_agg(x) FROM bits_index_bytes('bits_a') x) = (SELECT array_agg(x) FROM bits_index_bytes('bits_b') x) AS same_bytes,
  pg_relation_size('bits_a') > pg_relation_size('bits_one') AS larger_than_one_bit;
-- the metapage records the width (the bits field, at byte 22 of the contents)
SELECT get_byte(get_raw_page('bits_a', 0), 24 + 22) AS meta_bits_a,
       get_byte(get_raw_page('bits_one', 0), 24 + 22) AS meta_bits_one;
DROP INDEX bits_a, bits_b, bits_one;

-- An unlogged table (the init fork records the width too), then rows
CREATE UNLOGGED TABLE bits_unlogged (v ruvector(4));
CREATE INDEX ON bits_unlogged USING rabitq (v) WITH (bits = 6);
INSERT INTO bits_unlogged VALUES ('[1,1,1,1]'), ('[2,2,2,2]'), ('[0,0,0,1]');
SELECT v FROM bits_unlogged ORDER BY v <-> '[1,1,1,1]' LIMIT 3;

-- Wide rows: ex planes take bits × dimensions / 8 bytes on one page
CREATE TABLE bits_wide (id int, v ruvector(3000));
INSERT INTO bits_wide SELECT i, array_fill(i::real, ARRAY[3000])::ruvector FROM generate_series(1, 20) i;
CREATE INDEX ON bits_wide USING rabitq (v) WITH (lists = 2, bits = 2);
SELECT id FROM bits_wide ORDER BY v <-> array_fill(7.2::real, ARRAY[3000])::ruvector LIMIT 3;
RESET enable_seqscan;

-- Options
CREATE INDEX ON bits_items USING rabitq (v) WITH (bits = 0);
CREATE INDEX ON bits_items USING rabitq (v) WITH (bits = 9);
CREATE INDEX ON bits_items USING rabitq (v) WITH (bits = 'many');
CREATE TABLE bits_wider (v ruvector(9000));
CREATE INDEX ON bits_wider USING rabitq (v) WITH (bits = 8);
CREATE INDEX ON bits_wider USING rabitq (v) WITH (bits = 7);
-- Wide rows build in smaller batches under the default maintenance_work_mem; below the
-- sample plus 16 rows the build says what it needs.
SET maintenance_work_mem = '1MB';
CREATE INDEX ON bits_wider USING rabitq (v);
-- Rows that overflow it while they are sampled stop the build then.
INSERT INTO bits_wider SELECT array_fill(i::real, ARRAY[9000])::ruvector FROM generate_series(1, 40) i;
CREATE INDEX ON bits_wider USING rabitq (v);
-- A k-means sample larger than maintenance_work_mem holds is cut to what it holds, with a
-- NOTICE, and the build goes on: a first CREATE INDEX runs under the default setting.
CREATE TABLE bits_sampled (id int, v ruvector(64));
INSERT INTO bits_sampled SELECT i, array(SELECT ((i * 7919 + j * 104729) % 1000)::real
  FROM generate_series(1, 64) j)::ruvector FROM generate_series(1, 3000) i;
SET client_min_messages = notice;
CREATE INDEX bits_sampled_v ON bits_sampled USING rabitq (v);
SET client_min_messages = warning;
SET enable_seqscan = off;
SET rabitq.probes = 1000;
SELECT id FROM bits_sampled ORDER BY v <-> (SELECT v FROM bits_sampled WHERE id = 17) LIMIT 1;
RESET rabitq.probes;
RESET enable_seqscan;
RESET maintenance_work_mem;
CREATE TABLE bits_nodims (v ruvector);
CREATE INDEX ON bits_nodims USING rabitq (v) WITH (bits = 3);

DROP TABLE bits_items, bits_queries, bits_truth, bits_unlogged, bits_wide, bits_wider, bits_nodims,
  bits_sampled;
DROP FUNCTION bits_recall(), bits_mismatches(text, text), bits_index_bytes(regclass);
