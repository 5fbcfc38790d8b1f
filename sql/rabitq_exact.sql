-- Probing every list finds the exact nearest rows, also where a query's ten nearest rows
-- lie at almost one distance (#25 goal 3): there a row whose error bound misses comes
-- after rows farther than it and is cut by the LIMIT. The scan's epsilon
-- rises with the share of lists probed to the index's calibrated full-probe epsilon.
SET client_min_messages = warning;
SELECT setseed(0.25);
-- Around each of 60 queries, far apart, 100 rows in random directions at distances
-- 1, 1.0001, 1.0002, ...: the worst case of ties, where every one of a query's ten
-- nearest rows is lost if its bound misses, and the rows' errors are independent.
CREATE TABLE dup_queries AS
  SELECT b AS id, array_agg((random() * 10)::real ORDER BY j)::ruvector AS q
  FROM generate_series(0, 59) b, generate_series(1, 64) j GROUP BY b;
CREATE TABLE dup (id int, v ruvector(64));
INSERT INTO dup SELECT id * 100 + k,
  (SELECT array_agg((q::real[])[n] + e / norm * (1 + k * 0.0001) ORDER BY n)
   FROM (SELECT n, e, sqrt(sum(e * e) OVER ()) AS norm
         FROM (SELECT n, random() - 0.5 AS e FROM generate_series(1, 64) n) s) r)::real[]::ruvector
  FROM dup_queries, generate_series(0, 99) k;
-- The truth before the index exists.
CREATE TABLE dup_truth AS
  SELECT id, array(SELECT v <-> q FROM dup ORDER BY v <-> q LIMIT 10) AS d FROM dup_queries;
CREATE INDEX dup_idx ON dup USING rabitq (v) WITH (lists = 30);
SET enable_seqscan = off;
SET rabitq.probes = 30;
-- Queries whose ten nearest distances differ from the truth's: none.
EXPLAIN (COSTS OFF) SELECT count(*) AS differ FROM dup_queries q JOIN dup_truth t USING (id)
WHERE t.d IS DISTINCT FROM array(SELECT v <-> q.q FROM dup ORDER BY v <-> q.q LIMIT 10);
SELECT count(*) AS differ FROM dup_queries q JOIN dup_truth t USING (id)
WHERE t.d IS DISTINCT FROM array(SELECT v <-> q.q FROM dup ORDER BY v <-> q.q LIMIT 10);
-- rabitq.epsilon still sets the bound at the default probes: 0 reranks only what the
-- bare estimate ranks first, and loses rows.
SET rabitq.probes = 3;
SET rabitq.epsilon = 0;
SELECT count(*) > 0 AS loses_rows FROM dup_queries q JOIN dup_truth t USING (id)
WHERE t.d IS DISTINCT FROM array(SELECT v <-> q.q FROM dup ORDER BY v <-> q.q LIMIT 10);
RESET rabitq.epsilon;
RESET rabitq.probes;
RESET enable_seqscan;
DROP TABLE dup, dup_queries, dup_truth;
