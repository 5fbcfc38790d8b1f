#!/usr/bin/env bash
# Runs every suite (unit via CTest, the same under ASan+UBSan, pg_regress, server scripts) even when one fails, then
# prints each runner's count and one closing line "total: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
log_dir=$(mktemp -d /tmp/ruvector-tests.XXXXXX)
trap 'rm -rf "$log_dir"' EXIT

run_suite() {
  local name=$1
  shift
  echo "==== $name"
  "$@" 2>&1 | tee "$log_dir/$name.log"
  return "${PIPESTATUS[0]}"
}

status=0
# The CUDA kernels are compiled wherever nvcc is (CI included), so that they keep building;
# the unit suite then runs their conformance test, which skips without a device.
kernels_compile() {
  if command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
    "$MAKE" --no-print-directory kernels && echo "kernels: 1 passed, 0 failed"
  else
    echo "SKIPPED: nvcc not found, the CUDA kernels were not compiled"
    echo "kernels: 0 passed, 0 failed"
  fi
}
run_suite kernels kernels_compile || status=1
run_suite unit "$MAKE" --no-print-directory test-unit || status=1
run_suite asan "$MAKE" --no-print-directory test-asan || status=1
run_suite regress "$MAKE" --no-print-directory test-regress || status=1
run_suite server "$MAKE" --no-print-directory test-server || status=1

passed=0
failed=0
skipped=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); }

if line=$(grep -E "^kernels: [0-9]+ passed" "$log_dir/kernels.log" | tail -1); then
  add "$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")" 0
else
  add 0 1
fi
# ctest: "100% tests passed, 0 tests failed out of 57"
for suite in unit asan; do
  if line=$(grep -E "tests passed, [0-9]+ tests? failed out of" "$log_dir/$suite.log" | tail -1); then
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    # CTest counts a skipped test (the CUDA conformance without a GPU) as passed.
    s=$(grep -cE "^[[:space:]]*[0-9]+ - .* \(Skipped\)$" "$log_dir/$suite.log" || true)
    skipped=$((skipped + s))
    add $((t - f - s)) "$f"
  else
    add 0 1
  fi
done
# pg_regress: "All 4 tests passed." or "1 of 4 tests failed."
if line=$(grep -E "All [0-9]+ tests passed" "$log_dir/regress.log" | tail -1); then
  add "$(sed -E 's/.*All ([0-9]+) tests.*/\1/' <<<"$line")" 0
elif line=$(grep -E "[0-9]+ of [0-9]+ tests failed" "$log_dir/regress.log" | tail -1); then
  f=$(sed -E 's/.* ([0-9]+) of ([0-9]+) tests failed.*/\1/' <<<"$line")
  t=$(sed -E 's/.* ([0-9]+) of ([0-9]+) tests failed.*/\2/' <<<"$line")
  add $((t - f)) "$f"
else
  add 0 1
fi
# server: "server tests: 1 passed, 0 failed"
if line=$(grep -E "^server tests: [0-9]+ passed, [0-9]+ failed" "$log_dir/server.log" | tail -1); then
  add "$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")" "$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
else
  add 0 1
fi

[[ $failed -eq 0 ]] || status=1
echo "total: $passed passed, $failed failed, $skipped skipped"
exit $status
