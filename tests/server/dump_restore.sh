#!/usr/bin/env bash
# pg_dump / restore of ruvector columns, in plain and custom (binary COPY) formats: every
# value comes back bit for bit, typmods and the extension dependency included.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
"${PSQL[@]}" -c "CREATE DATABASE src"
"${PSQL[@]}" -d src <<'SQL'
CREATE EXTENSION ruvector;
CREATE TABLE items (id int PRIMARY KEY, v ruvector(16), w ruvector);
INSERT INTO items
SELECT i,
       (SELECT array_agg(sin(i * 13 + j)::real * 10 ^ (j % 9 - 4)) FROM generate_series(1, 16) j),
       CASE WHEN i % 7 = 0 THEN NULL ELSE ARRAY[i, -i * 0.1, 1e-7 * i]::ruvector END
FROM generate_series(1, 2000) i;
SQL
checksum() {
  "${PSQL[@]}" -d "$1" -c "SELECT md5(string_agg(id || ':' || coalesce(v::text, '-') || ':' ||
      coalesce(w::text, '-') || ':' || coalesce(encode(ruvector_send(v), 'hex'), '-'), ',' ORDER BY id))
      FROM items"
}
expected=$(checksum src)

for format in plain custom; do
  db="dst_$format"
  "${PSQL[@]}" -c "CREATE DATABASE $db"
  if [[ $format == plain ]]; then
    pg_dump -d src | "${PSQL[@]}" -d "$db" >/dev/null
  else
    pg_dump -Fc -d src -f "$CLUSTER_DIR/src.dump"
    pg_restore -d "$db" "$CLUSTER_DIR/src.dump"
  fi
  got=$(checksum "$db")
  if [[ "$got" != "$expected" ]]; then
    echo "dump_restore: $format restore differs ($got vs $expected)" >&2
    exit 1
  fi
  typ=$("${PSQL[@]}" -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                   WHERE attrelid = 'items'::regclass AND attname = 'v'")
  [[ "$typ" == "ruvector(16)" ]] || { echo "dump_restore: typmod lost ($typ)" >&2; exit 1; }
done
echo "dump_restore: ok"
