#!/usr/bin/env bash
# CREATE INDEX ... USING rabitq on Fashion-MNIST (60k x 784) with 0, 1 and 2 parallel
# workers (max_parallel_maintenance_workers; Postgres plans up to 4 for this table), with
# the vectors in the index and with rerank_from_heap. "0 (3 threads)" is the build as it
# was before parallel workers: max_parallel_maintenance_workers = 2 but the table's
# parallel_workers = 0, so one backend reads the table and k-means and encoding run on 3
# threads; "0" is one thread throughout. The settings are built in turn,
# ROUNDS times over; the table shows each one's median seconds in all and per phase (the
# DEBUG1 line of the build), the ratio of its median to the serial build's, and whether
# every build's pages (less their LSNs) were the serial build's.
#   bench/build_parallel.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
ROUNDS=${1:-5}
source bench/fashion_load.sh
fashion_cluster_start
load_fashion 1
"${PSQL[@]}" -c "CREATE EXTENSION pageinspect"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

results=$(mktemp -d)
build() {  # options workers(0, 1, 2 or threads) name: one build, appended to $results/<options>_<name>
  local options=$1 workers=$2 t0 t1 out pages
  if [[ $workers == threads ]]; then
    "${PSQL[@]}" -c "ALTER TABLE fashion SET (parallel_workers = 0)"
    workers=2
  else
    "${PSQL[@]}" -c "ALTER TABLE fashion RESET (parallel_workers)"
  fi
  t0=$(date +%s.%N)
  out=$(psql -X -v ON_ERROR_STOP=1 -qtA 2>&1 <<SQL
SET max_parallel_maintenance_workers = $workers;
SET client_min_messages = debug1;
CREATE INDEX fashion_build ON fashion USING rabitq (embedding) $options;
SQL
)
  t1=$(date +%s.%N)
  pages=$("${PSQL[@]}" -c "SELECT md5(string_agg(md5(substr(get_raw_page('fashion_build', b::int), 9)),
      '' ORDER BY b)) FROM generate_series(0, pg_relation_size('fashion_build') / 8192 - 1) b")
  "${PSQL[@]}" -c "DROP INDEX fashion_build"
  # "seconds: count and sample 0.93, k-means 1.31, assign and encode 1.02, WAL 0.05"
  local phases
  phases=$(grep -o 'seconds: .*' <<<"$out" | grep -o '[0-9][0-9.]*' | tr '\n' ' ')
  echo "$(echo "$t1 - $t0" | bc) $phases $pages" >>"$results/${options// /}_$3"
}

settings=("" "WITH (rerank_from_heap = true)")
for _ in $(seq "$ROUNDS"); do
  for options in "${settings[@]}"; do
    for workers in 0 threads 1 2; do build "$options" "$workers" "$workers"; done
  done
done

echo "| index | workers | build s | count and sample s | k-means s | assign and encode s | vs serial | pages as serial |"
echo "|---|---|---|---|---|---|---|---|"
for options in "${settings[@]}"; do
  serial=$(cut -d' ' -f1 "$results/${options// /}_0" | median)
  reference=$(head -1 "$results/${options// /}_0" | cut -d' ' -f6)
  for workers in 0 threads 1 2; do
    file="$results/${options// /}_$workers"
    total=$(cut -d' ' -f1 "$file" | median)
    sample=$(cut -d' ' -f2 "$file" | median)
    kmeans=$(cut -d' ' -f3 "$file" | median)
    assign=$(cut -d' ' -f4 "$file" | median)
    same=$([[ $(cut -d' ' -f6 "$file" | sort -u) == "$reference" ]] && echo yes || echo NO)
    printf '| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2fx | %s |\n' "${options:-vectors in index}" \
      "${workers/threads/0 (3 threads)}" "$total" "$sample" "$kmeans" "$assign" "$(echo "$total / $serial" | bc -l)" "$same"
  done
done
rm -rf "$results"
