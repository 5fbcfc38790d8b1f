#!/usr/bin/env bash
# What a new user gets on Fashion-MNIST (issue #25 goal 1): starts a throwaway cluster and
# runs bench/defaults_fashion.py against it (see that file for the settings it reads from
# the environment). The cluster keeps PostgreSQL's default maintenance_work_mem, so both
# index builds run as a new user's would; shared_buffers holds the data set, as in the
# other Fashion-MNIST benchmarks. Needs python3-psycopg and python3-numpy (make deps).
#   bench/defaults_fashion.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
cluster_start "shared_buffers = '2GB'" "max_parallel_workers_per_gather = 0" "jit = off"
trap cluster_stop EXIT
# Debian's python3 (with its psycopg and numpy), not one earlier on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" bench/defaults_fashion.py
