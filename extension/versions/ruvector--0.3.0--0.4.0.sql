-- ruvector 0.3.0 -> 0.4.0 (ALTER EXTENSION ruvector UPDATE): the type's default storage is
-- main, so new columns keep vectors in the row (docs/sql-reference.md#storage).
-- tests/server/upgrade.sh checks that an updated 0.3.0 matches a fresh 0.4.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.4.0'" to load this file. \quit

-- Postgres allows a change between the toastable strategies; it applies to columns created
-- from now on. Existing columns keep theirs: ALTER TABLE ... ALTER COLUMN ... SET STORAGE
-- MAIN moves them (new rows at once, old ones at the next rewrite, e.g. VACUUM FULL).
ALTER TYPE ruvector SET (STORAGE = main);
