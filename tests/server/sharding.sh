#!/usr/bin/env bash
# Vector search across servers with Postgres' own sharding (docs/sharding.md): three
# throwaway clusters, a coordinator whose table `docs` is hash-partitioned into two
# postgres_fdw foreign tables, each on a shard server with its own rabitq index. 20k rows
# go in through the coordinator. Then:
#   - the sharded top 25 (ids and exact distances; more than a shard's fetch_size of 10, so
#     the merge must fetch again) equals an exact scan of one local table holding the same
#     rows, for 50 queries, with <->, <=> and <#>, and with a WHERE filter;
#   - EXPLAIN VERBOSE shows each shard's remote SQL ordered by the distance operator;
#   - each shard ships fetch_size rows (10), not postgres_fdw's default 100;
#   - the probes setting reaches the shards through the server's `options`;
#   - with one shard stopped the query fails with an error naming that server.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
trap clusters_stop EXIT
fail() {
  echo "sharding: FAIL: $*" >&2
  exit 1
}

clusters_start 3 "log_statement = 'all'" "max_parallel_workers_per_gather = 0"
DIRS=("${CLUSTER_DIRS[@]}")
COORD=${DIRS[0]}
on() { "${PSQL[@]}" -h "$1" "${@:2}"; }

for shard in 1 2; do
  on "${DIRS[$shard]}" <<'SQL'
CREATE EXTENSION ruvector;
CREATE TABLE docs (id bigint PRIMARY KEY, tag int NOT NULL, embedding ruvector(32));
SQL
done
on "$COORD" <<SQL
CREATE EXTENSION ruvector;
CREATE EXTENSION postgres_fdw;
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${DIRS[1]}', port '$PGPORT',
  dbname 'postgres', extensions 'ruvector', fetch_size '10', options '-c rabitq.probes=64');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${DIRS[2]}', port '$PGPORT',
  dbname 'postgres', extensions 'ruvector', fetch_size '10', options '-c rabitq.probes=64');
CREATE USER MAPPING FOR postgres SERVER shard1 OPTIONS (user 'postgres');
CREATE USER MAPPING FOR postgres SERVER shard2 OPTIONS (user 'postgres');
CREATE TABLE docs (id bigint NOT NULL, tag int NOT NULL, embedding ruvector(32)) PARTITION BY HASH (id);
CREATE FOREIGN TABLE docs_1 PARTITION OF docs FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1
  OPTIONS (table_name 'docs');
CREATE FOREIGN TABLE docs_2 PARTITION OF docs FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2
  OPTIONS (table_name 'docs');
-- 40 clusters of 500 rows; the reference table holds the same rows, without an index.
CREATE TABLE single (id bigint PRIMARY KEY, tag int NOT NULL, embedding ruvector(32));
INSERT INTO single
SELECT g, g % 7, (SELECT array_agg(sin(g % 40 * 7 + i) * 4 + (random() - 0.5) * (1 + g % 3))
                  FROM generate_series(1, 32) i)::ruvector
FROM generate_series(1, 20000) g;
INSERT INTO docs SELECT * FROM single;
CREATE TABLE queries AS
SELECT q, (SELECT array_agg(sin(q % 40 * 7 + i) * 4 + (random() - 0.5) * 2) FROM generate_series(1, 32) i)::ruvector AS v
FROM generate_series(1, 50) q;
SQL
for shard in 1 2; do
  on "${DIRS[$shard]}" -c "CREATE INDEX ON docs USING rabitq (embedding)" \
    -c "CREATE INDEX ON docs USING rabitq (embedding ruvector_cosine_ops)" \
    -c "CREATE INDEX ON docs USING rabitq (embedding ruvector_ip_ops)" -c "ANALYZE docs" >/dev/null
done
on "$COORD" -c "ANALYZE docs" -c "ANALYZE single" >/dev/null
rows=$(on "${DIRS[1]}" -c "SELECT count(*) FROM docs")
[[ $rows -gt 9000 && $rows -lt 11000 ]] || fail "shard 1 holds $rows of the 20000 rows"

# The sharded answer against the exact one, ids and distances, for each operator.
for op in '<->' '<=>' '<#>'; do
  for where in "" "WHERE tag = 3"; do
    differ=$(on "$COORD" <<SQL
SELECT count(*) FROM queries q,
  LATERAL (SELECT array_agg(id ORDER BY d, id) AS ids, array_agg(round(d::numeric, 4) ORDER BY d, id) AS ds
           FROM (SELECT id, embedding $op q.v AS d FROM docs $where ORDER BY embedding $op q.v LIMIT 25) s) sharded,
  LATERAL (SELECT array_agg(id ORDER BY d, id) AS ids, array_agg(round(d::numeric, 4) ORDER BY d, id) AS ds
           FROM (SELECT id, embedding $op q.v AS d FROM single $where ORDER BY embedding $op q.v LIMIT 25) s) exact
WHERE sharded.ids IS DISTINCT FROM exact.ids OR sharded.ds IS DISTINCT FROM exact.ds;
SQL
)
    [[ $differ == 0 ]] || fail "$op $where: $differ of 50 sharded top-25s differ from the exact one"
  done
done
echo "sharding: 50 queries x 3 operators x (all, filtered): sharded top 25 = exact top 25"

# Each shard runs the ordered scan itself, with the filter, behind its own index.
plan=$(on "$COORD" -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM docs WHERE tag = 3
  ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 1) LIMIT 10")
[[ $(grep -c "Remote SQL: .*WHERE ((tag = 3)) ORDER BY (embedding OPERATOR(public.<->)" <<<"$plan") == 2 ]] ||
  fail "the remote SQL is not an ordered, filtered scan on both shards:
$plan"
grep -q "Merge Append" <<<"$plan" || fail "no Merge Append of the shards' ordered scans:
$plan"
for shard in 1 2; do
  on "${DIRS[$shard]}" -c "SET rabitq.probes = 64" -c "EXPLAIN (COSTS OFF) SELECT id FROM docs
    ORDER BY embedding <-> (SELECT embedding FROM docs LIMIT 1) LIMIT 10" | grep -q "Index Scan using docs_embedding_idx" ||
    fail "shard $shard does not use its rabitq index for the remote query"
done

# What each shard shipped for the last query: one FETCH of fetch_size rows.
log_lines=$(wc -l <"${DIRS[1]}/server.log")
on "$COORD" -c "SELECT id FROM docs ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 2) LIMIT 10" >/dev/null
fetches=$(tail -n +"$((log_lines + 1))" "${DIRS[1]}/server.log" | grep -o "FETCH [0-9]* FROM" | sort | uniq -c | xargs)
[[ $fetches == "1 FETCH 10 FROM" || $fetches == "2 FETCH 10 FROM" ]] ||
  fail "shard 1 was asked for '$fetches' (fetch_size '10' should make it one or two FETCH 10)"
# The server's options reached the shard's sessions: a view there reports the setting.
on "${DIRS[1]}" -c "CREATE VIEW session_probes AS SELECT current_setting('rabitq.probes') AS probes" >/dev/null
probes=$(on "$COORD" -c "CREATE FOREIGN TABLE shard1_probes (probes text) SERVER shard1
    OPTIONS (table_name 'session_probes')" -c "SELECT probes FROM shard1_probes")
[[ $probes == 64 ]] || fail "rabitq.probes on shard 1's postgres_fdw session is $probes, not 64"

# ruLake across servers (docs/sharding.md#rulake-across-servers): the foreign partitions
# registered as eventual collections on the coordinator, every list probed and every row
# reranked, federate to the exact answer; fresh is refused; a write on a shard's own server
# is seen after rulake.refresh.
out=$(on "$COORD" -c "SELECT rulake.register('remote_1', 'table:public.docs_1(id, embedding)')" 2>&1 || true)
grep -q 'a foreign table cannot be fresh' <<<"$out" || fail "a fresh foreign-table collection was not refused: $out"
on "$COORD" >/dev/null <<'SQL'
SELECT rulake.register('remote_' || s, format('table:public.docs_%s(id, embedding)', s), 'eventual',
  '{"probes": 0, "rerank_factor": 1000}') FROM generate_series(1, 2) s;
SQL
differ=$(on "$COORD" <<'SQL'
SELECT count(*) FROM queries q,
  LATERAL (SELECT array_agg(id ORDER BY distance, id) AS ids, array_agg(distance ORDER BY distance, id) AS ds
           FROM rulake.search_federated(ARRAY['remote_1', 'remote_2'], q.v, 10)) fed,
  LATERAL (SELECT array_agg(id ORDER BY d, id) AS ids, array_agg(d ORDER BY d, id) AS ds
           FROM (SELECT id, embedding <-> q.v AS d FROM single ORDER BY embedding <-> q.v LIMIT 10) s) exact
WHERE fed.ids IS DISTINCT FROM exact.ids
   OR EXISTS (SELECT 1 FROM unnest(fed.ds, exact.ds) u(a, b) WHERE abs(a - b) > 1e-4 * greatest(1, b));
SQL
)
[[ $differ == 0 ]] || fail "$differ of 50 federated top-10s over the remote shards differ from the exact one"
near=$(on "${DIRS[1]}" -c "SELECT id FROM docs ORDER BY id LIMIT 1")
on "${DIRS[1]}" -c "UPDATE docs SET embedding = (SELECT array_fill(100, ARRAY[32]))::ruvector WHERE id = $near" >/dev/null
[[ $(on "$COORD" -c "SELECT rulake.refresh('remote_1')") == invalidated ]] || fail "refresh of a foreign-table collection did not read it again"
top=$(on "$COORD" -c "SELECT id FROM rulake.search_federated(ARRAY['remote_1', 'remote_2'], array_fill(100, ARRAY[32])::ruvector, 1)")
[[ $top == "$near" ]] || fail "after a write on shard 1 and refresh, the federated top row is $top, not $near"
echo "sharding: rulake.search_federated over two remote shards = exact top 10 for 50 queries; refresh reads a shard again"

# One shard down: the query fails, naming the server.
cluster_as_owner "$PG_BINDIR/pg_ctl" -D "${DIRS[2]}/data" -m fast -w stop >/dev/null
if out=$(on "$COORD" -c "SELECT id FROM docs ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 3) LIMIT 10" 2>&1); then
  fail "the query succeeded with shard 2 down: $out"
fi
grep -q 'could not connect to server "shard2"' <<<"$out" || fail "the error does not name the server: $out"
# ruLake keeps answering from its cache while the shard is down (until the next refresh).
n=$(on "$COORD" -c "SELECT count(*) FROM rulake.search_federated(ARRAY['remote_1', 'remote_2'], (SELECT v FROM queries WHERE q = 3), 10)")
[[ $n == 10 ]] || fail "the cached collections did not answer with a shard down: $n"
reread=$(on "$COORD" -c "SELECT rulake.refresh('remote_2')" -c "SELECT count(*) FROM rulake.search('remote_2', (SELECT v FROM queries WHERE q = 3), 10)" 2>&1 || true)
grep -q 'could not connect to server "shard2"' <<<"$reread" ||
  fail "re-reading a collection whose server is down does not name the server: $reread"
echo "sharding: EXPLAIN shows ordered remote scans; fetch_size ships 10 rows a shard; a shard down: $(head -1 <<<"$out")"
echo "sharding: with a shard down ruLake answers from its cache; reading the shard again names it"
