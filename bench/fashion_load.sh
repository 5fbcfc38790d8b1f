# Shared by the Fashion-MNIST benchmarks (source it): a throwaway cluster sized for the
# data set, and the fashion, queries and truth tables (exact top 10 of each query).
DATA=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)

timed() {  # seconds taken by one SQL statement
  local t0 t1
  t0=$(date +%s.%N)
  "${PSQL[@]}" -c "$1" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

fashion_cluster_start() {  # extra postgresql.conf lines...
  mkdir -p build
  g++ -O2 -std=c++17 -o build/idx_to_copy tools/idx_to_copy.cpp
  cluster_start "shared_buffers = '2GB'" "max_parallel_workers_per_gather = 0" "jit = off" \
    "maintenance_work_mem = '2GB'" "$@"
  trap cluster_stop EXIT
}

load_fashion() {  # QUERIES
  "${PSQL[@]}" <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE fashion (id int PRIMARY KEY, label int, embedding ruvector(784));
ALTER TABLE fashion ALTER embedding SET STORAGE PLAIN;
CREATE TABLE queries (id int PRIMARY KEY, label int, embedding ruvector(784));
-- PLAIN here too: a TOASTed query vector costs each benchmarked statement a TOAST fetch.
ALTER TABLE queries ALTER embedding SET STORAGE PLAIN;
\copy fashion FROM PROGRAM 'build/idx_to_copy $DATA/train-images-idx3-ubyte.gz $DATA/train-labels-idx1-ubyte.gz'
\copy queries FROM PROGRAM 'build/idx_to_copy $DATA/t10k-images-idx3-ubyte.gz $DATA/t10k-labels-idx1-ubyte.gz $1'
VACUUM ANALYZE fashion, queries;
CREATE TABLE truth AS SELECT q.id AS qid,
  array(SELECT f.id FROM fashion f ORDER BY f.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
SQL
}
