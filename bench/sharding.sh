#!/usr/bin/env bash
# Issue #28: Fashion-MNIST on 1, 2 and 3 servers, all on this machine: five throwaway
# clusters (one holding the whole table, a coordinator, three shards) and
# bench/sharding.py, which loads them, builds the indexes and prints the table (see it for
# what is measured). The coordinator's servers carry extensions 'ruvector' and the probes
# setting (docs/sharding.md); fetch_size is varied by the script. ~5 minutes.
#   bench/sharding.sh        (QUERIES, FETCH_SIZES, PROBES: see bench/sharding.py)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
PROBES=${PROBES:-10}
trap clusters_stop EXIT
clusters_start 5 "shared_buffers = '512MB'" "max_parallel_workers_per_gather = 0" "jit = off" \
  "maintenance_work_mem = '1GB'"
DIRS=("${CLUSTER_DIRS[@]}")
for dir in "${DIRS[@]}"; do
  psql -X -qtA -h "$dir" -c "CREATE EXTENSION ruvector" >/dev/null
done
for s in 0 1 2; do
  psql -X -v ON_ERROR_STOP=1 -qtA -h "${DIRS[1]}" >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER shard$s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${DIRS[$((s + 2))]}',
  port '$PGPORT', dbname 'postgres', extensions 'ruvector', fetch_size '100',
  options '-c rabitq.probes=$PROBES');
CREATE USER MAPPING FOR postgres SERVER shard$s OPTIONS (user 'postgres');
SQL
done
SINGLE=${DIRS[0]} COORD=${DIRS[1]} SHARDS="${DIRS[2]} ${DIRS[3]} ${DIRS[4]}" PROBES=$PROBES \
  "${PYTHON:-/usr/bin/python3}" bench/sharding.py
