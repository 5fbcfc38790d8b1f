#!/usr/bin/env bash
# Issue #26: ruLake under writes. Starts a throwaway cluster and runs
# bench/rulake_workload.py (see it for what is measured), which prints the table.
#   bench/rulake_workload.sh     (SECONDS, RATES, DATASETS: see bench/rulake_workload.py)
# About 8 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
cluster_start "shared_buffers = '1GB'" "max_parallel_workers_per_gather = 0" "jit = off" \
  "rulake.cache_size = '1GB'"
trap cluster_stop EXIT
psql -X -qtA -c "CREATE EXTENSION ruvector" >/dev/null
"${PYTHON:-/usr/bin/python3}" bench/rulake_workload.py
