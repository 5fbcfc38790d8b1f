#!/usr/bin/env bash
# make demo: a throwaway cluster, Fashion-MNIST (60k x 784) loaded into a ruvector column,
# and the nearest neighbours of a few test images printed with their labels.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh

DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
[[ -f "$DATA/train-images-idx3-ubyte.gz" ]] || {
  echo "demo: Fashion-MNIST not found in $DATA (Debian package dataset-fashion-mnist)" >&2
  exit 1
}
mkdir -p build
g++ -O2 -std=c++17 -o build/idx_to_copy tools/idx_to_copy.cpp

cluster_start
trap cluster_stop EXIT
echo "demo: cluster on port $PGPORT, socket $PGHOST"

PSQL=(psql -X -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE fashion (id int PRIMARY KEY, label int, embedding ruvector(784));
CREATE TABLE fashion_test (id int PRIMARY KEY, label int, embedding ruvector(784));
CREATE TABLE labels (label int PRIMARY KEY, name text);
INSERT INTO labels VALUES (0, 'T-shirt/top'), (1, 'Trouser'), (2, 'Pullover'), (3, 'Dress'),
  (4, 'Coat'), (5, 'Sandal'), (6, 'Shirt'), (7, 'Sneaker'), (8, 'Bag'), (9, 'Ankle boot');
\timing on
\echo loading 60000 training images...
\copy fashion FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz'
\copy fashion_test FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz 5'
\timing off
ANALYZE fashion;
SELECT count(*) AS images, (SELECT vector_dims(embedding) FROM fashion LIMIT 1) AS dims FROM fashion;
\echo
\echo The 5 nearest training images (L2 distance) of the first 5 test images:
\timing on
SELECT q.id AS query, ql.name AS query_label, n.id AS neighbour, nl.name AS neighbour_label,
       round(n.dist::numeric, 1) AS distance
FROM fashion_test q
JOIN labels ql ON ql.label = q.label
CROSS JOIN LATERAL (
  SELECT f.id, f.label, f.embedding <-> q.embedding AS dist
  FROM fashion f ORDER BY f.embedding <-> q.embedding LIMIT 5
) n
JOIN labels nl ON nl.label = n.label
ORDER BY q.id, n.dist;
SQL
echo "demo: done"
