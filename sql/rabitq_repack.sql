-- VACUUM repacks a list with more tombstones than live rows: its live rows move to new pages,
-- its old pages go to the index's free list, and appends to any list take free pages
-- before they extend the file. Answers stay exact (every list probed); plain, bits = 3 and
-- rerank_from_heap, then wide rows whose vectors span two and three pages.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pageinspect;

-- 4000 rows in 30 clusters of 16 dimensions, generated deterministically; 20 queries
CREATE TABLE repack_rows (id int PRIMARY KEY, v ruvector(16));
INSERT INTO repack_rows
SELECT i, ('[' || array_to_string(array(
         SELECT round((10 * sin((i % 30) * 7 + d) + sin(i * 13 + d * 3)) :: numeric, 3)
         FROM generate_series(1, 16) d), ',') || ']')::ruvector
FROM generate_series(1, 4000) i;
CREATE TABLE repack_queries (qid int PRIMARY KEY, q ruvector);
INSERT INTO repack_queries SELECT qid, v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]'
FROM repack_rows JOIN generate_series(1, 20) qid ON repack_rows.id = qid * 97;

CREATE TABLE repack_plain AS SELECT * FROM repack_rows;
CREATE TABLE repack_bits AS SELECT * FROM repack_rows;
CREATE TABLE repack_heap AS SELECT * FROM repack_rows;
CREATE INDEX repack_plain_v ON repack_plain USING rabitq (v) WITH (lists = 8);
CREATE INDEX repack_bits_v ON repack_bits USING rabitq (v) WITH (lists = 8, bits = 3);
CREATE INDEX repack_heap_v ON repack_heap USING rabitq (v) WITH (lists = 8, rerank_from_heap = true);
CREATE TABLE repack_sizes AS SELECT relname::text AS idx, pg_relation_size(oid) AS built
FROM pg_class WHERE relname IN ('repack_plain_v', 'repack_bits_v', 'repack_heap_v');

-- An index's pages by kind (the type in the special space), the free pages the metapage
-- counts, and whether that count is the number of free pages
CREATE FUNCTION repack_pages(idx text) RETURNS TABLE (codes bigint, vectors bigint, free bigint,
  counted int) LANGUAGE sql AS $$
  WITH pages AS (
    SELECT get_byte(get_raw_page(idx, b), 8188) AS type
    FROM generate_series(0, (pg_relation_size(idx) / 8192)::int - 1) b)
  SELECT count(*) FILTER (WHERE type = 4), count(*) FILTER (WHERE type = 5),
         count(*) FILTER (WHERE type = 6),
         (SELECT get_byte(p, 88) + 256 * get_byte(p, 89) FROM get_raw_page(idx, 0) p)
  FROM pages
$$;
-- A query's nearest 10 rows of a table, as "id:distance"
CREATE FUNCTION repack_top(tbl text, q ruvector, k int DEFAULT 10) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE top text[];
BEGIN
  EXECUTE format('SELECT array(SELECT id || '':'' || (v <-> $1) FROM %I ORDER BY v <-> $1 LIMIT $2)', tbl)
  INTO top USING q, k;
  RETURN top;
END $$;
-- Whether the index, probing every list, returns each row of the table exactly once
CREATE FUNCTION repack_once(tbl text, q ruvector) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean;
BEGIN
  EXECUTE format('SELECT count(*) = (SELECT count(*) FROM %I) AND count(DISTINCT id) = count(*)
    FROM (SELECT id FROM %I ORDER BY v <-> $1 LIMIT 100000000) s', tbl, tbl) INTO ok USING q;
  RETURN ok;
END $$;
-- Queries whose nearest rows by the index, probing every list, differ from a sequential
-- scan's; and whether the index returns every row once
CREATE FUNCTION repack_check(tables text[], queries text)
RETURNS TABLE (tbl text, mismatches bigint, every_row_once boolean) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true);
  EXECUTE format('CREATE TEMP TABLE repack_exact ON COMMIT DROP AS
    SELECT t, q, repack_top(t, q) AS top FROM unnest($1) t, %I', queries) USING tables;
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('rabitq.probes', '1000', true);
  PERFORM set_config('rabitq.epsilon', '4', true);
  PERFORM set_config('rabitq.iterative_scan', 'relaxed_order', true);
  PERFORM set_config('rabitq.max_scan_tuples', '100000000', true);
  RETURN QUERY SELECT t, count(*) FILTER (WHERE repack_top(t, q) <> top), repack_once(t, min(q::text)::ruvector)
    FROM repack_exact GROUP BY t ORDER BY t;
END $$;
SELECT * FROM repack_check(array['repack_plain', 'repack_bits', 'repack_heap'], 'repack_queries');
SELECT idx, p.* FROM repack_sizes, repack_pages(idx) p ORDER BY idx;

-- 80% of the rows deleted (whole clusters, so two lists keep no row): VACUUM repacks every
-- list. The code and vector pages shrink to about a fifth and the rest are free. The file
-- does not grow: the empty lists are repacked first, and their freed pages take the live
-- rows of the others
DELETE FROM repack_plain WHERE id % 5 <> 0;
DELETE FROM repack_bits WHERE id % 5 <> 0;
DELETE FROM repack_heap WHERE id % 5 <> 0;
VACUUM repack_plain, repack_bits, repack_heap;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, repack_pages(idx) p ORDER BY idx;
SELECT * FROM repack_check(array['repack_plain', 'repack_bits', 'repack_heap'], 'repack_queries');
-- Nothing left to repack: a second VACUUM changes nothing
VACUUM repack_plain, repack_bits, repack_heap;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, repack_pages(idx) p ORDER BY idx;

-- The deleted rows inserted again: appends take the free pages, the file does not grow
INSERT INTO repack_plain SELECT 10000 + id, v FROM repack_rows WHERE id % 5 <> 0;
INSERT INTO repack_bits SELECT 10000 + id, v FROM repack_rows WHERE id % 5 <> 0;
INSERT INTO repack_heap SELECT 10000 + id, v FROM repack_rows WHERE id % 5 <> 0;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, repack_pages(idx) p ORDER BY idx;
SELECT * FROM repack_check(array['repack_plain', 'repack_bits', 'repack_heap'], 'repack_queries');

-- Every row deleted: every page of every list is freed; the empty index answers nothing,
-- then takes new rows from its free pages
DELETE FROM repack_plain;
DELETE FROM repack_bits;
DELETE FROM repack_heap;
VACUUM repack_plain, repack_bits, repack_heap;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, repack_pages(idx) p ORDER BY idx;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM repack_bits ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10) s;
RESET enable_seqscan;
INSERT INTO repack_plain SELECT * FROM repack_rows WHERE id % 4 = 0;
INSERT INTO repack_bits SELECT * FROM repack_rows WHERE id % 4 = 0;
INSERT INTO repack_heap SELECT * FROM repack_rows WHERE id % 4 = 0;
SELECT idx, (pg_relation_size(idx) - built) / 8192 AS grown_pages, p.*
FROM repack_sizes, repack_pages(idx) p ORDER BY idx;
SELECT * FROM repack_check(array['repack_plain', 'repack_bits', 'repack_heap'], 'repack_queries');

-- Wide rows: 3000 dimensions are two chunks a vector, 5000 three, which the repack links
-- page to page as it writes them
CREATE TABLE repack_wide_rows (id int, v ruvector(3000));
INSERT INTO repack_wide_rows SELECT i, array(SELECT sin(i * 0.37 + d * 0.01) * (i % 7 + 1)
  FROM generate_series(1, 3000) d)::ruvector FROM generate_series(1, 100) i;
CREATE TABLE repack_wide_queries (qid int, q ruvector);
INSERT INTO repack_wide_queries SELECT id, v + array_fill(0.1::real, ARRAY[3000])::ruvector
FROM repack_wide_rows WHERE id % 20 = 5;
CREATE TABLE repack_wider_rows (id int, v ruvector(5000));
INSERT INTO repack_wider_rows SELECT i, array(SELECT sin(i * 0.37 + d * 0.01) * (i % 7 + 1)
  FROM generate_series(1, 5000) d)::ruvector FROM generate_series(1, 100) i;
CREATE TABLE repack_wider_queries (qid int, q ruvector);
INSERT INTO repack_wider_queries SELECT id, v + array_fill(0.1::real, ARRAY[5000])::ruvector
FROM repack_wider_rows WHERE id % 20 = 5;
CREATE TABLE repack_wide AS SELECT * FROM repack_wide_rows;
CREATE TABLE repack_wide_bits AS SELECT * FROM repack_wide_rows;
CREATE TABLE repack_wider AS SELECT * FROM repack_wider_rows;
CREATE INDEX repack_wide_v ON repack_wide USING rabitq (v) WITH (lists = 2);
CREATE INDEX repack_wide_bits_v ON repack_wide_bits USING rabitq (v) WITH (lists = 2, bits = 3);
CREATE INDEX repack_wider_v ON repack_wider USING rabitq (v) WITH (lists = 2);
DELETE FROM repack_wide WHERE id % 4 <> 1;
DELETE FROM repack_wide_bits WHERE id % 4 <> 1;
DELETE FROM repack_wider WHERE id % 4 <> 1;
VACUUM repack_wide, repack_wide_bits, repack_wider;
SELECT idx, p.* FROM unnest(array['repack_wide_v', 'repack_wide_bits_v', 'repack_wider_v']) idx,
  repack_pages(idx) p ORDER BY idx;
SELECT * FROM repack_check(array['repack_wide', 'repack_wide_bits'], 'repack_wide_queries');
SELECT * FROM repack_check(array['repack_wider'], 'repack_wider_queries');
-- and the deleted rows back, into free pages
INSERT INTO repack_wide SELECT * FROM repack_wide_rows WHERE id % 4 <> 1;
INSERT INTO repack_wide_bits SELECT * FROM repack_wide_rows WHERE id % 4 <> 1;
INSERT INTO repack_wider SELECT * FROM repack_wider_rows WHERE id % 4 <> 1;
SELECT * FROM repack_check(array['repack_wide', 'repack_wide_bits'], 'repack_wide_queries');
SELECT * FROM repack_check(array['repack_wider'], 'repack_wider_queries');

DROP TABLE repack_rows, repack_queries, repack_plain, repack_bits, repack_heap, repack_sizes,
  repack_wide_rows, repack_wide_queries, repack_wider_rows, repack_wider_queries, repack_wide,
  repack_wide_bits, repack_wider;
DROP FUNCTION repack_pages(text), repack_top(text, ruvector, int), repack_once(text, ruvector),
  repack_check(text[], text);
