-- avg() and sum() over ruvector, including parallel plans.

SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::ruvector), ('[3,4,5]'), (NULL)) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::ruvector)) t(v);
SELECT avg(v) FROM (SELECT '[1]'::ruvector WHERE false) t(v);
SELECT avg(v) FROM (VALUES ('[1,2]'::ruvector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::ruvector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v);
-- the average is computed in double precision: no overflow of intermediate sums
SELECT avg(v) FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v);
SELECT avg(v) FROM (VALUES ('[1e-45]'::ruvector), ('[3e38]'), ('[-3e38]')) t(v);

-- parallel aggregation with combine functions gives the same answer
-- small integers keep float sums exact whatever order the workers add them in
CREATE TABLE t_agg AS SELECT i, ARRAY[i % 10, (i % 7) * 2, -(i % 3)]::ruvector AS v FROM generate_series(1, 10000) i;
ANALYZE t_agg;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM t_agg;
SELECT avg(v), sum(v) FROM t_agg;
RESET ALL;
SELECT avg(v), sum(v) FROM t_agg;
DROP TABLE t_agg;
