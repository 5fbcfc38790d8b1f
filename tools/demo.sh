#!/usr/bin/env bash
# make demo: a throwaway cluster, Fashion-MNIST (60k x 784) loaded into a ruvector column as
# a new user would (default storage), a rabitq index built with the default options, and
# one table that compares it with the exact scan on the first test images (recall@10, ms a
# query, index size, build time); then the same search through the ruLake cache, and the
# labels of a few neighbours. About two minutes on two cores.
#   DEMO_ROWS (all 60000) and DEMO_QUERIES (200) take a slice: the test suite runs a small one.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh

DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
ROWS=${DEMO_ROWS:-60000}
QUERIES=${DEMO_QUERIES:-200}
[[ -f "$DATA/train-images-idx3-ubyte.gz" ]] || {
  echo "demo: Fashion-MNIST not found in $DATA (Debian package dataset-fashion-mnist)" >&2
  exit 1
}
mkdir -p build
g++ -O2 -std=c++17 -o build/idx_to_copy tools/idx_to_copy.cpp

cluster_start "rulake.cache_size = '512MB'"
trap cluster_stop EXIT
echo "demo: cluster on port $PGPORT, socket $PGHOST"

PSQL=(psql -X -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE fashion (id bigint PRIMARY KEY, label int, embedding ruvector(784));
CREATE TABLE fashion_test (id int PRIMARY KEY, label int, embedding ruvector(784));
CREATE TABLE labels (label int PRIMARY KEY, name text);
INSERT INTO labels VALUES (0, 'T-shirt/top'), (1, 'Trouser'), (2, 'Pullover'), (3, 'Dress'),
  (4, 'Coat'), (5, 'Sandal'), (6, 'Shirt'), (7, 'Sneaker'), (8, 'Bag'), (9, 'Ankle boot');
\echo loading $ROWS training images and $QUERIES test images...
\copy fashion FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz $ROWS'
\copy fashion_test FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz $QUERIES'
VACUUM ANALYZE fashion;

-- The index, as a new user writes it; its build time, from the server's clock.
CREATE TEMP TABLE demo_build AS SELECT clock_timestamp() AS started;
CREATE INDEX fashion_embedding ON fashion USING rabitq (embedding);
CREATE TEMP TABLE demo_built AS
  SELECT extract(epoch FROM clock_timestamp() - started) AS seconds FROM demo_build;
\echo
\echo The query an application sends uses the index:
EXPLAIN (COSTS OFF) SELECT id FROM fashion ORDER BY embedding <-> (SELECT embedding FROM fashion_test WHERE id = 1) LIMIT 10;

-- Every test image through one plan, timed inside the server: the ten ids and ms a query.
CREATE TEMP TABLE demo_answers (method text, query int, ids bigint[]);
CREATE FUNCTION pg_temp.demo_search(method text) RETURNS double precision LANGUAGE plpgsql AS \$\$
DECLARE
  started timestamptz := clock_timestamp();
  n int := 0;
  q record;
BEGIN
  -- EXECUTE plans each query afresh, under the caller's enable_indexscan: PL/pgSQL would
  -- otherwise keep the first call's plan for the second.
  FOR q IN SELECT id, embedding FROM fashion_test ORDER BY id LOOP
    EXECUTE 'INSERT INTO demo_answers SELECT \$1, \$2, array(
      SELECT f.id FROM fashion f ORDER BY f.embedding <-> \$3 LIMIT 10)'
      USING method, q.id, q.embedding;
    n := n + 1;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - started) * 1000 / n;
END \$\$;
CREATE TEMP TABLE demo_times (method text, ms double precision);
INSERT INTO demo_times SELECT 'rabitq index', pg_temp.demo_search('rabitq index');
SET enable_indexscan = off;
INSERT INTO demo_times SELECT 'exact scan', pg_temp.demo_search('exact scan');
RESET enable_indexscan;

\echo
\echo The first $QUERIES test images, their 10 nearest training images by each method:
SELECT t.method,
       round(avg((SELECT count(*) FROM unnest(a.ids) i WHERE i = ANY (e.ids)) / 10.0), 3)
         AS "recall@10",
       round(t.ms::numeric, 2) AS "ms a query",
       CASE WHEN t.method = 'rabitq index' THEN pg_size_pretty(pg_relation_size('fashion_embedding')) END
         AS "index size",
       CASE WHEN t.method = 'rabitq index' THEN round((SELECT seconds FROM demo_built)::numeric, 1) END
         AS "build s"
FROM demo_times t
JOIN demo_answers a ON a.method = t.method
JOIN demo_answers e ON e.method = 'exact scan' AND e.query = a.query
GROUP BY t.method, t.ms ORDER BY t.ms;
\echo rabitq.probes (default 10) trades speed for recall: docs/tuning.md.

-- The same search through ruLake: the collection primed into shared memory on first use.
DO \$\$ BEGIN PERFORM rulake.register('fashion', 'table:public.fashion(id, embedding)'); END \$\$;
\echo
\echo The 5 nearest training images of the first 3 test images, through rulake.search:
SELECT q.id AS query, ql.name AS query_label, n.id AS neighbour, nl.name AS neighbour_label,
       round(n.distance::numeric, 1) AS distance
FROM fashion_test q
JOIN labels ql ON ql.label = q.label
CROSS JOIN LATERAL rulake.search('fashion', q.embedding, 5) n
JOIN fashion f ON f.id = n.id
JOIN labels nl ON nl.label = f.label
WHERE q.id <= 3
ORDER BY q.id, n.distance;
SELECT collection, state, hits, misses FROM rulake.stats() WHERE collection = 'fashion';
SQL
echo "demo: done"
