#!/usr/bin/env bash
# What a rulake.search costs through the A2A endpoint against the same search in SQL, on
# one warm collection: N queries over one kept-alive HTTP connection (token lookup, JSON,
# the search in a transaction of its own as the token's role) and the same N queries in
# one psql session over the Unix socket (psql's \timing). Both answer the same rows: the
# script checks all N answers are byte-identical, then prints the latency of each side.
#   bench/a2a_endpoint.sh [QUERIES] [ROWS] [DIM]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
N=${1:-500}
ROWS=${2:-20000}
DIM=${3:-64}
EP=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cluster_start "a2a.endpoint_port = $EP" "rulake.cache_size = '256MB'" >/dev/null
WORK=$(mktemp -d /tmp/ruvector-bench-a2aep.XXXXXX)
trap 'cluster_stop; rm -rf "$WORK"' EXIT
PSQL=(psql -X -qtA -v ON_ERROR_STOP=1)

"${PSQL[@]}" >/dev/null <<SQL
CREATE EXTENSION ruvector;
CREATE TABLE items (id bigint PRIMARY KEY, v ruvector($DIM));
INSERT INTO items SELECT g, array(SELECT sin(g * d + d) FROM generate_series(1, $DIM) d)::ruvector
FROM generate_series(1, $ROWS) g;
SELECT rulake.register('items', 'table:public.items(id, v)', 'fresh', '{"lists": 16, "probes": 4}');
CREATE ROLE reader LOGIN;
GRANT SELECT ON items TO reader;
SQL
TOKEN=$("${PSQL[@]}" -c "SELECT a2a.create_endpoint_token('reader')")
# Queries as ruvector text, the same strings on both sides.
python3 - "$N" "$DIM" >"$WORK/queries" <<'PY'
import math, sys
n, dim = int(sys.argv[1]), int(sys.argv[2])
for q in range(n):
    print("[" + ",".join(f"{math.cos(q * 0.37 + d):.4f}" for d in range(dim)) + "]")
PY
# Warm the cache and the worker.
PGUSER=reader "${PSQL[@]}" -c "SELECT count(*) FROM rulake.search('items', '$(head -1 "$WORK/queries")', 10)" >/dev/null

awk '{printf "SELECT id, distance FROM rulake.search('"'"'items'"'"', '"'"'%s'"'"', 10);\n", $0}' \
  "$WORK/queries" >"$WORK/queries.sql"
PGUSER=reader "${PSQL[@]}" -F ' ' -f "$WORK/queries.sql" >"$WORK/sql.rows"
PGUSER=reader "${PSQL[@]}" -c '\timing on' -f "$WORK/queries.sql" |
  sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' >"$WORK/sql.ms"

python3 - "$EP" "$TOKEN" "$WORK" <<'PY'
import http.client, json, statistics, sys, time
port, token, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
queries = open(f"{work}/queries").read().split("\n")[:-1]
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Authorization": "Bearer " + token, "A2A-Version": "1.0",
           "Content-Type": "application/json"}
rows, ms = [], []
for i, q in enumerate(queries):
    body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {
        "messageId": str(i), "role": "ROLE_USER",
        "parts": [{"data": {"collection": "items", "vector": q, "k": 10}}]}}})
    t = time.perf_counter()
    conn.request("POST", "/", body, headers)
    answer = json.loads(conn.getresponse().read())
    ms.append((time.perf_counter() - t) * 1000)
    for r in answer["result"]["message"]["parts"][0]["data"]["results"]:
        rows.append(r["id"] + " " + r["distance"])
sql_rows = open(f"{work}/sql.rows").read().split("\n")[:-1]
sql_ms = [float(x) for x in open(f"{work}/sql.ms").read().split()]
same = rows == sql_rows
print(f"{len(queries)} queries, k = 10: answers byte-identical to SQL: {'yes' if same else 'NO'}"
      f" ({len(rows)} rows each side)")
def q(v, p):
    return sorted(v)[min(len(v) - 1, int(p * len(v)))]
print(f"{'path':<40} {'median ms':>10} {'p95 ms':>8} {'calls/s':>8}")
for name, v in (("SQL (psql, Unix socket)", sql_ms), ("A2A endpoint (HTTP keep-alive, JSON-RPC)", ms)):
    print(f"{name:<40} {statistics.median(v):>10.3f} {q(v, 0.95):>8.3f} {1000 / statistics.mean(v):>8.0f}")
sys.exit(0 if same else 1)
PY
