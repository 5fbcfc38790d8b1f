#!/usr/bin/env bash
# The rabitq regress suites' exactness checks can fail: with rabitq.debug_fault breaking
# every scan (drop_one loses its first row, swap_two returns its first two swapped) each
# suite must fail, and every check must report the fault: a mismatch count above 0, a
# boolean check false. A check that still passes compares the index with itself, or with
# nothing. Only the rabitq suites run, into a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
out=$(mktemp -d /tmp/ruvector-fault.XXXXXX)
trap 'cluster_stop; rm -rf "$out"' EXIT

suites=(rabitq rabitq_bits rabitq_parallel rabitq_vacuum rabitq_filter)
regress="$(dirname "$(pg_config --pgxs)")/../test/regress/pg_regress"
[[ -x "$regress" ]] || { echo "rabitq_fault: no pg_regress at $regress" >&2; exit 1; }
# The checks: columns named *mismatches (counts), *recall_ok, parallel_exact,
# every_row_once and ordered (booleans); each value printed as "suite column value", the column
# followed by [table] where a row per table holds them.
checks() {  # suite file
  awk -v suite="$1" '
    /^-+(\+-+)*$/ { n = split(header, cols, "|"); inrows = 1; next }
    /^\([0-9]+ rows?\)$/ { inrows = 0 }
    inrows {
      split($0, vals, "|")
      for (i = 1; i <= n; i++) {
        c = cols[i]; gsub(/ /, "", c); v = vals[i]; gsub(/ /, "", v)
        if (c ~ /mismatches$|recall_ok$|^(parallel_exact|every_row_once|ordered)$/) {
          key = vals[1]; gsub(/ /, "", key)
          print suite, c (cols[1] ~ /^ *tbl *$/ ? "[" key "]" : ""), v
        }
      }
      next
    }
    { header = $0 }' "$2"
}

# Per fault, the checks that it cannot break, as suite:check: the order of what is left
# (ordered) does not show a row lost; a set compared without order (recall) or rows
# counted without their order (every_row_once) do not see two rows swapped, nor does a
# table whose every row has a copy (after_insert): its first two rows are at equal
# distance, either order is right.
declare -A immune=(
  [drop_one]="rabitq:ordered rabitq_filter:ordered"
  [swap_two]="rabitq:recall_ok rabitq_bits:recall_ok rabitq_vacuum:every_row_once
    rabitq_bits:after_insert_mismatches rabitq_filter:relaxed_recall_ok
    rabitq_filter:strict_recall_ok"
)
status=0
for fault in drop_one swap_two; do
  dir="$out/$fault"
  mkdir -p "$dir"
  if PGOPTIONS="-c rabitq.debug_fault=$fault" "$regress" --inputdir=. --outputdir="$dir" \
    --bindir="$(pg_config --bindir)" --load-extension=ruvector "${suites[@]}" >"$dir/log" 2>&1; then
    echo "rabitq_fault: $fault: the rabitq suites passed with the scan broken" >&2
    status=1
    continue
  fi
  for s in "${suites[@]}"; do
    grep -Eq "^test $s +\.\.\. FAILED|^not ok [0-9]+ +- $s " "$dir/regression.out" ||
      { echo "rabitq_fault: $fault: suite $s did not fail" >&2; status=1; }
    want=$(checks "$s" "expected/$s.out" | cut -d' ' -f1,2)
    got=$(checks "$s" "$dir/results/$s.out")
    if [[ "$(cut -d' ' -f1,2 <<<"$got")" != "$want" ]]; then
      echo "rabitq_fault: $fault: $s: the checks ran are not the expected ones:" >&2
      diff <(echo "$want") <(cut -d' ' -f1,2 <<<"$got") >&2 || true
      status=1
    fi
    while read -r suite check value; do
      [[ -n "$suite" ]] || continue
      if [[ "$value" == f || ("$value" =~ ^[0-9]+$ && "$value" -gt 0) ]]; then
        echo "rabitq_fault: $fault: $suite $check fails ($value)"
      elif [[ " $(echo ${immune[$fault]}) " == *" $suite:${check%%[*} "* ]]; then
        echo "rabitq_fault: $fault: $suite $check holds ($value), as it must"
      else
        echo "rabitq_fault: $fault: $suite $check still passes ($value): it cannot see the fault" >&2
        status=1
      fi
    done <<<"$got"
  done
done
[[ $status -eq 0 ]] || exit 1
echo "rabitq_fault: every exactness check fails under both faults, but for the immune ones"
