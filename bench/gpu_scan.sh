#!/usr/bin/env bash
# GPU against CPU batch scan (#9's promotion gate): builds the CUDA kernel library and the
# bench, then runs bench/gpu_scan.cpp. Without a GPU it prints the CPU row alone and says
# why. Arguments pass through: ROWS QUERIES BATCH PROBES (default 1000000 1000 100 16).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory kernels >/dev/null || echo "CUDA kernels not built (no nvcc?)"
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DRUVECTOR_BENCH=ON >/dev/null
cmake --build build/bench -j"$(nproc)" --target gpu_scan >/dev/null
build/bench/bench/gpu_scan "$@"
