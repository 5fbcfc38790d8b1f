#!/usr/bin/env bash
# Every user-facing function, operator, aggregate, GUC and the types of the installed
# extension are named somewhere in docs/: a new SQL object without documentation fails
# here. Left out: internal helpers (a leading underscore), trigger functions, and the
# functions behind operators, aggregates, casts, types, operator classes and the access
# method, which are documented through what they implement, and array types.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/cluster.sh
cluster_start
trap cluster_stop EXIT

PSQL=(psql -X -v ON_ERROR_STOP=1 -qtA)
"${PSQL[@]}" -c "CREATE EXTENSION ruvector" >/dev/null
names=$("${PSQL[@]}" <<'SQL'
WITH members AS (
  SELECT classid, objid FROM pg_depend
  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ruvector'))
SELECT DISTINCT 'function ' || p.proname
FROM members JOIN pg_proc p ON p.oid = objid
WHERE classid = 'pg_proc'::regclass AND p.proname !~ '^_'
  AND p.prorettype NOT IN ('trigger'::regtype, 'index_am_handler'::regtype)
  AND p.oid NOT IN (SELECT oprcode FROM pg_operator)
  AND p.oid NOT IN (SELECT castfunc FROM pg_cast)
  AND p.oid NOT IN (SELECT amproc FROM pg_amproc)
  AND p.oid NOT IN (SELECT unnest(ARRAY[aggtransfn, aggfinalfn, aggcombinefn]) FROM pg_aggregate)
  AND p.oid NOT IN (SELECT unnest(ARRAY[typinput, typoutput, typreceive, typsend, typmodin, typmodout])
                    FROM pg_type)
UNION
SELECT DISTINCT 'operator ' || o.oprname FROM members JOIN pg_operator o ON o.oid = objid
WHERE classid = 'pg_operator'::regclass
UNION
SELECT DISTINCT 'type ' || t.typname FROM members JOIN pg_type t ON t.oid = objid
WHERE classid = 'pg_type'::regclass
  -- Array types: PostgreSQL 17 records them as extension members too (15 and 16.2 only
  -- their element types); they are documented through their element types.
  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
UNION
SELECT 'access method ' || amname FROM members JOIN pg_am a ON a.oid = objid
WHERE classid = 'pg_am'::regclass
UNION
-- rabitq.debug_fault is a developer switch that breaks scans on purpose for
-- tests/server/rabitq_fault.sh; it stays out of docs/ so that nobody sets it. pg_settings
-- hides it already (GUC_NO_SHOW_ALL); named here so that losing that flag does not make
-- this test ask for its documentation.
SELECT 'setting ' || name FROM pg_settings WHERE name ~ '^(ruvector|rabitq|rulake|a2a)\.'
  AND name <> 'rabitq.debug_fault'
ORDER BY 1
SQL
)
missing=0
count=0
while read -r kind rest; do
  [[ -n "$kind" ]] || continue
  word=${rest##* }
  count=$((count + 1))
  if ! grep -rqF -- "$word" docs/; then
    echo "docs_coverage: $kind $rest is not named in docs/" >&2
    missing=$((missing + 1))
  fi
done <<<"$names"
[[ $count -gt 50 ]] || { echo "docs_coverage: only $count names found; the query is broken" >&2; exit 1; }
[[ $missing -eq 0 ]] || exit 1
echo "docs_coverage: all $count names documented"
