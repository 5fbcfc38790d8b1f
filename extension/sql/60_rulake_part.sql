-- Receiving memory handed over by an A2A part (a2a.rulake_part): the bundle the part names
-- is verified against the witness the part carries and registered as a ruLake collection
-- (docs/rulake.md, "Registering from an A2A part").

-- The part's major version. A part from before version 1.1 has no version field: it is
-- version 1. Raises for a malformed one; the caller refuses majors it does not know.
CREATE FUNCTION rulake._part_major(version jsonb) RETURNS integer
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF version IS NULL THEN
		RETURN 1;
	ELSIF jsonb_typeof(version) = 'string' AND version #>> '{}' ~ '^[0-9]{1,6}(\.[0-9]{1,6})?$' THEN
		RETURN split_part(version #>> '{}', '.', 1)::integer;
	ELSIF jsonb_typeof(version) = 'number' AND version::text ~ '^[0-9]{1,6}$' THEN
		RETURN version::text::integer;
	END IF;
	RAISE EXCEPTION 'rulake.register_from_part: part version % is not MAJOR.MINOR', left(version::text, 40)
		USING ERRCODE = '22023';
END
$$;

-- Invoker's rights: the same checks as rulake.register of the bundle (pg_read_server_files,
-- paths confined to rulake.bundle_root; a remote URL's host in rulake.allowed_hosts),
-- which it ends with. The collection is pinned to the part's witness: a bundle with
-- another one is refused whenever it is read. A local bundle is also checked now, field
-- by field; a remote one is checked when the refill worker has fetched it (a backend never
-- reaches the network).
CREATE FUNCTION rulake.register_from_part(name text, part jsonb, consistency text DEFAULT 'fresh',
		options jsonb DEFAULT '{}') RETURNS jsonb
	LANGUAGE plpgsql
AS $$
DECLARE
	v_data jsonb;
	v_claimed jsonb;
	v_found jsonb;
	v_source text;
	v_major integer;
	v_key text;
BEGIN
	IF name IS NULL OR part IS NULL OR consistency IS NULL OR options IS NULL THEN
		RAISE EXCEPTION 'rulake.register_from_part: arguments must not be null' USING ERRCODE = '22004';
	END IF;
	IF jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'rulake.register_from_part: options must be a JSON object' USING ERRCODE = '22023';
	END IF;
	-- The part as a2a.rulake_part builds it, or its data object alone.
	v_data := CASE WHEN jsonb_typeof(part) = 'object' AND part ? 'data' THEN part->'data' ELSE part END;
	IF jsonb_typeof(v_data) <> 'object' OR jsonb_typeof(v_data->'rulake_witness') IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'rulake.register_from_part: not a rulake_witness part' USING ERRCODE = '22023',
			HINT = 'a2a.rulake_part(bundle_dir) builds one: {"data": {"version": ..., "bundle": ..., "rulake_witness": {...}}}.';
	END IF;
	v_major := rulake._part_major(v_data->'version');
	IF v_major <> 1 THEN
		RAISE EXCEPTION 'rulake.register_from_part: part version % is not supported', v_data->>'version'
			USING ERRCODE = '0A000',
			DETAIL = 'This server reads version 1 parts (1.0 and 1.1).',
			HINT = 'Update ruvector here, or ask the sender for a version 1 part.';
	END IF;
	-- options: "source" (where the bundle is, when the part does not say or is to be read
	-- elsewhere), the rest is rulake.register's.
	IF options ? 'source' THEN
		v_source := options->>'source';
	ELSIF jsonb_typeof(v_data->'bundle') = 'string' THEN
		v_source := 'bundle:' || (v_data->>'bundle');
	ELSE
		RAISE EXCEPTION 'rulake.register_from_part: the part names no bundle directory' USING ERRCODE = '22023',
			DETAIL = 'A version 1.0 part carries the witness only.',
			HINT = 'Say where the bundle is with options {"source": "bundle:DIR"}.';
	END IF;
	IF v_source IS NULL OR (v_source NOT LIKE 'bundle:%' AND v_source !~ '^https?://') THEN
		RAISE EXCEPTION 'rulake.register_from_part: source must be bundle:DIR or an http(s) URL, not "%"', v_source
			USING ERRCODE = '0A000';
	END IF;
	v_claimed := v_data->'rulake_witness';
	IF jsonb_typeof(v_claimed->'rvf_witness') IS DISTINCT FROM 'string'
			OR v_claimed->>'rvf_witness' !~ '^[0-9a-f]{64}$' THEN
		RAISE EXCEPTION 'rulake.register_from_part: the part''s rvf_witness is not 64 hex digits'
			USING ERRCODE = '22023';
	END IF;
	IF v_source ~ '^https?://' THEN
		PERFORM rulake.register(name, v_source, consistency,
			options - 'source' || jsonb_build_object('witness', v_claimed->>'rvf_witness'));
		RETURN v_claimed || '{"verified": false}';
	END IF;
	IF NOT pg_has_role(current_user, 'pg_read_server_files', 'USAGE') THEN
		RAISE EXCEPTION 'rulake.register_from_part: permission denied to register bundle collections'
			USING ERRCODE = '42501',
			DETAIL = 'Only superusers and members of pg_read_server_files may read bundles under rulake.bundle_root.';
	END IF;

	-- Every field must be the same, not only the witness: a part whose fields were changed
	-- but whose witness was not would otherwise pass for what it does not describe.
	v_found := rulake.verify_bundle(substr(v_source, 8)) - 'valid';
	FOR v_key IN SELECT k FROM (SELECT jsonb_object_keys(v_found) UNION SELECT jsonb_object_keys(v_claimed)) x(k)
			ORDER BY k <> 'rvf_witness', k LOOP
		IF (v_found->v_key) IS DISTINCT FROM (v_claimed->v_key) THEN
			RAISE EXCEPTION 'rulake.register_from_part: bundle % does not match the part', substr(v_source, 8)
				USING ERRCODE = 'XX001',
				DETAIL = format('%s is %s in the bundle, %s in the part', v_key,
					coalesce(left((v_found->v_key)::text, 80), 'absent'),
					coalesce(left((v_claimed->v_key)::text, 80), 'absent'));
		END IF;
	END LOOP;

	PERFORM rulake.register(name, v_source, consistency,
		options - 'source' || jsonb_build_object('witness', v_claimed->>'rvf_witness'));
	RETURN v_found || '{"verified": true}';
END
$$;
COMMENT ON FUNCTION rulake.register_from_part(text, jsonb, text, jsonb) IS 'register the bundle an A2A rulake_witness part names, after checking it against the part''s witness';
