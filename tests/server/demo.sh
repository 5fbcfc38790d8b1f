#!/usr/bin/env bash
# make demo's script (tools/demo.sh) on a slice of Fashion-MNIST (5000 rows, 50 queries), so
# that it cannot rot: the index is used, its recall against the exact scan is printed and
# high, the exact side really is exact (and slower), and ruLake answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() {
  printf '%s\n' "$out" >&2
  echo "demo: $1" >&2
  exit 1
}
out=$(DEMO_ROWS=5000 DEMO_QUERIES=50 bash tools/demo.sh 2>&1) || fail "tools/demo.sh failed"
grep -q "Index Scan using fashion_embedding on fashion" <<<"$out" || fail "the plan does not use the index"
index=$(awk -F'|' '$1 ~ /rabitq index/ {gsub(/ /, ""); print $2 " " $3}' <<<"$out")
exact=$(awk -F'|' '$1 ~ /exact scan/ {gsub(/ /, ""); print $2 " " $3}' <<<"$out")
read -r index_recall index_ms <<<"$index"
read -r exact_recall exact_ms <<<"$exact"
[[ "$exact_recall" == "1.000" ]] || fail "the exact scan's recall is $exact_recall"
awk -v r="$index_recall" 'BEGIN { exit !(r >= 0.9) }' || fail "the index's recall is $index_recall"
# The exact side must have run the exact plan: a sequential scan of 5000 rows a query.
awk -v i="$index_ms" -v e="$exact_ms" 'BEGIN { exit !(e > 2 * i) }' ||
  fail "the exact scan ($exact_ms ms) is not slower than the index ($index_ms ms)"
[[ $(grep -c "| Ankle boot  |\|| Pullover    |\|| Trouser     |" <<<"$out") -ge 15 ]] ||
  fail "rulake.search did not list the neighbours"
grep -q "demo: done" <<<"$out" || fail "the demo did not finish"
echo "demo: recall@10 $index_recall at $index_ms ms a query against the exact scan's $exact_ms ms: ok"
