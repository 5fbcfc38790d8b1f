-- ruLake: a cache of compressed collection indexes in shared memory, and bundles
-- (docs/rulake.md, docs/bundle-format.md). Registrations live in rulake.collections; a
-- table source gets a statement trigger that logs its writes in rulake.table_writes, whose
-- visible sum is the table's generation.

CREATE SCHEMA rulake;
COMMENT ON SCHEMA rulake IS 'ruLake: cache-first vector search over tables and bundles';

CREATE TABLE rulake.collections (
	name text PRIMARY KEY
		CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_.-]*$' AND octet_length(name) < 64),
	source text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('table', 'bundle', 'remote')),
	location text NOT NULL,           -- table: relation; bundle: path; remote: URL
	consistency text NOT NULL CHECK (consistency IN ('fresh', 'eventual', 'frozen')),
	metric text NOT NULL CHECK (metric IN ('l2', 'ip', 'cosine')),
	seed bigint NOT NULL,
	rerank_factor integer NOT NULL CHECK (rerank_factor BETWEEN 1 AND 1000),
	lists integer NOT NULL CHECK (lists BETWEEN 0 AND 1000000),
	probes integer NOT NULL CHECK (probes BETWEEN 0 AND 1000000),
	owner regrole NOT NULL,           -- regrole and regclass: a dump names them, so a
	relid regclass,                   -- restore maps them to the new cluster's objects
	id_column name,
	vector_column name,
	dim integer NOT NULL DEFAULT 0,
	options jsonb NOT NULL DEFAULT '{}',
	registered timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE rulake.collections IS 'registered ruLake collections; change them with rulake.register and rulake.unregister';

CREATE TABLE rulake.table_writes (
	relid regclass NOT NULL,
	weight bigint NOT NULL DEFAULT 1 CHECK (weight > 0),
	-- What lets a cached image absorb the write instead of a full prime (docs/rulake.md#writes):
	-- the writing transaction, and the ids it touched in id_column (NULL: not known).
	xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	id_column name,
	ids bigint[],
	folded boolean NOT NULL DEFAULT false  -- stands for several writes, xid the newest
);
CREATE INDEX table_writes_relid ON rulake.table_writes (relid, xid);
COMMENT ON TABLE rulake.table_writes IS 'one row per write statement on a registered table, folded by the refill worker; the visible sum of weights is the generation';

SELECT pg_catalog.pg_extension_config_dump('rulake.collections', '');
SELECT pg_catalog.pg_extension_config_dump('rulake.table_writes', '');
-- Anyone may register a table they can read (docs/security.md); row security shows each
-- role its own collections, those over tables whose id and vector columns it may read,
-- and bundles to members of pg_read_server_files. Everything read from a row is checked
-- again where it is used (paths confined, hosts allowed, the searcher's privileges), so a
-- row written by hand gains nothing.
REVOKE ALL ON rulake.collections, rulake.table_writes FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON rulake.collections TO PUBLIC;
-- Not id_column and ids: which ids a statement touched is for those who may read the id
-- column, and ruLake reads them itself after checking that (rulake_delta.cpp).
GRANT SELECT (relid, weight, xmin, xid, folded) ON rulake.table_writes TO PUBLIC;
GRANT USAGE ON SCHEMA rulake TO PUBLIC;

-- Whether the current user may read a table collection's rows: SELECT on both columns
-- (or the table), and no row security on the table, whose policies a shared image
-- could not apply. Never raises, so that it can stand in a policy.
CREATE FUNCTION rulake._readable(regclass, name, name) RETURNS boolean
	AS 'MODULE_PATHNAME', 'rulake_readable' LANGUAGE C STABLE;
-- Refuses a registration past rulake.max_collections or the role's
-- rulake.max_collections_per_role, or under a name taken by any role; true otherwise. The
-- insert policy calls it too, so that a row inserted by hand is held to the same limits.
CREATE FUNCTION rulake._admit(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'rulake_admit' LANGUAGE C VOLATILE STRICT;

ALTER TABLE rulake.collections ENABLE ROW LEVEL SECURITY;
CREATE POLICY collections_read ON rulake.collections FOR SELECT
	USING (pg_catalog.pg_has_role(current_user, owner, 'MEMBER')
		OR CASE WHEN kind = 'table' THEN rulake._readable(relid, id_column, vector_column)
			ELSE pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'USAGE') END);
CREATE POLICY collections_insert ON rulake.collections FOR INSERT
	WITH CHECK (owner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
		AND rulake._admit(name));
CREATE POLICY collections_delete ON rulake.collections FOR DELETE
	USING (pg_catalog.pg_has_role(current_user, owner, 'MEMBER'));
-- A searcher reads the generation of the tables it may read, nothing else.
ALTER TABLE rulake.table_writes ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_writes_read ON rulake.table_writes FOR SELECT
	USING (coalesce(pg_catalog.has_any_column_privilege(relid, 'SELECT'), false));

-- Statement triggers on registered tables. SECURITY DEFINER: writers need no privilege on
-- the log. One row per statement: inserts never conflict, so writers never wait on it.
-- With an argument (the id column) the insert, update and delete triggers see the rows in
-- transition tables rulake_old and rulake_new, and log the ids they touched, up to 10000;
-- more, a TRUNCATE, or a trigger created before 0.5.0 log none, and the next search
-- primes the collection in full.
CREATE FUNCTION rulake.note_write() RETURNS trigger
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

CREATE FUNCTION rulake._xmin_is_mine(xid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'rulake_xmin_is_mine' LANGUAGE C STABLE STRICT;
CREATE FUNCTION rulake._check_bundle_path(text) RETURNS text
	AS 'MODULE_PATHNAME', 'rulake_check_bundle_path' LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION rulake._check_bundle_path(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rulake._check_bundle_path(text) TO pg_read_server_files;
CREATE FUNCTION rulake._check_url(text) RETURNS text
	AS 'MODULE_PATHNAME', 'rulake_check_url' LANGUAGE C STABLE STRICT;
CREATE FUNCTION rulake._forget(text) RETURNS void
	AS 'MODULE_PATHNAME', 'rulake_forget' LANGUAGE C STRICT;

-- A row deleted by unregister, by hand or by DROP OWNED frees the collection's shared
-- state at once, so that deleting cannot leave slots of rulake.max_collections taken.
CREATE FUNCTION rulake.forget_deleted() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM rulake._forget(OLD.name);
	RETURN NULL;
END
$$;
CREATE TRIGGER forget_deleted AFTER DELETE ON rulake.collections
	FOR EACH ROW EXECUTE FUNCTION rulake.forget_deleted();

CREATE FUNCTION rulake.register(name text, source text, consistency text DEFAULT 'fresh',
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
	v_foreign boolean := false;
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
		IF v_key NOT IN ('metric', 'seed', 'rerank_factor', 'lists', 'probes', 'witness') THEN
			RAISE EXCEPTION 'rulake.register: unknown option "%"', v_key
				USING ERRCODE = '22023', HINT = 'Options are metric, seed, rerank_factor, lists, probes and witness.';
		END IF;
	END LOOP;
	-- witness: the bundle's rvf_witness (hex) the collection is pinned to; a bundle with
	-- another one is refused when it is read (rulake.register_from_part sets it).
	IF options ? 'witness' AND (jsonb_typeof(options->'witness') <> 'string'
			OR options->>'witness' !~ '^[0-9a-f]{64}$' OR source LIKE 'table:%') THEN
		RAISE EXCEPTION 'rulake.register: option witness must be 64 lowercase hex digits, for a bundle or remote source'
			USING ERRCODE = '22023';
	END IF;
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
		IF (SELECT relkind FROM pg_class WHERE oid = v_relid) NOT IN ('r', 'p', 'f') THEN
			RAISE EXCEPTION 'rulake.register: "%" is not a table or foreign table', m[1] USING ERRCODE = '42809';
		END IF;
		-- A foreign table (docs/sharding.md#rulake-across-servers) is read through its server:
		-- writes made there never reach this server's write log.
		v_foreign := (SELECT relkind = 'f' FROM pg_class WHERE oid = v_relid);
		IF v_foreign AND consistency = 'fresh' THEN
			RAISE EXCEPTION 'rulake.register: a foreign table cannot be fresh'
				USING ERRCODE = '22023',
				DETAIL = 'Writes made on its server are not seen by this server''s write log.',
				HINT = 'Register it as eventual (read again every rulake.refresh_interval) or frozen.';
		END IF;
		IF (SELECT relrowsecurity FROM pg_class WHERE oid = v_relid) THEN
			RAISE EXCEPTION 'rulake.register: table % has row level security enabled', v_relid::regclass
				USING ERRCODE = '0A000',
				DETAIL = 'A cached collection is shared by every role that searches it, so it cannot apply each searcher''s policies.',
				HINT = 'Register a table without row security, or search this one with an index scan.';
		END IF;
		v_id := m[2];
		v_vec := m[3];
		IF NOT (v_foreign OR has_table_privilege(v_relid, 'TRIGGER'))
				OR NOT rulake._readable(v_relid, v_id, v_vec) THEN
			RAISE EXCEPTION 'rulake.register: permission denied for table %', v_relid::regclass
				USING ERRCODE = '42501',
				DETAIL = 'Registering a table needs SELECT on its id and vector columns, and the TRIGGER privilege on it unless it is a foreign table.';
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
		IF NOT v_foreign THEN
			PERFORM rulake._log_writes(v_relid, v_id);
		END IF;
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
COMMENT ON FUNCTION rulake.register(text, text, text, jsonb) IS 'register a collection: table:schema.table(id, vec), bundle:DIR or an http(s) URL';

CREATE FUNCTION rulake.unregister(name text) RETURNS void
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
COMMENT ON FUNCTION rulake.unregister(text) IS 'drop a collection registration and its cache entry';

CREATE FUNCTION rulake.search(name text, query @extschema@.ruvector, k integer,
		rerank_factor integer DEFAULT NULL)
	RETURNS TABLE (id bigint, distance real)
	AS 'MODULE_PATHNAME', 'rulake_search' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.search(text, @extschema@.ruvector, integer, integer) IS 'k nearest rows of a collection, served from the cache';

CREATE FUNCTION rulake.search_batch(name text, queries @extschema@.ruvector[], k integer,
		rerank_factor integer DEFAULT NULL)
	RETURNS TABLE (query integer, rank integer, id bigint, distance real)
	AS 'MODULE_PATHNAME', 'rulake_search_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.search_batch(text, @extschema@.ruvector[], integer, integer) IS 'k nearest rows of a collection for each of many queries, in one scan (on a GPU under ruvector.gpu)';

CREATE FUNCTION rulake.search_federated(names text[], query @extschema@.ruvector, k integer,
		per_shard_rerank integer DEFAULT NULL)
	RETURNS TABLE (collection text, id bigint, distance real)
	AS 'MODULE_PATHNAME', 'rulake_search_federated' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.search_federated(text[], @extschema@.ruvector, integer, integer) IS 'k nearest rows over several collections, merged globally';

CREATE FUNCTION rulake.invalidate(name text) RETURNS void
	AS 'MODULE_PATHNAME', 'rulake_invalidate' LANGUAGE C STRICT;
CREATE FUNCTION rulake.refresh(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'rulake_refresh' LANGUAGE C STRICT;
CREATE FUNCTION rulake.witness(name text) RETURNS text
	AS 'MODULE_PATHNAME', 'rulake_witness' LANGUAGE C STRICT;
CREATE FUNCTION rulake.stats()
	RETURNS TABLE (collection text, witness text, consistency text, state text, primes bigint,
		hits bigint, misses bigint, hit_rate double precision, bytes bigint, last_primed timestamptz,
		last_error text, evictions bigint, last_searched timestamptz, deltas bigint)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.invalidate(text) IS 'drop the cached index of a collection; the next search primes it again';
COMMENT ON FUNCTION rulake.refresh(text) IS 'compare the source with the cache: up_to_date, invalidated or bundle_missing';
COMMENT ON FUNCTION rulake.witness(text) IS 'hex SHAKE-256 witness the collection is cached under';
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error, evictions, last search, writes folded in';

-- options: pii_policy, lineage_id (strings) and generation (a number or a string, e.g. an
-- Iceberg snapshot id); the defaults are "", the collection's name and the table's generation.
CREATE FUNCTION rulake.publish_bundle(collection text, dir text, options jsonb DEFAULT '{}')
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_publish_bundle' LANGUAGE C STRICT;
CREATE FUNCTION rulake.verify_bundle(dir text) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_verify_bundle' LANGUAGE C STRICT;
COMMENT ON FUNCTION rulake.publish_bundle(text, text, jsonb) IS 'write a collection''s rows as a bundle under rulake.bundle_root, atomically; options set pii_policy, lineage_id, generation and format (native or ruvector-rust)';
COMMENT ON FUNCTION rulake.verify_bundle(text) IS 'verify a bundle''s witness and data, in this extension''s or the Rust RuVector''s format; its fields, witness_scheme and data_authenticated as jsonb';
