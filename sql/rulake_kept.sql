-- ruLake keeps the collection rows a search read (rulake_catalog_cache.cpp): a kept row is
-- used only while it is still the version the statement sees, and only by the role that
-- read it. Every change to the catalog shows in the next search of the same backend.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE TABLE kept_a (id bigint PRIMARY KEY, v ruvector(4));
INSERT INTO kept_a SELECT g, ARRAY[g, g % 7, g % 5, 1]::ruvector FROM generate_series(1, 200) g;
CREATE TABLE kept_b (id bigint PRIMARY KEY, v ruvector(4));
INSERT INTO kept_b SELECT g + 1000, ARRAY[g, g % 7, g % 5, 1]::ruvector FROM generate_series(1, 200) g;

-- Unregistered, and its place in the catalog reused once VACUUM has freed it: the row at
-- the kept place is another one, told apart by its bytes.
VACUUM (INDEX_CLEANUP ON) rulake.collections;
SELECT rulake.register('kept0', 'table:public.kept_a(id, v)', 'fresh', '{"lists": 4, "probes": 4}');
SELECT id FROM rulake.search('kept0', '[10,3,0,1]', 2) ORDER BY id;
SELECT ctid AS kept0_place FROM rulake.collections WHERE name = 'kept0' \gset
SELECT rulake.unregister('kept0');
VACUUM (INDEX_CLEANUP ON) rulake.collections;
SELECT rulake.register('kept0', 'table:public.kept_b(id, v)', 'fresh', '{"lists": 4, "probes": 4}');
SELECT ctid = :'kept0_place' AS same_place FROM rulake.collections WHERE name = 'kept0';
SELECT id FROM rulake.search('kept0', '[10,3,0,1]', 2) ORDER BY id;
SELECT rulake.unregister('kept0');

SELECT rulake.register('kept1', 'table:public.kept_a(id, v)', 'fresh', '{"lists": 4, "probes": 4}');
SELECT rulake.register('kept2', 'table:public.kept_a(id, v)', 'fresh', '{"lists": 4, "probes": 4}');
SELECT id FROM rulake.search('kept1', '[10,3,0,1]', 2) ORDER BY id;

-- Unregistered: gone for the next search.
SELECT rulake.unregister('kept1');
SELECT id FROM rulake.search('kept1', '[10,3,0,1]', 2);
-- Registered again over another table: the new row, not the kept one.
SELECT rulake.register('kept1', 'table:public.kept_b(id, v)', 'fresh', '{"lists": 4, "probes": 4}');
SELECT id FROM rulake.search('kept1', '[10,3,0,1]', 2) ORDER BY id;

-- A row changed in place by hand (a superuser may): the new version.
SELECT id FROM rulake.search('kept2', '[10,3,0,1]', 2) ORDER BY id;
UPDATE rulake.collections SET relid = 'kept_b'::regclass, location = 'table:public.kept_b(id, v)'
WHERE name = 'kept2';
SELECT id FROM rulake.search('kept2', '[10,3,0,1]', 2) ORDER BY id;
-- Inside a transaction that rolls back: the change, then the row as it was.
BEGIN;
UPDATE rulake.collections SET relid = 'kept_a'::regclass, location = 'table:public.kept_a(id, v)'
WHERE name = 'kept2';
SELECT id FROM rulake.search('kept2', '[10,3,0,1]', 2) ORDER BY id;
ROLLBACK;
SELECT id FROM rulake.search('kept2', '[10,3,0,1]', 2) ORDER BY id;
-- Federated: kept rows and a name that is not registered.
SELECT collection, id FROM rulake.search_federated(ARRAY['kept1', 'kept2'], '[10,3,0,1]', 2)
ORDER BY collection, id;
SELECT * FROM rulake.search_federated(ARRAY['kept1', 'kept_none'], '[10,3,0,1]', 2);

-- Another role: the superuser's kept rows are not its own. Row security hides a collection
-- over a table it may not read; a grant shows it; after the revoke its kept row is still
-- there, and the read access check refuses it.
CREATE ROLE kept_reader;
GRANT USAGE ON SCHEMA public TO kept_reader;
SET ROLE kept_reader;
SELECT id FROM rulake.search('kept1', '[10,3,0,1]', 2);
RESET ROLE;
GRANT SELECT ON kept_b TO kept_reader;
SET ROLE kept_reader;
SELECT id FROM rulake.search('kept1', '[10,3,0,1]', 2) ORDER BY id;
RESET ROLE;
REVOKE SELECT ON kept_b FROM kept_reader;
SET ROLE kept_reader;
SELECT id FROM rulake.search('kept1', '[10,3,0,1]', 2);
SELECT * FROM rulake.search_federated(ARRAY['kept2'], '[10,3,0,1]', 2);
RESET ROLE;

SELECT rulake.unregister('kept1');
SELECT rulake.unregister('kept2');
DROP TABLE kept_a, kept_b;
REVOKE USAGE ON SCHEMA public FROM kept_reader;
DROP ROLE kept_reader;
