#!/usr/bin/env bash
# Runs every tests/server/*.sh; each script starts its own throwaway cluster(s). Prints
# the plain closing line "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
for t in tests/server/*.sh; do
  [[ -e "$t" ]] || continue
  echo "== $t"
  if bash "$t"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $t"
    failed=$((failed + 1))
  fi
done
echo "server tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
