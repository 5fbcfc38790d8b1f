#!/usr/bin/env bash
# rabitq on pgvector columns (the ruvector_pgvector extension): casts both ways, the three
# operator classes, a full probe equal to the exact order, inserts after the build, and an
# HNSW index beside it on the same column. Skipped, saying so, where pgvector is not
# installed (this repository never builds it).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
if [[ $("${PSQL[@]}" -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") != 1 ]]; then
  echo "pgvector_interop: SKIPPED: pgvector's vector extension is not installed on this server"
  exit 0
fi
check() {  # what sql expected
  local got
  got=$("${PSQL[@]}" -c "$2")
  [[ "$got" == "$3" ]] || { echo "pgvector_interop: $1: got '$got', expected '$3'" >&2; exit 1; }
  echo "pgvector_interop: $1: ok"
}

err=$("${PSQL[@]}" -c "CREATE EXTENSION ruvector_pgvector" 2>&1 || true)
[[ "$err" == *'required extension "ruvector" is not installed'* ||
   "$err" == *'required extension "vector" is not installed'* ]] || { echo "pgvector_interop: $err" >&2; exit 1; }
echo "pgvector_interop: needs both extensions: ok"
"${PSQL[@]}" -c "CREATE EXTENSION ruvector_pgvector CASCADE" 2>/dev/null
"${PSQL[@]}" <<'SQL'
CREATE TABLE docs (id int PRIMARY KEY, embedding vector(32));
INSERT INTO docs SELECT g, array(SELECT sin(g * 0.73 + d) * 5 + (g % 7) FROM generate_series(1, 32) d)::vector
FROM generate_series(1, 3000) g;
CREATE INDEX docs_rabitq ON docs USING rabitq (embedding) WITH (lists = 20);
SQL

check "casts both ways keep every value" \
  "SELECT count(*) FROM docs WHERE embedding::ruvector::text <> embedding::text OR embedding::ruvector::vector <> embedding" 0
check "a ruvector goes into a vector column by assignment" \
  "CREATE TEMP TABLE t (v vector(3)); INSERT INTO t VALUES ('[1,2,3]'::ruvector); SELECT v::text FROM t" "[1,2,3]"
check "the plan uses the rabitq index" \
  "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY embedding <-> '[$(seq -s, 1 32)]' LIMIT 5" \
  "Limit
  ->  Index Scan using docs_rabitq on docs
        Order By: (embedding <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32]'::vector)"

exact_equals_index() {  # operator ruvector-operator
  "${PSQL[@]}" <<SQL
SET enable_seqscan = off; SET rabitq.probes = 1000; SET rabitq.epsilon = 4;
SELECT count(*) FROM generate_series(1, 20) g,
  LATERAL (SELECT array(SELECT (g * 5 + d) % 9 FROM generate_series(1, 32) d)::vector AS q) q
WHERE array(SELECT (embedding::ruvector $2 q.q::ruvector) FROM docs ORDER BY embedding $1 q.q LIMIT 10)
   <> array(SELECT d FROM (SELECT embedding::ruvector $2 q.q::ruvector AS d FROM docs OFFSET 0) s ORDER BY d LIMIT 10);
SQL
}
[[ $(exact_equals_index "<->" "<->") == 0 ]] || { echo "pgvector_interop: l2 full probe differs" >&2; exit 1; }
echo "pgvector_interop: l2: a full probe equals the exact order: ok"

"${PSQL[@]}" -c "INSERT INTO docs VALUES (9999, array_fill(42::real, ARRAY[32])::vector)"
check "rows inserted after the build are found" \
  "SET enable_seqscan = off; SELECT id FROM docs ORDER BY embedding <-> array_fill(41.5::real, ARRAY[32])::vector LIMIT 1" 9999

for ops in ip cosine; do
  op=$([[ $ops == ip ]] && echo "<#>" || echo "<=>")
  "${PSQL[@]}" -c "DROP INDEX docs_rabitq; CREATE INDEX docs_rabitq ON docs USING rabitq (embedding vector_${ops}_ops) WITH (lists = 20)"
  [[ $(exact_equals_index "$op" "$op") == 0 ]] || { echo "pgvector_interop: $ops full probe differs" >&2; exit 1; }
  echo "pgvector_interop: $ops: a full probe equals the exact order: ok"
done

"${PSQL[@]}" -c "CREATE INDEX docs_hnsw ON docs USING hnsw (embedding vector_cosine_ops)"
check "pgvector's own index still serves its queries beside rabitq" \
  "SET enable_seqscan = off; DROP INDEX docs_rabitq; EXPLAIN (COSTS OFF) SELECT id FROM docs ORDER BY embedding <=> '[$(seq -s, 1 32)]' LIMIT 5" \
  "Limit
  ->  Index Scan using docs_hnsw on docs
        Order By: (embedding <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32]'::vector)"
"${PSQL[@]}" -c "CREATE INDEX docs_rabitq ON docs USING rabitq (embedding) WITH (lists = 20)"
err=$("${PSQL[@]}" -c "SET enable_seqscan = off; SELECT id FROM docs ORDER BY embedding <-> '[1,2]' LIMIT 1" 2>&1 || true)
[[ "$err" == *"expected 32 dimensions, not 2"* ]] || { echo "pgvector_interop: wrong dimensions: $err" >&2; exit 1; }
echo "pgvector_interop: a query of the wrong dimensions is refused by the index: ok"
echo "pgvector_interop: all checks passed"
