-- An ordered rabitq scan hands each returned row's exact distance to the distance
-- operator (rabitq_returned.cpp), which the executor calls again on the row to project
-- `v <-> q`: the operator takes it only for the indexed column of that very row, read in
-- place from its heap page, and the scan's own query. Every value here is checked against
-- the operator computed on a copy of the row (a fenced subquery materializes nothing the
-- handoff could match), so a handoff that answered for the wrong column, query or row
-- shows as a difference.
SET client_min_messages = warning;

-- 600 dimensions (2.4 kB) of few distinct values: the type's storage (main) compresses them
-- inline, the case the handoff serves. w is v shifted: the same tuple, another value.
CREATE TABLE handoff (id int, note text, v ruvector(600), w ruvector(600));
INSERT INTO handoff
SELECT i, 'row ' || i, x, x + ('[' || array_to_string(array_fill(1, ARRAY[600]), ',') || ']')::ruvector
FROM (SELECT i, ('[' || array_to_string(array(
        SELECT (i % 17 + (d / 100) * (i % 5)) :: float4 FROM generate_series(1, 600) d), ',')
        || ']')::ruvector AS x
      FROM generate_series(1, 400) i) s;
-- The test means nothing unless the rows are stored compressed.
SELECT count(*) > 300 AS compressed FROM handoff WHERE pg_column_compression(v) IS NOT NULL;
-- What is read back (pglz-decoded by util/pglz_decode, not Postgres) is what was written.
SELECT count(*) AS changed FROM handoff
WHERE v::text <> ('[' || array_to_string(array(
        SELECT (id % 17 + (d / 100) * (id % 5)) :: float4 FROM generate_series(1, 600) d), ',')
        || ']')::ruvector::text;
CREATE TABLE handoff_q (qid int, q ruvector(600));
INSERT INTO handoff_q
SELECT qid, ('[' || array_to_string(array(
         SELECT (qid % 13 + d % 7 * 0.25) :: float4 FROM generate_series(1, 600) d), ',') || ']')::ruvector
FROM generate_series(1, 6) qid;
CREATE INDEX handoff_l2 ON handoff USING rabitq (v ruvector_l2_ops) WITH (lists = 4);
-- 400 rows: the planner would sort a sequential scan; the index is what is under test.
SET enable_seqscan = off;
SET rabitq.probes = 4;

-- The statement an application writes: the projected distance, and beside it the other
-- column's distance and the distance to another query, all computed again on a copy.
CREATE FUNCTION handoff_mismatches(op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := 0;
  m bigint;
  r record;
BEGIN
  FOR r IN SELECT a.qid, a.q, b.q AS q2 FROM handoff_q a JOIN handoff_q b ON b.qid = a.qid % 6 + 1 LOOP
    EXECUTE format($f$
      SELECT count(*) FROM (
        SELECT id, v %1$s $1 AS dv, w %1$s $1 AS dw, v %1$s $2 AS dq2
        FROM handoff ORDER BY v %1$s $1 LIMIT 20) s
      JOIN (SELECT id, v %1$s $1 AS dv, w %1$s $1 AS dw, v %1$s $2 AS dq2
            FROM (SELECT id, v::text::ruvector AS v, w::text::ruvector AS w FROM handoff OFFSET 0) c) t
        USING (id)
      WHERE s.dv <> t.dv OR s.dw <> t.dw OR s.dq2 <> t.dq2$f$, op)
    INTO m USING r.q, r.q2;
    n := n + m;
  END LOOP;
  RETURN n;
END $$;
EXPLAIN (COSTS OFF) SELECT id FROM handoff ORDER BY v <-> (SELECT q FROM handoff_q WHERE qid = 1) LIMIT 20;
SELECT handoff_mismatches('<->') AS l2_mismatches;

-- A HOT update leaves the index entry on the chain's root: the row is read at another
-- offset than the scan returned, and must still get its own distance.
UPDATE handoff SET note = 'updated' WHERE id % 3 = 0;
SELECT handoff_mismatches('<->') AS l2_mismatches_after_update;

-- The other metrics, each through its own operator.
DROP INDEX handoff_l2;
CREATE INDEX handoff_ip ON handoff USING rabitq (v ruvector_ip_ops) WITH (lists = 4);
SELECT handoff_mismatches('<#>') AS ip_mismatches;
DROP INDEX handoff_ip;
CREATE INDEX handoff_cos ON handoff USING rabitq (v ruvector_cosine_ops) WITH (lists = 4);
SELECT handoff_mismatches('<=>') AS cosine_mismatches;

-- Two scans of the same table in one query (each publishes in turn).
DROP INDEX handoff_cos;
CREATE INDEX handoff_l2 ON handoff USING rabitq (v ruvector_l2_ops) WITH (lists = 4);
SELECT count(*) AS lateral_mismatches
FROM handoff_q a, LATERAL (
  SELECT id, v <-> a.q AS d FROM handoff ORDER BY v <-> a.q LIMIT 5) s
JOIN (SELECT id, v::text::ruvector AS v FROM handoff OFFSET 0) c USING (id)
WHERE s.d <> (c.v <-> a.q);
