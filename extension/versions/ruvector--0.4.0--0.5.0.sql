-- ruvector 0.4.0 -> 0.5.0 (ALTER EXTENSION ruvector UPDATE): rulake.publish_bundle takes
-- options (pii_policy, lineage_id, generation), rulake.stats() reports evictions, the last
-- search and the writes folded into overlays, and the write log names the ids each
-- statement touched, so that cached images absorb writes (docs/rulake.md). tests/server/upgrade.sh checks that an updated 0.4.0
-- matches a fresh 0.5.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.5.0'" to load this file. \quit

-- A new parameter and a new result column change the functions' signatures: replace them.
-- Neither has grants of its own, and nothing in the extension depends on them. (A view of
-- the user's over rulake.stats() would stop the DROP with a dependency error: drop it,
-- update, and create it again.)
DROP FUNCTION rulake.publish_bundle(text, text);
-- options: pii_policy, lineage_id (strings) and generation (a number or a string, e.g. an
-- Iceberg snapshot id); the defaults are "", the collection's name and the table's generation.
CREATE FUNCTION rulake.publish_bundle(collection text, dir text, options jsonb DEFAULT '{}')
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_publish_bundle' LANGUAGE C STRICT;
COMMENT ON FUNCTION rulake.publish_bundle(text, text, jsonb) IS 'write a collection''s rows as a bundle under rulake.bundle_root, atomically; options set pii_policy, lineage_id and generation';

DROP FUNCTION rulake.stats();
CREATE FUNCTION rulake.stats()
	RETURNS TABLE (collection text, witness text, consistency text, state text, primes bigint,
		hits bigint, misses bigint, hit_rate double precision, bytes bigint, last_primed timestamptz,
		last_error text, evictions bigint, last_searched timestamptz, deltas bigint)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error, evictions, last search, writes folded in';

-- The write log names what each statement touched (docs/rulake.md#writes). Rows logged
-- before the update name nothing (ids NULL): a cached image older than them is primed in
-- full once, as before.
ALTER TABLE rulake.table_writes
	ADD COLUMN xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	ADD COLUMN id_column name,
	ADD COLUMN ids bigint[],
	ADD COLUMN folded boolean NOT NULL DEFAULT false;
DROP INDEX rulake.table_writes_relid;
CREATE INDEX table_writes_relid ON rulake.table_writes (relid, xid);

CREATE OR REPLACE FUNCTION rulake.note_write() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_col name;
	v_ids bigint[];
	v_rows text;
BEGIN
	-- A trigger left behind on a table its unregistering role did not own logs nothing.
	IF NOT EXISTS (SELECT 1 FROM rulake.collections WHERE relid = TG_RELID) THEN
		RETURN NULL;
	END IF;
	-- A renamed or retyped id column must not make the table's writes fail: log no ids.
	IF TG_NARGS = 1 AND TG_OP <> 'TRUNCATE' AND EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = TG_RELID AND attname = TG_ARGV[0] AND NOT attisdropped
				AND atttypid IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype)) THEN
		v_col := TG_ARGV[0];
		v_rows := CASE TG_OP
			WHEN 'INSERT' THEN format('SELECT %I FROM rulake_new', v_col)
			WHEN 'DELETE' THEN format('SELECT %I FROM rulake_old', v_col)
			ELSE format('SELECT %1$I FROM rulake_old UNION ALL SELECT %1$I FROM rulake_new', v_col)
		END;
		EXECUTE format('SELECT CASE WHEN count(*) <= 10000 THEN coalesce(array_agg(DISTINCT i::bigint)'
			' FILTER (WHERE i IS NOT NULL), ''{}'') END FROM (%s LIMIT 10001) s(i)', v_rows)
			INTO v_ids;
	END IF;
	INSERT INTO rulake.table_writes (relid, id_column, ids) VALUES (TG_RELID, v_col, v_ids);
	RETURN NULL;
END
$$;
-- Creates the write triggers on a registered table (those of its first registration, whose
-- id column they log).
CREATE FUNCTION rulake._log_writes(regclass, name) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = $1 AND tgname = 'rulake_generation') THEN
		RETURN;
	END IF;
	EXECUTE format('CREATE TRIGGER rulake_generation AFTER TRUNCATE ON %s '
		'FOR EACH STATEMENT EXECUTE FUNCTION rulake.note_write()', $1);
	EXECUTE format('CREATE TRIGGER rulake_writes_insert AFTER INSERT ON %s '
		'REFERENCING NEW TABLE AS rulake_new '
		'FOR EACH STATEMENT EXECUTE FUNCTION rulake.note_write(%L)', $1, $2);
	EXECUTE format('CREATE TRIGGER rulake_writes_update AFTER UPDATE ON %s '
		'REFERENCING OLD TABLE AS rulake_old NEW TABLE AS rulake_new '
		'FOR EACH STATEMENT EXECUTE FUNCTION rulake.note_write(%L)', $1, $2);
	EXECUTE format('CREATE TRIGGER rulake_writes_delete AFTER DELETE ON %s '
		'REFERENCING OLD TABLE AS rulake_old '
		'FOR EACH STATEMENT EXECUTE FUNCTION rulake.note_write(%L)', $1, $2);
END
$$;
-- And drops them.
CREATE FUNCTION rulake._unlog_writes(regclass) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE format('DROP TRIGGER IF EXISTS rulake_generation ON %s', $1);
	EXECUTE format('DROP TRIGGER IF EXISTS rulake_writes_insert ON %s', $1);
	EXECUTE format('DROP TRIGGER IF EXISTS rulake_writes_update ON %s', $1);
	EXECUTE format('DROP TRIGGER IF EXISTS rulake_writes_delete ON %s', $1);
END
$$;

CREATE OR REPLACE FUNCTION rulake.register(name text, source text, consistency text DEFAULT 'fresh',
		options jsonb DEFAULT '{}') RETURNS void
	LANGUAGE plpgsql
AS $$
DECLARE
	m text[];
	v_kind text;
	v_location text;
	v_relid oid;
	v_id name;
	v_vec name;
	v_dim integer := 0;
	v_metric text := coalesce(options->>'metric', 'l2');
	v_key text;
BEGIN
	IF name IS NULL OR source IS NULL OR consistency IS NULL OR options IS NULL THEN
		RAISE EXCEPTION 'rulake.register: arguments must not be null' USING ERRCODE = '22004';
	END IF;
	IF name !~ '^[A-Za-z_][A-Za-z0-9_.-]*$' OR octet_length(name) >= 64 THEN
		RAISE EXCEPTION 'rulake.register: "%" is not a valid collection name', name
			USING ERRCODE = '42602',
			HINT = 'Names start with a letter or underscore and hold letters, digits, "_", "." and "-", up to 63 bytes.';
	END IF;
	IF consistency NOT IN ('fresh', 'eventual', 'frozen') THEN
		RAISE EXCEPTION 'rulake.register: consistency must be fresh, eventual or frozen, not "%"', consistency
			USING ERRCODE = '22023';
	END IF;
	IF jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'rulake.register: options must be a JSON object' USING ERRCODE = '22023';
	END IF;
	FOR v_key IN SELECT jsonb_object_keys(options) LOOP
		IF v_key NOT IN ('metric', 'seed', 'rerank_factor', 'lists', 'probes') THEN
			RAISE EXCEPTION 'rulake.register: unknown option "%"', v_key
				USING ERRCODE = '22023', HINT = 'Options are metric, seed, rerank_factor, lists and probes.';
		END IF;
	END LOOP;
	IF v_metric NOT IN ('l2', 'ip', 'cosine') THEN
		RAISE EXCEPTION 'rulake.register: metric must be l2, ip or cosine, not "%"', v_metric
			USING ERRCODE = '22023';
	END IF;

	IF source LIKE 'table:%' THEN
		m := regexp_match(source, '^table:(.+)\(\s*([^,\s]+)\s*,\s*([^,\s\)]+)\s*\)$');
		IF m IS NULL THEN
			RAISE EXCEPTION 'rulake.register: a table source is written table:schema.table(id_column, vector_column), not "%"', source
				USING ERRCODE = '22023';
		END IF;
		v_relid := to_regclass(m[1]);
		IF v_relid IS NULL THEN
			RAISE EXCEPTION 'rulake.register: relation "%" does not exist', m[1] USING ERRCODE = '42P01';
		END IF;
		IF (SELECT relkind FROM pg_class WHERE oid = v_relid) NOT IN ('r', 'p') THEN
			RAISE EXCEPTION 'rulake.register: "%" is not a table', m[1] USING ERRCODE = '42809';
		END IF;
		IF (SELECT relrowsecurity FROM pg_class WHERE oid = v_relid) THEN
			RAISE EXCEPTION 'rulake.register: table % has row level security enabled', v_relid::regclass
				USING ERRCODE = '0A000',
				DETAIL = 'A cached collection is shared by every role that searches it, so it cannot apply each searcher''s policies.',
				HINT = 'Register a table without row security, or search this one with an index scan.';
		END IF;
		v_id := m[2];
		v_vec := m[3];
		IF NOT has_table_privilege(v_relid, 'TRIGGER') OR NOT rulake._readable(v_relid, v_id, v_vec) THEN
			RAISE EXCEPTION 'rulake.register: permission denied for table %', v_relid::regclass
				USING ERRCODE = '42501',
				DETAIL = 'Registering a table needs the TRIGGER privilege on it and SELECT on its id and vector columns.';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = v_relid AND attname = v_id
				AND NOT attisdropped AND atttypid IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype)) THEN
			RAISE EXCEPTION 'rulake.register: % has no integer column "%"', v_relid::regclass, v_id
				USING ERRCODE = '42703';
		END IF;
		SELECT CASE WHEN atttypmod > 0 THEN atttypmod ELSE 0 END INTO v_dim FROM pg_attribute
			WHERE attrelid = v_relid AND attname = v_vec AND NOT attisdropped
				AND atttypid = '@extschema@.ruvector'::regtype;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'rulake.register: % has no ruvector column "%"', v_relid::regclass, v_vec
				USING ERRCODE = '42703';
		END IF;
		v_kind := 'table';
		v_location := v_relid::regclass::text;
		PERFORM rulake._log_writes(v_relid, v_id);
	ELSIF source LIKE 'bundle:%' THEN
		v_kind := 'bundle';
		v_location := substr(source, 8);
		IF NOT pg_has_role(current_user, 'pg_read_server_files', 'USAGE') THEN
			RAISE EXCEPTION 'rulake.register: permission denied to register bundle collections'
				USING ERRCODE = '42501',
				DETAIL = 'Only superusers and members of pg_read_server_files may read bundles under rulake.bundle_root.';
		END IF;
		PERFORM rulake._check_bundle_path(v_location);
	ELSIF source ~ '^https?://' THEN
		v_kind := 'remote';
		v_location := rulake._check_url(source);
		IF consistency = 'fresh' THEN
			RAISE EXCEPTION 'rulake.register: a remote bundle cannot be fresh'
				USING ERRCODE = '22023',
				DETAIL = 'Only the refill worker reaches the network, so a search cannot check the remote copy.',
				HINT = 'Register it as eventual (rechecked every rulake.refresh_interval) or frozen.';
		END IF;
	ELSE
		RAISE EXCEPTION 'rulake.register: source must start with table:, bundle:, http:// or https://, not "%"', source
			USING ERRCODE = '22023';
	END IF;

	PERFORM rulake._admit(name);
	INSERT INTO rulake.collections (name, source, kind, location, consistency, metric, seed,
			rerank_factor, lists, probes, owner, relid, id_column, vector_column, dim, options)
	VALUES (name, source, v_kind, v_location, consistency, v_metric,
			coalesce((options->>'seed')::bigint, 0),
			coalesce((options->>'rerank_factor')::integer, 20),
			coalesce((options->>'lists')::integer, 0),
			coalesce((options->>'probes')::integer, 10),
			(SELECT oid FROM pg_roles WHERE rolname = current_user)::regrole, v_relid, v_id, v_vec,
			v_dim, options);
	PERFORM rulake._forget(name);
END
$$;

CREATE OR REPLACE FUNCTION rulake.unregister(name text) RETURNS void
	LANGUAGE plpgsql
AS $$
DECLARE
	c rulake.collections;
BEGIN
	SELECT * INTO c FROM rulake.collections WHERE collections.name = unregister.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'rulake collection "%" does not exist', name USING ERRCODE = '42704';
	END IF;
	IF NOT pg_has_role(current_user, c.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'rulake.unregister: must be the owner of collection "%"', name USING ERRCODE = '42501';
	END IF;
	PERFORM rulake.invalidate(name);
	DELETE FROM rulake.collections WHERE collections.name = unregister.name;
	-- Dropping a trigger needs the table's ownership; one left behind logs nothing.
	IF c.relid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rulake.collections WHERE relid = c.relid)
			AND EXISTS (SELECT 1 FROM pg_class WHERE oid = c.relid
				AND pg_has_role(current_user, relowner, 'MEMBER')) THEN
		PERFORM rulake._unlog_writes(c.relid);
	END IF;
END
$$;

-- The registered tables (those not dropped) get the new triggers in place of 0.4.0's one,
-- logging the id column of their first registration.
SELECT rulake._unlog_writes(relid), rulake._log_writes(relid, (SELECT id_column
		FROM rulake.collections c2 WHERE c2.relid = c.relid ORDER BY registered, name LIMIT 1))
	FROM (SELECT DISTINCT relid FROM rulake.collections
		WHERE relid IS NOT NULL AND EXISTS (SELECT 1 FROM pg_class WHERE oid = relid)) c;
