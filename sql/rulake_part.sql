-- Memory handed over by an A2A part: a2a.rulake_part names a verified bundle by its
-- witness; rulake.register_from_part checks the bundle against it and registers it.
-- Refused: a tampered witness or field, a missing bundle, an unknown major version, a
-- remote source, a role that may not read bundles.
SET client_min_messages = warning;
-- No CONTEXT lines: they carry PL/pgSQL line numbers, which change with every edit of
-- rulake.register; the errors' messages, details and hints are what is tested.
\set SHOW_CONTEXT never
SELECT set_config('rulake.bundle_root', current_setting('data_directory'), false) IS NOT NULL AS root_set;
CREATE TABLE part_src (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO part_src SELECT i, (SELECT array_agg(sin(i * 0.3 + j * 1.7)::real) FROM generate_series(1, 8) j)
FROM generate_series(1, 500) i;
SELECT rulake.register('part_src', 'table:part_src(id, v)', 'frozen', '{"lists": 4, "probes": 4}');
SELECT rulake.publish_bundle('part_src', 'rulake_part_bundle') IS NOT NULL AS published;

-- the part: version 1.1, the directory, the witness fields; small whatever the bundle holds
SELECT a2a.rulake_part('rulake_part_bundle') AS part \gset
SELECT :'part'::jsonb #>> '{data,version}' AS version, :'part'::jsonb #>> '{data,bundle}' AS bundle,
	(SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'part'::jsonb #> '{data,rulake_witness}') k) AS fields,
	octet_length(:'part') < 1000 AS small;

-- a good part registers; the collection serves the bundle the part names
SELECT r - 'verified' = :'part'::jsonb #> '{data,rulake_witness}' AS returns_the_witness, r->'verified' AS verified
FROM rulake.register_from_part('from_part', :'part'::jsonb, 'frozen', '{"lists": 4, "probes": 4}') r;
SELECT kind, location, consistency, lists,
	options->>'witness' = :'part'::jsonb #>> '{data,rulake_witness,rvf_witness}' AS pinned
FROM rulake.collections WHERE name = 'from_part';
SELECT rulake.witness('from_part') = :'part'::jsonb #>> '{data,rulake_witness,rvf_witness}' AS serves_the_witness;
SELECT (SELECT array_agg(id ORDER BY id) FROM rulake.search('from_part', (SELECT v FROM part_src WHERE id = 7), 5))
	= (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM part_src ORDER BY v <-> (SELECT v FROM part_src WHERE id = 7) LIMIT 5) s)
	AS same_neighbours;
-- the data object alone is a part too; the name is then taken
SELECT rulake.register_from_part('from_part', :'part'::jsonb->'data') IS NOT NULL;

-- tampered: the witness, or a field the witness covers, differs from the bundle's (the
-- bundle's witness depends on the floats written, so only the shape of the detail is shown)
SELECT set_config('regress.part', :'part', false) IS NOT NULL AS set;
DO $$
DECLARE
	v_state text;
	v_message text;
	v_detail text;
BEGIN
	PERFORM rulake.register_from_part('tampered', jsonb_set(current_setting('regress.part')::jsonb,
		'{data,rulake_witness,rvf_witness}', to_jsonb(repeat('0', 64))));
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
	RAISE WARNING '%: %: %', v_state, v_message,
		regexp_replace(v_detail, '"[0-9a-f]{64}" in the bundle', '"<the bundle''s>" in the bundle');
END
$$;
SELECT rulake.register_from_part('tampered', jsonb_set(:'part'::jsonb, '{data,rulake_witness,dim}', '9'));
SELECT rulake.register_from_part('tampered', jsonb_set(:'part'::jsonb, '{data,rulake_witness,generation}',
	to_jsonb((:'part'::jsonb #>> '{data,rulake_witness,generation}'))));
SELECT rulake.register_from_part('tampered', :'part'::jsonb #- '{data,rulake_witness,lineage_id}');
SELECT rulake.register_from_part('tampered', jsonb_set(:'part'::jsonb, '{data,rulake_witness,extra}', '1'));
-- missing: the part names a directory that holds no bundle (the path is the server's, so
-- only the SQLSTATE is shown)
DO $$ BEGIN PERFORM rulake.register_from_part('missing', jsonb_set(current_setting('regress.part')::jsonb,
	'{data,bundle}', '"rulake_part_none"'));
EXCEPTION WHEN OTHERS THEN RAISE WARNING 'a part naming a missing bundle: %', SQLSTATE; END $$;
SELECT rulake.register_from_part('escape', jsonb_set(:'part'::jsonb, '{data,bundle}', '"../outside"'));

-- versions: a version 1.0 part (no version, no directory) needs the source; an unknown
-- major version is refused, a newer minor one read
SELECT rulake.register_from_part('old', :'part'::jsonb #- '{data,version}' #- '{data,bundle}');
SELECT rulake.register_from_part('old', :'part'::jsonb #- '{data,version}' #- '{data,bundle}', 'fresh',
	'{"source": "bundle:rulake_part_bundle"}') IS NOT NULL AS registered;
SELECT rulake.register_from_part('v2', jsonb_set(:'part'::jsonb, '{data,version}', '"2.0"'));
SELECT rulake.register_from_part('v2', jsonb_set(:'part'::jsonb, '{data,version}', '2'));
SELECT rulake.register_from_part('v2', jsonb_set(:'part'::jsonb, '{data,version}', '"one"'));
SELECT rulake.register_from_part('v1_9', jsonb_set(:'part'::jsonb, '{data,version}', '"1.9"')) IS NOT NULL AS registered;

-- not a part; a remote source; bad arguments
SELECT rulake.register_from_part('x', '{"data": {"text": "hi"}}');
SELECT rulake.register_from_part('x', '[1]');
SELECT rulake.register_from_part('x', :'part'::jsonb, 'frozen', '{"source": "https://example.com/b/"}');
SELECT rulake.register_from_part('x', :'part'::jsonb, 'sometimes');
SELECT rulake.register_from_part('x', :'part'::jsonb, 'frozen', '{"colour": "red"}');
SELECT rulake.register_from_part('x', NULL);

-- a role that may not read bundles may not register one from a part either
CREATE ROLE rulake_part_user;
SET SESSION AUTHORIZATION rulake_part_user;
SELECT rulake.register_from_part('theirs', :'part'::jsonb);
RESET SESSION AUTHORIZATION;
DROP ROLE rulake_part_user;

-- pinned: a collection registered from a part serves that bundle only; republished with
-- other rows, the directory's bundle is refused when it is read (fresh reads it at each
-- search), naming the collection
SELECT rulake.register_from_part('pinned', :'part'::jsonb, 'fresh') IS NOT NULL AS registered;
SELECT count(*) FROM rulake.search('pinned', (SELECT v FROM part_src WHERE id = 7), 5);
UPDATE part_src SET v = (SELECT array_agg(0.5::real) FROM generate_series(1, 8)) WHERE id = 7;
SELECT rulake.publish_bundle('part_src', 'rulake_part_bundle') IS NOT NULL AS republished;
DO $$ BEGIN PERFORM count(*) FROM rulake.search('pinned', '[1,1,1,1,1,1,1,1]', 5);
  RAISE WARNING 'the replaced bundle was served';
EXCEPTION WHEN data_corrupted THEN RAISE WARNING 'refused: %', SQLERRM; END $$;
SELECT rulake.register('pin_bad', 'table:part_src(id, v)', 'fresh', '{"witness": "00"}');

SELECT name FROM rulake.collections WHERE name NOT IN ('part_src') AND name IN
	('from_part', 'tampered', 'missing', 'escape', 'old', 'v2', 'v1_9', 'x', 'theirs') ORDER BY name;
SELECT rulake.unregister(n) FROM unnest(ARRAY['from_part', 'old', 'v1_9', 'pinned', 'part_src']) n;
DROP TABLE part_src;
