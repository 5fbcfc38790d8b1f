#!/usr/bin/env bash
# VACUUM after a mass DELETE on Fashion-MNIST (60k x 784, L2, k = 10): what the repack of
# lists that are mostly tombstones buys over the tombstones alone, and what REINDEX would.
# For rabitq with vectors in the index and with rerank_from_heap, in the same run:
#   tombstones  80% of the rows deleted and VACUUMed while another session holds the index,
#               so that VACUUM marks the tombstones and leaves the repack (as it does when
#               the index is busy)
#   repacked    the next VACUUM, which only repacks (its time is the "repack s" column)
#   REINDEX     the index rebuilt over the rows left
# Pages in use are the index's pages less those on its free list (read with pageinspect).
# µs/q is the server's time per query in a PL/pgSQL loop over QUERIES queries (median of
# 3 runs; no client round trip); recall@10 is against an exact scan of the rows left.
#   bench/vacuum_repack.sh [QUERIES]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/cluster.sh
QUERIES=${1:-300}
source bench/fashion_load.sh
fashion_cluster_start
load_fashion "$QUERIES"
"${PSQL[@]}" <<'SQL'
CREATE EXTENSION pageinspect;
CREATE TABLE left_truth AS SELECT q.id AS qid, array(SELECT f.id FROM fashion f WHERE f.id % 5 = 0
  ORDER BY f.embedding <-> q.embedding LIMIT 10) AS ids FROM queries q;
CREATE FUNCTION server_us(rounds int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE q ruvector; t0 timestamptz; n int := 0; ids int[];
BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..rounds LOOP
    FOR q IN SELECT embedding FROM queries ORDER BY id LOOP
      ids := array(SELECT id FROM r ORDER BY embedding <-> q LIMIT 10);
      n := n + 1;
    END LOOP;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;
SQL

state() {  # "pages in use|µs/q|recall" of index r_idx now
  local pages us recall
  pages=$("${PSQL[@]}" -c "SELECT pg_relation_size('r_idx') / 8192 - (SELECT get_byte(p, 88)
      + 256 * get_byte(p, 89) + 65536 * get_byte(p, 90) FROM get_raw_page('r_idx', 0) p)")
  us=$(for _ in 1 2 3; do "${PSQL[@]}" -c "SET enable_seqscan = off" -c "SELECT server_us(1)" | tail -1; done |
    sort -g | sed -n 2p)
  recall=$("${PSQL[@]}" -c "SET enable_seqscan = off;
    SELECT round(avg(cardinality(array(SELECT unnest(t.ids) INTERSECT SELECT unnest(array(
      SELECT f.id FROM r f ORDER BY f.embedding <-> q.embedding LIMIT 10))))) / 10.0, 3)
    FROM left_truth t JOIN queries q ON q.id = t.qid" | tail -1)
  printf "%s|%.0f|%s" "$pages" "$us" "$recall"
}

results=$(mktemp)
run() {  # name, index options
  local name=$1 with=$2 built tomb repack_s repacked reindex_s reindexed
  "${PSQL[@]}" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS r;
CREATE TABLE r AS SELECT id, embedding FROM fashion;
ALTER TABLE r ALTER embedding SET STORAGE PLAIN;
VACUUM ANALYZE r;
CREATE INDEX r_idx ON r USING rabitq (embedding) $with;
SQL
  built=$("${PSQL[@]}" -c "SELECT pg_relation_size('r_idx') / 8192")
  "${PSQL[@]}" -c "DELETE FROM r WHERE id % 5 <> 0"
  # Holds the index between statements: no snapshot keeps the deleted rows from VACUUM.
  "${PSQL[@]}" -c "SET enable_seqscan = off" -c "BEGIN" \
    -c "SELECT id FROM r ORDER BY embedding <-> (SELECT embedding FROM queries LIMIT 1) LIMIT 1" \
    -c '\! sleep 7' -c "COMMIT" >/dev/null &
  sleep 1
  "${PSQL[@]}" -c "VACUUM r" 2>/dev/null
  wait
  tomb=$(state)
  repack_s=$(timed "VACUUM r")
  repacked=$(state)
  reindex_s=$(timed "REINDEX INDEX r_idx")
  reindexed=$(state)
  IFS='|' read -r tp tu tr <<<"$tomb"
  IFS='|' read -r pp pu pr <<<"$repacked"
  IFS='|' read -r rp ru rr <<<"$reindexed"
  printf "| %s | %s | %s / %s / %s | %.2f | %.2f | %s / %s / %s | %s / %s / %s |\n" "$name" "$built" \
    "$tp" "$pp" "$rp" "$repack_s" "$reindex_s" "$tu" "$pu" "$ru" "$tr" "$pr" "$rr" >>"$results"
}

run "rabitq rerank_from_heap = false" "WITH (rerank_from_heap = false)"
run "rabitq (defaults: rerank_from_heap)" ""

echo
echo "Fashion-MNIST 60k x 784, 80% of the rows deleted, $QUERIES queries, default probes and epsilon, $(nproc) cores"
echo "| index | pages built | pages in use: tombstones / repacked / REINDEX | repack s | REINDEX s | µs/q: tombstones / repacked / REINDEX | recall@10: tombstones / repacked / REINDEX |"
echo "|---|---:|---:|---:|---:|---:|---:|"
cat "$results"
