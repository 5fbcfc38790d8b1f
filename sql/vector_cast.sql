-- Casts between ruvector and arrays.

SELECT ARRAY[1,2,3]::ruvector, ARRAY[1.5,2.5]::real[]::ruvector, ARRAY[1.5,2.5]::float8[]::ruvector,
       ARRAY[1.5,2.25]::numeric[]::ruvector;
SELECT '[1,2,3]'::ruvector::real[];
SELECT ARRAY[1,2,3]::ruvector(3);
SELECT ARRAY[1,2,3]::ruvector(2);
SELECT '{}'::real[]::ruvector;
SELECT ARRAY[[1,2],[3,4]]::real[]::ruvector;
SELECT ARRAY[1,NULL,3]::real[]::ruvector;
SELECT ARRAY['NaN']::real[]::ruvector;
SELECT ARRAY['Infinity']::float8[]::ruvector;
SELECT ARRAY[1e300]::float8[]::ruvector;
SELECT ARRAY[1e39]::numeric[]::ruvector;
SELECT ARRAY['NaN']::numeric[]::ruvector;
-- assignment casts let arrays be inserted into ruvector columns
CREATE TABLE t_cast (v ruvector(2));
INSERT INTO t_cast VALUES (ARRAY[1,2]), (ARRAY[0.5,0.25]::float8[]);
INSERT INTO t_cast VALUES (ARRAY[1,2,3]);
SELECT v, v::real[] FROM t_cast;
DROP TABLE t_cast;
