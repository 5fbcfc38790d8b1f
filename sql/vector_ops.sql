-- Distances, operators and functions of ruvector.

SELECT '[1,2,3]'::ruvector <-> '[3,2,1]';
SELECT l2_distance('[0,0]', '[3,4]'), l2_squared_distance('[0,0]', '[3,4]');
SELECT '[1,2,3]'::ruvector <#> '[4,5,6]', inner_product('[1,2,3]', '[4,5,6]');
SELECT negative_inner_product('[1,2,3]', '[4,5,6]');
SELECT '[1,0]'::ruvector <=> '[0,1]', cosine_distance('[1,1]', '[2,2]'), cosine_distance('[1,0]', '[-1,0]');
SELECT '[1,2,3]'::ruvector <+> '[3,2,-1]', l1_distance('[0,0]', '[3,-4]');
-- a zero vector has no direction: cosine distance is NaN, as in pgvector
SELECT cosine_distance('[0,0]', '[1,1]'), '[0,0]'::ruvector <=> '[0,0]';
-- dimension mismatch is an error for every binary operation
SELECT '[1,2]'::ruvector <-> '[1,2,3]';
SELECT '[1,2]'::ruvector <#> '[1,2,3]';
SELECT '[1,2]'::ruvector <=> '[1,2,3]';
SELECT '[1,2]'::ruvector <+> '[1,2,3]';
SELECT '[1,2]'::ruvector + '[1,2,3]';
SELECT '[1,2]'::ruvector - '[1,2,3]';
SELECT '[1,2]'::ruvector * '[1,2,3]';
-- longer vectors go through the SIMD kernels: compare with a double-precision reference
WITH v AS (
  SELECT array_agg(sin(i)::real ORDER BY i) AS a, array_agg(cos(i * 0.5)::real ORDER BY i) AS b
  FROM generate_series(1, 1531) i
), ref AS (
  SELECT sqrt(sum((x - y)::float8 ^ 2)) AS l2, sum(x::float8 * y) AS ip, sum(abs(x::float8 - y)) AS l1,
         1 - sum(x::float8 * y) / sqrt(sum(x::float8 * x) * sum(y::float8 * y)) AS cos
  FROM v, unnest(a, b) AS u(x, y)
)
SELECT abs((a::ruvector <-> b::ruvector) - l2) < 1e-4 * l2 AS l2_ok,
       abs(inner_product(a::ruvector, b::ruvector) - ip) < 1e-3 AS ip_ok,
       abs((a::ruvector <+> b::ruvector) - l1) < 1e-4 * l1 AS l1_ok,
       abs((a::ruvector <=> b::ruvector) - cos) < 1e-5 AS cos_ok
FROM v, ref;

-- element-wise arithmetic
SELECT '[1,2,3]'::ruvector + '[4,5,6]', '[1,2,3]'::ruvector - '[4,5,6]', '[1,2,3]'::ruvector * '[4,5,6]';
SELECT '[3e38]'::ruvector + '[3e38]';
SELECT '[-3e38]'::ruvector - '[3e38]';
SELECT '[1e20]'::ruvector * '[1e20]';
SELECT '[1e-30]'::ruvector * '[1e-30]';

-- functions
SELECT vector_dims('[1,2,3]'::ruvector), vector_norm('[3,4]'), vector_norm('[0,0]');
SELECT l2_normalize('[3,4]'::ruvector), l2_normalize('[0,0]'::ruvector), l2_normalize('[-2]'::ruvector);
SELECT subvector('[1,2,3,4,5]'::ruvector, 2, 3), subvector('[1,2,3,4,5]'::ruvector, 4, 10),
       subvector('[1,2,3,4,5]'::ruvector, -1, 3), subvector('[1,2,3,4,5]'::ruvector, 1, 2147483647);
SELECT subvector('[1,2,3]'::ruvector, 4, 1);
SELECT subvector('[1,2,3]'::ruvector, 1, 0);
SELECT subvector('[1,2,3]'::ruvector, -5, 2);

-- comparison, ordering, DISTINCT, UNIQUE through the btree opclass
SELECT '[1,2,3]'::ruvector < '[1,2,4]', '[1,2]'::ruvector < '[1,2,0]', '[1,2,3]'::ruvector = '[1,2,3]',
       '[1,2,3]'::ruvector <> '[1,2,3]', '[2]'::ruvector >= '[1,9]', '[1]'::ruvector > '[1]',
       '[1]'::ruvector <= '[1]';
SELECT ruvector_cmp('[1,2]', '[1,3]'), ruvector_cmp('[1,3]', '[1,2]'), ruvector_cmp('[1]', '[1]');
CREATE TABLE t_ord (v ruvector);
INSERT INTO t_ord VALUES ('[3,1]'), ('[1,2,3]'), ('[1,2]'), ('[3,1]'), ('[-1,5]'), (NULL);
SELECT v FROM t_ord ORDER BY v;
SELECT DISTINCT v FROM t_ord ORDER BY v;
SELECT v, count(*) FROM t_ord GROUP BY v ORDER BY v;
CREATE UNIQUE INDEX ON t_ord (v);
DELETE FROM t_ord WHERE v = '[3,1]';
CREATE UNIQUE INDEX t_ord_v ON t_ord (v);
INSERT INTO t_ord VALUES ('[1,2]');
SET enable_seqscan = off;
SELECT v FROM t_ord WHERE v = '[1,2,3]';
RESET enable_seqscan;
DROP TABLE t_ord;

-- nearest-neighbour query without an index (exact scan)
CREATE TABLE items (id int, embedding ruvector(3));
INSERT INTO items VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[1,1,1]'), (4, NULL);
SELECT id, embedding <-> '[3,3,3]' AS dist FROM items ORDER BY embedding <-> '[3,3,3]' LIMIT 2;
SELECT id FROM items ORDER BY embedding <=> '[1,1,1]', id;
SELECT id FROM items ORDER BY embedding <#> '[1,1,1]', id;
DROP TABLE items;
