-- Inserts reuse the slots of rows VACUUM removed: DELETE, VACUUM and INSERT of as many rows
-- into the same lists leave a rabitq index's size unchanged, and the reused slots hold the
-- new rows' codes, vectors and ex codes (exact answers when every list is probed); plain,
-- bits = 3 and rerank_from_heap, then wide rows whose vectors span pages. Then VACUUM's
-- repack of lists that are mostly tombstones, and the free pages it leaves.
SET client_min_messages = warning;

-- 4000 rows in 30 clusters of 16 dimensions, generated deterministically; 20 queries
CREATE TABLE churn_rows (id int PRIMARY KEY, v ruvector(16));
INSERT INTO churn_rows
SELECT i, ('[' || array_to_string(array(
         SELECT round((10 * sin((i % 30) * 7 + d) + sin(i * 13 + d * 3)) :: numeric, 3)
         FROM generate_series(1, 16) d), ',') || ']')::ruvector
FROM generate_series(1, 4000) i;
CREATE TABLE churn_queries (qid int PRIMARY KEY, q ruvector);
INSERT INTO churn_queries SELECT qid, v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]'
FROM churn_rows JOIN generate_series(1, 20) qid ON churn_rows.id = qid * 97;

CREATE TABLE churn_plain AS SELECT * FROM churn_rows;
CREATE TABLE churn_bits AS SELECT * FROM churn_rows;
CREATE TABLE churn_heap AS SELECT * FROM churn_rows;
CREATE INDEX churn_plain_v ON churn_plain USING rabitq (v) WITH (lists = 8, rerank_from_heap = false);
CREATE INDEX churn_bits_v ON churn_bits USING rabitq (v) WITH (lists = 8, bits = 3, rerank_from_heap = false);
CREATE INDEX churn_heap_v ON churn_heap USING rabitq (v) WITH (lists = 8, rerank_from_heap = true);
CREATE TABLE churn_sizes AS SELECT relname::text AS idx, pg_relation_size(oid) AS built
FROM pg_class WHERE relname IN ('churn_plain_v', 'churn_bits_v', 'churn_heap_v');

-- A query's nearest 10 rows of a table, as "id:distance"
CREATE FUNCTION churn_top(tbl text, q ruvector, k int DEFAULT 10) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE top text[];
BEGIN
  EXECUTE format('SELECT array(SELECT id || '':'' || (v <-> $1) FROM %I ORDER BY v <-> $1 LIMIT $2)', tbl)
  INTO top USING q, k;
  RETURN top;
END $$;
-- Raises unless a nearest-rows query on `tbl` is planned as a scan of its index `tbl`_v
-- (under the caller's settings): a check whose side under test is not the index compares
-- the index with itself and cannot fail.
CREATE FUNCTION churn_planned(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
  FOR line IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM %I
      ORDER BY v <-> (SELECT q FROM churn_queries LIMIT 1) LIMIT 10', tbl) LOOP
    plan := plan || line || E'\n';
  END LOOP;
  IF position(format('Index Scan using %s_v ', tbl) IN plan) = 0 THEN
    RAISE EXCEPTION 'not a scan of %_v: %', tbl, plan;
  END IF;
END $$;
-- Queries whose nearest rows by the index, probing every list, differ from a sequential
-- scan's (taken first, with index scans off)
CREATE FUNCTION churn_mismatches(tables text[], queries text) RETURNS TABLE (tbl text, mismatches bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true);
  EXECUTE format('CREATE TEMP TABLE churn_exact ON COMMIT DROP AS
    SELECT t, q, churn_top(t, q) AS top FROM unnest($1) t, %I', queries) USING tables;
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('rabitq.probes', '1000', true);
  PERFORM set_config('rabitq.epsilon', '4', true);
  PERFORM churn_planned(t) FROM unnest(tables) t;
  RETURN QUERY SELECT t, count(*) FILTER (WHERE churn_top(t, q) <> top) FROM churn_exact
    GROUP BY t ORDER BY t;
END $$;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM churn_bits ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10;
RESET enable_seqscan;

-- 30% of the rows deleted; as many inserted, with the deleted rows' vectors in reverse
-- order: each lands in the list its vector came from, mostly in another row's slot
CREATE TABLE churn_gone AS SELECT * FROM churn_rows WHERE id % 10 IN (1, 4, 7);
DELETE FROM churn_plain WHERE id % 10 IN (1, 4, 7);
DELETE FROM churn_bits WHERE id % 10 IN (1, 4, 7);
DELETE FROM churn_heap WHERE id % 10 IN (1, 4, 7);
VACUUM churn_plain, churn_bits, churn_heap;
INSERT INTO churn_plain SELECT 10000 + id, v FROM churn_gone ORDER BY id DESC;
INSERT INTO churn_bits SELECT 10000 + id, v FROM churn_gone ORDER BY id DESC;
INSERT INTO churn_heap SELECT 10000 + id, v FROM churn_gone ORDER BY id DESC;
SELECT idx, pg_relation_size(idx) - built AS growth FROM churn_sizes ORDER BY idx;
SELECT * FROM churn_mismatches(array['churn_plain', 'churn_bits', 'churn_heap'], 'churn_queries');

-- Again, deleting reused slots too: they are reused once more
CREATE TABLE churn_gone2 AS SELECT * FROM churn_plain WHERE id % 10 IN (2, 6) OR id % 3 = 0 AND id > 10000;
DELETE FROM churn_plain WHERE id % 10 IN (2, 6) OR id % 3 = 0 AND id > 10000;
DELETE FROM churn_bits WHERE id % 10 IN (2, 6) OR id % 3 = 0 AND id > 10000;
DELETE FROM churn_heap WHERE id % 10 IN (2, 6) OR id % 3 = 0 AND id > 10000;
VACUUM churn_plain, churn_bits, churn_heap;
INSERT INTO churn_plain SELECT 20000 + id, v FROM churn_gone2 ORDER BY id DESC;
INSERT INTO churn_bits SELECT 20000 + id, v FROM churn_gone2 ORDER BY id DESC;
INSERT INTO churn_heap SELECT 20000 + id, v FROM churn_gone2 ORDER BY id DESC;
SELECT idx, pg_relation_size(idx) - built AS growth FROM churn_sizes ORDER BY idx;
SELECT * FROM churn_mismatches(array['churn_plain', 'churn_bits', 'churn_heap'], 'churn_queries');
SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM churn_plain;

-- Without VACUUM, deleted rows' slots are still in use: inserts append
DELETE FROM churn_plain WHERE id % 10 = 3;
INSERT INTO churn_plain SELECT 30000 + id, v FROM churn_rows WHERE id % 10 = 3;
SELECT pg_relation_size('churn_plain_v') > built AS grew FROM churn_sizes WHERE idx = 'churn_plain_v';

-- Wide rows, 100 of 3000 or 5000 dimensions. A vector of 3000 is two chunks on two pages,
-- rewritten in place (one record takes four pages: directory, code page, two chunk pages);
-- with bits = 3 its ex item has no room left in that record and is appended. A vector of
-- 5000 is three chunks: appended. Answers stay exact either way.
CREATE TABLE wide_rows (id int, v ruvector(3000));
INSERT INTO wide_rows SELECT i, array(SELECT sin(i * 0.37 + d * 0.01) * (i % 7 + 1)
  FROM generate_series(1, 3000) d)::ruvector FROM generate_series(1, 100) i;
CREATE TABLE wide_queries (qid int, q ruvector);
INSERT INTO wide_queries SELECT id, v + array_fill(0.1::real, ARRAY[3000])::ruvector
FROM wide_rows WHERE id % 20 = 5;
CREATE TABLE wider_rows (id int, v ruvector(5000));
INSERT INTO wider_rows SELECT i, array(SELECT sin(i * 0.37 + d * 0.01) * (i % 7 + 1)
  FROM generate_series(1, 5000) d)::ruvector FROM generate_series(1, 100) i;
CREATE TABLE wider_queries (qid int, q ruvector);
INSERT INTO wider_queries SELECT id, v + array_fill(0.1::real, ARRAY[5000])::ruvector
FROM wider_rows WHERE id % 20 = 5;
CREATE TABLE wide_plain AS SELECT * FROM wide_rows;
CREATE TABLE wide_bits AS SELECT * FROM wide_rows;
CREATE TABLE wider_plain AS SELECT * FROM wider_rows;
CREATE INDEX wide_plain_v ON wide_plain USING rabitq (v) WITH (lists = 2, rerank_from_heap = false);
CREATE INDEX wide_bits_v ON wide_bits USING rabitq (v) WITH (lists = 2, bits = 3, rerank_from_heap = false);
CREATE INDEX wider_plain_v ON wider_plain USING rabitq (v) WITH (lists = 2, rerank_from_heap = false);
INSERT INTO churn_sizes SELECT relname::text, pg_relation_size(oid)
FROM pg_class WHERE relname IN ('wide_plain_v', 'wide_bits_v', 'wider_plain_v');
DELETE FROM wide_plain WHERE id % 10 IN (1, 4, 7);
DELETE FROM wide_bits WHERE id % 10 IN (1, 4, 7);
DELETE FROM wider_plain WHERE id % 10 IN (1, 4, 7);
VACUUM wide_plain, wide_bits, wider_plain;
INSERT INTO wide_plain SELECT 1000 + id, v FROM wide_rows WHERE id % 10 IN (1, 4, 7) ORDER BY id DESC;
INSERT INTO wide_bits SELECT 1000 + id, v FROM wide_rows WHERE id % 10 IN (1, 4, 7) ORDER BY id DESC;
INSERT INTO wider_plain SELECT 1000 + id, v FROM wider_rows WHERE id % 10 IN (1, 4, 7) ORDER BY id DESC;
SELECT idx, pg_relation_size(idx) - built AS growth FROM churn_sizes WHERE idx = 'wide_plain_v';
SELECT idx, pg_relation_size(idx) > built AS grew FROM churn_sizes
WHERE idx IN ('wide_bits_v', 'wider_plain_v') ORDER BY idx;
SELECT * FROM churn_mismatches(array['wide_plain', 'wide_bits'], 'wide_queries');
SELECT * FROM churn_mismatches(array['wider_plain'], 'wider_queries');

-- Repacking. VACUUM repacks a list with more tombstones than live rows: its live rows move
-- to new pages, its old pages go to the index's free list, and appends to any list take
-- free pages before they extend the file. Answers stay exact (every list probed); plain,
-- bits = 3 and rerank_from_heap, then wide rows whose vectors span two and three pages.
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE TABLE repack_plain AS SELECT * FROM churn_rows;
CREATE TABLE repack_bits AS SELECT * FROM churn_rows;
CREATE TABLE repack_heap AS SELECT * FROM churn_rows;
CREATE INDEX repack_plain_v ON repack_plain USING rabitq (v) WITH (lists = 8, rerank_from_heap = false);
CREATE INDEX repack_bits_v ON repack_bits USING rabitq (v) WITH (lists = 8, bits = 3, rerank_from_heap = false);
CREATE INDEX repack_heap_v ON repack_heap USING rabitq (v) WITH (lists = 8, rerank_from_heap = true);
CREATE TABLE repack_sizes AS SELECT relname::text AS idx, pg_relation_size(oid) AS built
FROM pg_class WHERE relname IN ('repack_plain_v', 'repack_bits_v', 'repack_heap_v');

-- An index's pages by kind (the type in the special space), the free pages the metapage
-- counts, and whether that count is the number of free pages
CREATE FUNCTION churn_pages(idx text) RETURNS TABLE (codes bigint, vectors bigint, free bigint,
  counted int) LANGUAGE sql AS $$
  WITH pages AS (
    SELECT get_byte(get_raw_page(idx, b), 8188) AS type
    FROM generate_series(0, (pg_relation_size(idx) / 8192)::int - 1) b)
  SELECT count(*) FILTER (WHERE type = 4), count(*) FILTER (WHERE type = 5),
         count(*) FILTER (WHERE type = 6),
         (SELECT get_byte(p, 88) + 256 * get_byte(p, 89) FROM get_raw_page(idx, 0) p)
  FROM pages
$$;
-- Whether the index, probing every list, returns each row of each table exactly once
CREATE FUNCTION churn_once(tables text[]) RETURNS TABLE (tbl text, every_row_once boolean)
LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('rabitq.probes', '1000', true);
  PERFORM set_config('rabitq.iterative_scan', 'relaxed_order', true);
  PERFORM set_config('rabitq.max_scan_tuples', '100000000', true);
  FOREACH tbl IN ARRAY tables LOOP
    PERFORM churn_planned(tbl);
    EXECUTE format('SELECT count(*) = (SELECT count(*) FROM %I) AND count(DISTINCT id) = count(*)
      FROM (SELECT id FROM %I ORDER BY v <-> (SELECT q FROM churn_queries LIMIT 1)
            LIMIT 100000000) s', tbl, tbl) INTO ok;
    every_row_once := ok;
    RETURN NEXT;
  END LOOP;
END $$;
SELECT * FROM churn_mismatches(array['repack_plain', 'repack_bits', 'repack_heap'], 'churn_queries');
SELECT * FROM churn_once(array['repack_plain', 'repack_bits', 'repack_heap']);
SELECT idx, p.* FROM repack_sizes, churn_pages(idx) p ORDER BY idx;

-- 80% of the rows deleted (whole clusters, so two lists keep no row): VACUUM repacks every
-- list. The code and vector pages shrink to about a fifth and the rest are free. The file
-- does not grow: the empty lists are repacked first, and their freed pages take the live
-- rows of the others
DELETE FROM repack_plain WHERE id % 5 <> 0;
DELETE FROM repack_bits WHERE id % 5 <> 0;
DELETE FROM repack_heap WHERE id % 5 <> 0;
VACUUM repack_plain, repack_bits, repack_heap;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, churn_pages(idx) p ORDER BY idx;
SELECT * FROM churn_mismatches(array['repack_plain', 'repack_bits', 'repack_heap'], 'churn_queries');
SELECT * FROM churn_once(array['repack_plain', 'repack_bits', 'repack_heap']);
-- Nothing left to repack: a second VACUUM changes nothing
VACUUM repack_plain, repack_bits, repack_heap;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, churn_pages(idx) p ORDER BY idx;

-- The deleted rows inserted again: appends take the free pages, the file does not grow
INSERT INTO repack_plain SELECT 10000 + id, v FROM churn_rows WHERE id % 5 <> 0;
INSERT INTO repack_bits SELECT 10000 + id, v FROM churn_rows WHERE id % 5 <> 0;
INSERT INTO repack_heap SELECT 10000 + id, v FROM churn_rows WHERE id % 5 <> 0;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, churn_pages(idx) p ORDER BY idx;
SELECT * FROM churn_mismatches(array['repack_plain', 'repack_bits', 'repack_heap'], 'churn_queries');
SELECT * FROM churn_once(array['repack_plain', 'repack_bits', 'repack_heap']);

-- Every row deleted: every page of every list is freed; the empty index answers nothing,
-- then takes new rows from its free pages
DELETE FROM repack_plain;
DELETE FROM repack_bits;
DELETE FROM repack_heap;
VACUUM repack_plain, repack_bits, repack_heap;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, churn_pages(idx) p ORDER BY idx;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM repack_bits ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
RESET enable_seqscan;
INSERT INTO repack_plain SELECT * FROM churn_rows WHERE id % 4 = 0;
INSERT INTO repack_bits SELECT * FROM churn_rows WHERE id % 4 = 0;
INSERT INTO repack_heap SELECT * FROM churn_rows WHERE id % 4 = 0;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, churn_pages(idx) p ORDER BY idx;
SELECT * FROM churn_mismatches(array['repack_plain', 'repack_bits', 'repack_heap'], 'churn_queries');
SELECT * FROM churn_once(array['repack_plain', 'repack_bits', 'repack_heap']);

-- Wide rows: 3000 dimensions are two chunks a vector, 5000 three, which the repack links
-- page to page as it writes them
CREATE TABLE repack_wide AS SELECT * FROM wide_rows;
CREATE TABLE repack_wide_bits AS SELECT * FROM wide_rows;
CREATE TABLE repack_wider AS SELECT * FROM wider_rows;
CREATE INDEX repack_wide_v ON repack_wide USING rabitq (v) WITH (lists = 2, rerank_from_heap = false);
CREATE INDEX repack_wide_bits_v ON repack_wide_bits USING rabitq (v) WITH (lists = 2, bits = 3, rerank_from_heap = false);
CREATE INDEX repack_wider_v ON repack_wider USING rabitq (v) WITH (lists = 2, rerank_from_heap = false);
DELETE FROM repack_wide WHERE id % 4 <> 1;
DELETE FROM repack_wide_bits WHERE id % 4 <> 1;
DELETE FROM repack_wider WHERE id % 4 <> 1;
VACUUM repack_wide, repack_wide_bits, repack_wider;
SELECT idx, p.* FROM unnest(array['repack_wide_v', 'repack_wide_bits_v', 'repack_wider_v']) idx,
  churn_pages(idx) p ORDER BY idx;
SELECT * FROM churn_mismatches(array['repack_wide', 'repack_wide_bits'], 'wide_queries');
SELECT * FROM churn_mismatches(array['repack_wider'], 'wider_queries');
-- and the deleted rows back, into free pages
INSERT INTO repack_wide SELECT * FROM wide_rows WHERE id % 4 <> 1;
INSERT INTO repack_wide_bits SELECT * FROM wide_rows WHERE id % 4 <> 1;
INSERT INTO repack_wider SELECT * FROM wider_rows WHERE id % 4 <> 1;
SELECT * FROM churn_mismatches(array['repack_wide', 'repack_wide_bits'], 'wide_queries');
SELECT * FROM churn_mismatches(array['repack_wider'], 'wider_queries');

DROP TABLE repack_plain, repack_bits, repack_heap, repack_sizes, repack_wide, repack_wide_bits,
  repack_wider;
DROP TABLE churn_rows, churn_queries, churn_plain, churn_bits, churn_heap, churn_sizes,
  churn_gone, churn_gone2, wide_rows, wide_queries, wider_rows, wider_queries, wide_plain,
  wide_bits, wider_plain;
DROP FUNCTION churn_top(text, ruvector, int), churn_mismatches(text[], text), churn_once(text[]),
  churn_pages(text), churn_planned(text);
