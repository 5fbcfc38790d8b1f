-- Filtered ordered scans (WHERE tag < s ORDER BY v <-> q LIMIT k): the cost estimate
-- charges a LIMIT k scan for the k / s rows it must read past the filter, so the planner
-- keeps the rabitq index at a high selectivity and takes the btree/bitmap + sort plan at
-- a low one.
SET client_min_messages = warning;

-- 10000 rows in 30 clusters of 16 dimensions; tag takes each value of 0..999 ten times.
CREATE TABLE tagged (id int PRIMARY KEY, tag int NOT NULL, v ruvector(16));
INSERT INTO tagged
SELECT i, (i * 7919) % 1000, ('[' || array_to_string(array(
         SELECT round((10 * sin((i % 30) * 7 + d) + sin(i * 13 + d * 3)) :: numeric, 3)
         FROM generate_series(1, 16) d), ',') || ']')::ruvector
FROM generate_series(1, 10000) i;
CREATE INDEX tagged_tag ON tagged (tag);
CREATE INDEX tagged_v ON tagged USING rabitq (v);
ANALYZE tagged;

-- No filter, and half the rows: the index (a sort would read all 10000 or 5000 rows).
EXPLAIN (COSTS OFF)
SELECT id FROM tagged ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10;
EXPLAIN (COSTS OFF)
SELECT id FROM tagged WHERE tag < 500 ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10;
-- 0.1%: ten rows pass the filter; the index would read every list to find them.
EXPLAIN (COSTS OFF)
SELECT id FROM tagged WHERE tag < 1 ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 10;
-- Without LIMIT the whole index is read: a sort is cheaper.
EXPLAIN (COSTS OFF)
SELECT id FROM tagged ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]';
