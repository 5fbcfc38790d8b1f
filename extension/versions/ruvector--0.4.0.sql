-- ruvector install script, assembled from extension/sql/*.sql by the Makefile.
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION ruvector" to load this file. \quit
-- The ruvector type: pgvector's `vector` layout and text form, distances and arithmetic.

CREATE TYPE ruvector;

CREATE FUNCTION ruvector_in(cstring, oid, integer) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_out(ruvector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_recv(internal, oid, integer) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_send(ruvector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE main keeps a vector in its row while the row fits a page (up to ~2000
-- dimensions), so a query's projection and reranks read it without a TOAST fetch, and moves
-- wider ones out of line, where plain would refuse them (docs/sql-reference.md).
CREATE TYPE ruvector (
	INPUT     = ruvector_in,
	OUTPUT    = ruvector_out,
	TYPMOD_IN = ruvector_typmod_in,
	RECEIVE   = ruvector_recv,
	SEND      = ruvector_send,
	STORAGE   = main
);
COMMENT ON TYPE ruvector IS 'float4 vector of 1 to 16000 dimensions; same layout as pgvector''s vector';

-- Distances

CREATE FUNCTION l2_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_squared_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_squared_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION inner_product(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION negative_inner_product(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cosine_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l1_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION l2_distance(ruvector, ruvector) IS 'Euclidean distance';
COMMENT ON FUNCTION l2_squared_distance(ruvector, ruvector) IS 'squared Euclidean distance';
COMMENT ON FUNCTION inner_product(ruvector, ruvector) IS 'inner (dot) product';
COMMENT ON FUNCTION negative_inner_product(ruvector, ruvector) IS 'inner product negated, so that smaller is closer';
COMMENT ON FUNCTION cosine_distance(ruvector, ruvector) IS '1 - cosine similarity, in [0, 2]; NaN when either vector is zero';
COMMENT ON FUNCTION l1_distance(ruvector, ruvector) IS 'taxicab (L1) distance';

-- Other functions

CREATE FUNCTION vector_dims(ruvector) RETURNS integer
	AS 'MODULE_PATHNAME', 'ruvector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_norm(ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_normalize(ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME', 'ruvector_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION subvector(ruvector, integer, integer) RETURNS ruvector
	AS 'MODULE_PATHNAME', 'ruvector_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_add(ruvector, ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_sub(ruvector, ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_mul(ruvector, ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vector_dims(ruvector) IS 'number of dimensions';
COMMENT ON FUNCTION vector_norm(ruvector) IS 'Euclidean norm, computed in double precision';
COMMENT ON FUNCTION l2_normalize(ruvector) IS 'the vector scaled to unit length; a zero vector stays zero';
COMMENT ON FUNCTION subvector(ruvector, integer, integer) IS 'count elements from 1-based start, clipped to the vector like substring';

-- Typmod and array casts

CREATE FUNCTION ruvector(ruvector, integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME', 'ruvector_apply_typmod' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(integer[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(real[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(double precision[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(numeric[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_to_float4(ruvector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (ruvector AS ruvector) WITH FUNCTION ruvector(ruvector, integer, boolean) AS IMPLICIT;
CREATE CAST (ruvector AS real[]) WITH FUNCTION ruvector_to_float4(ruvector, integer, boolean) AS IMPLICIT;
CREATE CAST (integer[] AS ruvector) WITH FUNCTION array_to_ruvector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS ruvector) WITH FUNCTION array_to_ruvector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS ruvector) WITH FUNCTION array_to_ruvector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS ruvector) WITH FUNCTION array_to_ruvector(numeric[], integer, boolean) AS ASSIGNMENT;

-- Operators

CREATE OPERATOR <-> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = l2_distance, COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = negative_inner_product, COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = cosine_distance, COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = l1_distance, COMMUTATOR = '<+>'
);
CREATE OPERATOR + (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_add, COMMUTATOR = +
);
CREATE OPERATOR - (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_sub
);
CREATE OPERATOR * (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_mul, COMMUTATOR = *
);

-- Ordering: element by element, then the shorter vector first.

CREATE FUNCTION ruvector_lt(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_le(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_eq(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_ne(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_ge(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_gt(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cmp(ruvector, ruvector) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_lt,
	COMMUTATOR = > , NEGATOR = >= ,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_le,
	COMMUTATOR = >= , NEGATOR = > ,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_eq,
	COMMUTATOR = = , NEGATOR = <> ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR <> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_ne,
	COMMUTATOR = <> , NEGATOR = = ,
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR >= (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_ge,
	COMMUTATOR = <= , NEGATOR = < ,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_gt,
	COMMUTATOR = < , NEGATOR = <= ,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS ruvector_ops
	DEFAULT FOR TYPE ruvector USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 ruvector_cmp(ruvector, ruvector);

-- Aggregates

CREATE FUNCTION ruvector_accum(double precision[], ruvector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_avg(double precision[]) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(ruvector) (
	SFUNC = ruvector_accum,
	STYPE = double precision[],
	FINALFUNC = ruvector_avg,
	COMBINEFUNC = ruvector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(ruvector) (
	SFUNC = ruvector_add,
	STYPE = ruvector,
	COMBINEFUNC = ruvector_add,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE avg(ruvector) IS 'element-wise mean, accumulated in double precision';
COMMENT ON AGGREGATE sum(ruvector) IS 'element-wise sum';
-- Prime helpers: deterministic 64-bit primality, next/previous prime, primes below 2^k,
-- and the shard router used by federated search.

CREATE FUNCTION is_prime(bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ruvector_is_prime_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION is_prime(numeric) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ruvector_is_prime_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION next_prime(bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ruvector_next_prime_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION next_prime(numeric) RETURNS numeric
	AS 'MODULE_PATHNAME', 'ruvector_next_prime_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prev_prime(bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ruvector_prev_prime_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prev_prime(numeric) RETURNS numeric
	AS 'MODULE_PATHNAME', 'ruvector_prev_prime_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prime_near_pow2(integer) RETURNS numeric
	AS 'MODULE_PATHNAME', 'ruvector_prime_near_pow2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- integer overloads: without them an integer literal is ambiguous between bigint and numeric.
CREATE FUNCTION is_prime(integer) RETURNS boolean
	AS 'SELECT is_prime($1::bigint)' LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION next_prime(integer) RETURNS bigint
	AS 'SELECT next_prime($1::bigint)' LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prev_prime(integer) RETURNS bigint
	AS 'SELECT prev_prime($1::bigint)' LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shard_of(key bigint, shards integer) RETURNS integer
	AS 'MODULE_PATHNAME', 'ruvector_shard_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION is_prime(bigint) IS 'deterministic primality test; false for negative numbers';
COMMENT ON FUNCTION is_prime(numeric) IS 'deterministic primality test for integers in [0, 2^64)';
COMMENT ON FUNCTION next_prime(bigint) IS 'smallest prime greater than the argument';
COMMENT ON FUNCTION next_prime(numeric) IS 'smallest prime greater than the argument, up to 2^64 - 59';
COMMENT ON FUNCTION prev_prime(bigint) IS 'largest prime less than the argument (argument >= 3)';
COMMENT ON FUNCTION prev_prime(numeric) IS 'largest prime less than the argument (argument >= 3)';
COMMENT ON FUNCTION is_prime(integer) IS 'deterministic primality test; false for negative numbers';
COMMENT ON FUNCTION next_prime(integer) IS 'smallest prime greater than the argument';
COMMENT ON FUNCTION prev_prime(integer) IS 'largest prime less than the argument (argument >= 3)';
COMMENT ON FUNCTION prime_near_pow2(integer) IS 'largest prime below 2^k, 2 <= k <= 64';
COMMENT ON FUNCTION shard_of(bigint, integer) IS 'stable shard in [0, shards) for a key: splitmix64 hash reduced modulo the smallest prime >= shards, with rejection';
-- The rabitq index access method: IVF lists of RaBitQ codes with an exact rerank.

CREATE FUNCTION rabitq_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD rabitq TYPE INDEX HANDLER rabitq_handler;
COMMENT ON ACCESS METHOD rabitq IS 'IVF + RaBitQ codes with exact rerank, for ORDER BY <vector distance> LIMIT k';

CREATE OPERATOR CLASS ruvector_l2_ops
	DEFAULT FOR TYPE ruvector USING rabitq AS
	OPERATOR 1 <-> (ruvector, ruvector) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(ruvector, ruvector);

CREATE OPERATOR CLASS ruvector_ip_ops
	FOR TYPE ruvector USING rabitq AS
	OPERATOR 1 <#> (ruvector, ruvector) FOR ORDER BY float_ops,
	FUNCTION 1 negative_inner_product(ruvector, ruvector);

CREATE OPERATOR CLASS ruvector_cosine_ops
	FOR TYPE ruvector USING rabitq AS
	OPERATOR 1 <=> (ruvector, ruvector) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(ruvector, ruvector);
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
	weight bigint NOT NULL DEFAULT 1 CHECK (weight > 0)
);
CREATE INDEX table_writes_relid ON rulake.table_writes (relid);
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
GRANT SELECT ON rulake.table_writes TO PUBLIC;
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

-- Statement trigger on registered tables. SECURITY DEFINER: writers need no privilege on
-- the log. One row per statement: inserts never conflict, so writers never wait on it.
CREATE FUNCTION rulake.note_write() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- A trigger left behind on a table its unregistering role did not own logs nothing.
	INSERT INTO rulake.table_writes (relid)
		SELECT TG_RELID WHERE EXISTS (SELECT 1 FROM rulake.collections WHERE relid = TG_RELID);
	RETURN NULL;
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
		IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = v_relid AND tgname = 'rulake_generation') THEN
			EXECUTE format('CREATE TRIGGER rulake_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
				'FOR EACH STATEMENT EXECUTE FUNCTION rulake.note_write()', v_relid::regclass);
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
		EXECUTE format('DROP TRIGGER IF EXISTS rulake_generation ON %s', c.relid::regclass);
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
		last_error text)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.invalidate(text) IS 'drop the cached index of a collection; the next search primes it again';
COMMENT ON FUNCTION rulake.refresh(text) IS 'compare the source with the cache: up_to_date, invalidated or bundle_missing';
COMMENT ON FUNCTION rulake.witness(text) IS 'hex SHAKE-256 witness the collection is cached under';
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error';

CREATE FUNCTION rulake.publish_bundle(collection text, dir text) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_publish_bundle' LANGUAGE C STRICT;
CREATE FUNCTION rulake.verify_bundle(dir text) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_verify_bundle' LANGUAGE C STRICT;
COMMENT ON FUNCTION rulake.publish_bundle(text, text) IS 'write a collection''s rows as a bundle under rulake.bundle_root, atomically';
COMMENT ON FUNCTION rulake.verify_bundle(text) IS 'verify a bundle''s witness and data; its fields as jsonb';
-- A2A dispatch (docs/a2a.md): send tasks from SQL to Agent2Agent peers. a2a.send() only
-- records a task; the a2a dispatch worker sends committed tasks, records every update in
-- a2a.task_events and NOTIFYs channel a2a with (task, seq, state).

CREATE SCHEMA a2a;
COMMENT ON SCHEMA a2a IS 'Agent2Agent dispatch: tasks sent to A2A peers by a background worker';

CREATE TABLE a2a.trusted_keys (
	kid text PRIMARY KEY,
	jwk jsonb NOT NULL CHECK (jsonb_typeof(jwk) = 'object'),
	added timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE a2a.trusted_keys IS 'public keys (JWK) that AgentCard signatures are verified with; superusers manage them';

CREATE TABLE a2a.agents (
	name text PRIMARY KEY CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_.-]*$' AND octet_length(name) < 64),
	base_url text NOT NULL,
	card jsonb NOT NULL,
	rpc_url text NOT NULL,
	protocol_version text NOT NULL CHECK (protocol_version IN ('1.0', '0.3')),
	streaming boolean NOT NULL,
	signed_by text,                    -- kid of the verified signature, NULL if unsigned
	options jsonb NOT NULL DEFAULT '{}',
	owner regrole NOT NULL,            -- a dump names the role, a restore finds it again
	registered timestamptz NOT NULL DEFAULT now(),
	refreshed timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE a2a.agents IS 'registered A2A peers with their verified AgentCards; change them with a2a.register_agent';

-- Request headers (Authorization and the like). Only the owner reads them; the worker
-- reads them as superuser and never prints them.
CREATE TABLE a2a.agent_credentials (
	agent text PRIMARY KEY REFERENCES a2a.agents ON DELETE CASCADE,
	headers text[] NOT NULL,
	owner regrole NOT NULL
);

-- Roles other than the owner that may send to an agent (with its credentials, within its
-- budgets); grantee 0 ('-') is PUBLIC.
CREATE TABLE a2a.agent_grants (
	agent text NOT NULL REFERENCES a2a.agents ON DELETE CASCADE,
	grantee regrole NOT NULL,
	granted timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (agent, grantee)
);
COMMENT ON TABLE a2a.agent_grants IS 'who besides its owner may send to an agent; change it with a2a.grant_agent and a2a.revoke_agent';

CREATE TABLE a2a.tasks (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	agent text NOT NULL REFERENCES a2a.agents ON DELETE CASCADE,
	message jsonb NOT NULL,
	state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'submitted',
		'working', 'input-required', 'auth-required', 'completed', 'canceled', 'failed', 'rejected')),
	remote_task_id text,
	context_id text,
	trace_id uuid NOT NULL,
	depth integer NOT NULL,
	cost integer NOT NULL DEFAULT 1,
	attempts integer NOT NULL DEFAULT 0,
	next_attempt timestamptz NOT NULL DEFAULT now(),
	deadline interval NOT NULL,
	cancel_requested boolean NOT NULL DEFAULT false,
	reason text,                       -- why it failed, in our words or the peer's
	result jsonb,                      -- the peer's last task object (or direct message)
	seq integer NOT NULL DEFAULT 0,    -- events recorded so far
	owner regrole NOT NULL,
	created timestamptz NOT NULL DEFAULT now(),
	sent timestamptz,
	updated timestamptz NOT NULL DEFAULT now(),
	interruptions integer NOT NULL DEFAULT 0  -- worker stops while it was in flight
);
CREATE INDEX tasks_open ON a2a.tasks (next_attempt)
	WHERE state NOT IN ('completed', 'canceled', 'failed', 'rejected');
CREATE INDEX tasks_agent_created ON a2a.tasks (agent, created);
-- The per-role budgets of a2a.send count a role's recent and open tasks.
CREATE INDEX tasks_owner_created ON a2a.tasks (owner, created);
COMMENT ON TABLE a2a.tasks IS 'one row per task sent with a2a.send; its state follows the peer';

CREATE TABLE a2a.task_events (
	task_id uuid NOT NULL REFERENCES a2a.tasks ON DELETE CASCADE,
	seq integer NOT NULL,
	kind text NOT NULL,                -- task, status-update, artifact-update, message, error
	state text,
	payload jsonb NOT NULL,
	trace_id uuid NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (task_id, seq)
);
COMMENT ON TABLE a2a.task_events IS 'every update of every task, in the order received';

SELECT pg_catalog.pg_extension_config_dump('a2a.trusted_keys', '');
SELECT pg_catalog.pg_extension_config_dump('a2a.agents', '');
SELECT pg_catalog.pg_extension_config_dump('a2a.agent_credentials', '');
SELECT pg_catalog.pg_extension_config_dump('a2a.agent_grants', '');
SELECT pg_catalog.pg_extension_config_dump('a2a.tasks', '');
SELECT pg_catalog.pg_extension_config_dump('a2a.task_events', '');

-- A role sees the agents it owns or may use, and only its own tasks, events and grants;
-- credentials are read by the worker alone. Writes go through the functions below,
-- SECURITY DEFINER so that they can enforce the budgets. Inside those the invoker is
-- known only as session_user, so tasks and agents belong to the role that logged in (SET
-- ROLE does not change it), here as everywhere (docs/security.md).
REVOKE ALL ON ALL TABLES IN SCHEMA a2a FROM PUBLIC;
GRANT USAGE ON SCHEMA a2a TO PUBLIC;
GRANT SELECT ON a2a.agents, a2a.agent_grants, a2a.tasks, a2a.task_events TO PUBLIC;

-- Whether the session user may send to an agent: its owner, or a grantee. SECURITY
-- DEFINER: the grants it reads are hidden from the caller by row security.
CREATE FUNCTION a2a._may_use(agent text) RETURNS boolean
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM a2a.agents a WHERE a.name = $1
		AND pg_has_role(session_user, a.owner, 'MEMBER'))
	OR EXISTS (SELECT 1 FROM a2a.agent_grants g WHERE g.agent = $1
		AND (g.grantee = 0 OR pg_has_role(session_user, g.grantee, 'MEMBER')))
$$;
ALTER TABLE a2a.agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY agents_usable ON a2a.agents FOR SELECT USING (a2a._may_use(name));
ALTER TABLE a2a.agent_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY agent_grants_own ON a2a.agent_grants FOR SELECT
	USING (EXISTS (SELECT 1 FROM a2a.agents a WHERE a.name = agent
		AND pg_catalog.pg_has_role(session_user, a.owner, 'MEMBER')));
ALTER TABLE a2a.tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_own ON a2a.tasks FOR SELECT
	USING (pg_catalog.pg_has_role(session_user, owner, 'MEMBER'));
ALTER TABLE a2a.task_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY task_events_own ON a2a.task_events FOR SELECT
	USING (EXISTS (SELECT 1 FROM a2a.tasks t WHERE t.id = task_id));

CREATE FUNCTION a2a._fetch_card(base_url text, jwks jsonb, require_signed boolean) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'a2a_fetch_card' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION a2a._fetch_card(text, jsonb, boolean) FROM PUBLIC;
CREATE FUNCTION a2a._normalize_message(jsonb) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'a2a_normalize_message' LANGUAGE C IMMUTABLE STRICT;

-- A task's time limit may not pass a2a.task_timeout: it is what bounds how long a task
-- holds a slot of a2a.max_in_flight. Returns the limit; raises past the cap.
CREATE FUNCTION a2a._check_timeout(timeout interval, caller text) RETURNS interval
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF timeout <= interval '0' THEN
		RAISE EXCEPTION '%: timeout must be positive, not %', caller, timeout USING ERRCODE = '22023';
	END IF;
	IF timeout > current_setting('a2a.task_timeout')::interval THEN
		RAISE EXCEPTION '%: timeout % exceeds a2a.task_timeout (%)', caller, timeout,
			current_setting('a2a.task_timeout')::interval USING ERRCODE = '22023',
			HINT = 'A superuser sets a2a.task_timeout, the longest any task may run.';
	END IF;
	RETURN timeout;
END
$$;

CREATE FUNCTION a2a.register_agent(name text, base_url text, options jsonb DEFAULT '{}')
	RETURNS jsonb
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_key text;
	v_jwks jsonb;
	v_card jsonb;
	v_owner regrole := (SELECT oid FROM pg_roles WHERE rolname = session_user)::regrole;
	v_require boolean;
	v_headers text[];
BEGIN
	IF name IS NULL OR base_url IS NULL OR options IS NULL THEN
		RAISE EXCEPTION 'a2a.register_agent: arguments must not be null' USING ERRCODE = '22004';
	END IF;
	IF name !~ '^[A-Za-z_][A-Za-z0-9_.-]*$' OR octet_length(name) >= 64 THEN
		RAISE EXCEPTION 'a2a.register_agent: "%" is not a valid agent name', name USING ERRCODE = '42602',
			HINT = 'Names start with a letter or underscore and hold letters, digits, "_", "." and "-", up to 63 bytes.';
	END IF;
	IF jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'a2a.register_agent: options must be a JSON object' USING ERRCODE = '22023';
	END IF;
	FOR v_key IN SELECT jsonb_object_keys(options) LOOP
		IF v_key NOT IN ('require_signed', 'headers', 'max_in_flight', 'max_per_minute',
				'max_cost_per_hour', 'timeout') THEN
			RAISE EXCEPTION 'a2a.register_agent: unknown option "%"', v_key USING ERRCODE = '22023',
				HINT = 'Options are require_signed, headers, max_in_flight, max_per_minute, max_cost_per_hour and timeout.';
		END IF;
	END LOOP;
	IF options ? 'headers' THEN
		IF jsonb_typeof(options->'headers') <> 'object' THEN
			RAISE EXCEPTION 'a2a.register_agent: option headers must be an object of header names and values'
				USING ERRCODE = '22023';
		END IF;
		SELECT array_agg(h.key || ': ' || (h.value #>> '{}')) INTO v_headers
			FROM jsonb_each(options->'headers') h;
		IF EXISTS (SELECT 1 FROM unnest(v_headers) x WHERE x ~ '[\r\n]') THEN
			RAISE EXCEPTION 'a2a.register_agent: a header holds a line break' USING ERRCODE = '22023';
		END IF;
	END IF;
	PERFORM (options->>'timeout')::interval, (options->>'max_in_flight')::integer,
		(options->>'max_per_minute')::integer, (options->>'max_cost_per_hour')::integer;
	PERFORM a2a._check_timeout((options->>'timeout')::interval, 'a2a.register_agent');
	IF EXISTS (SELECT 1 FROM a2a.agents a WHERE a.name = register_agent.name
			AND NOT pg_has_role(session_user, a.owner, 'MEMBER')) THEN
		RAISE EXCEPTION 'a2a.register_agent: agent "%" belongs to another role', name USING ERRCODE = '42501';
	END IF;

	v_require := coalesce((options->>'require_signed')::boolean,
		current_setting('a2a.require_signed')::boolean);
	SELECT jsonb_build_object('keys', coalesce(jsonb_agg(k.jwk || jsonb_build_object('kid', k.kid)), '[]'))
		INTO v_jwks FROM a2a.trusted_keys k;
	v_card := a2a._fetch_card(base_url, v_jwks, v_require);

	INSERT INTO a2a.agents AS a (name, base_url, card, rpc_url, protocol_version, streaming,
			signed_by, options, owner)
	VALUES (name, base_url, v_card->'card', v_card->>'rpc_url', v_card->>'protocol_version',
			(v_card->>'streaming')::boolean, v_card->>'signed_by', options - 'headers', v_owner)
	ON CONFLICT ON CONSTRAINT agents_pkey DO UPDATE SET base_url = EXCLUDED.base_url,
		card = EXCLUDED.card, rpc_url = EXCLUDED.rpc_url,
		protocol_version = EXCLUDED.protocol_version, streaming = EXCLUDED.streaming,
		signed_by = EXCLUDED.signed_by, options = EXCLUDED.options, refreshed = now();
	DELETE FROM a2a.agent_credentials c WHERE c.agent = register_agent.name;
	IF v_headers IS NOT NULL THEN
		INSERT INTO a2a.agent_credentials VALUES (name, v_headers, v_owner);
	END IF;
	RETURN v_card - 'card';
END
$$;
COMMENT ON FUNCTION a2a.register_agent(text, text, jsonb) IS 'fetch, validate and verify an AgentCard and store the agent';

CREATE FUNCTION a2a.refresh_agent(name text) RETURNS jsonb
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a a2a.agents;
	v_options jsonb;
BEGIN
	SELECT * INTO a FROM a2a.agents WHERE agents.name = refresh_agent.name
		AND pg_has_role(session_user, agents.owner, 'MEMBER');
	IF NOT FOUND THEN
		RAISE EXCEPTION 'a2a agent "%" does not exist', name USING ERRCODE = '42704';
	END IF;
	v_options := a.options;
	IF EXISTS (SELECT 1 FROM a2a.agent_credentials c WHERE c.agent = a.name) THEN
		SELECT v_options || jsonb_build_object('headers', jsonb_object_agg(split_part(h, ': ', 1),
				substr(h, length(split_part(h, ': ', 1)) + 3)))
			INTO v_options FROM a2a.agent_credentials c, unnest(c.headers) h WHERE c.agent = a.name;
	END IF;
	RETURN a2a.register_agent(a.name, a.base_url, v_options);
END
$$;

CREATE FUNCTION a2a.unregister_agent(name text) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM a2a.agents a WHERE a.name = unregister_agent.name
		AND pg_has_role(session_user, a.owner, 'MEMBER');
	IF NOT FOUND THEN
		RAISE EXCEPTION 'a2a agent "%" does not exist or belongs to another role', name USING ERRCODE = '42704';
	END IF;
END
$$;

-- The grantee a grant_agent or revoke_agent call names, after checking that the session
-- user owns the agent. 'public' is 0.
CREATE FUNCTION a2a._grantee(caller text, agent text, grantee text) RETURNS regrole
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_role regrole;
BEGIN
	IF agent IS NULL OR grantee IS NULL THEN
		RAISE EXCEPTION '%: arguments must not be null', caller USING ERRCODE = '22004';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM a2a.agents a WHERE a.name = _grantee.agent
			AND pg_has_role(session_user, a.owner, 'MEMBER')) THEN
		RAISE EXCEPTION 'a2a agent "%" does not exist or belongs to another role', agent USING ERRCODE = '42704';
	END IF;
	v_role := CASE WHEN lower(grantee) = 'public' THEN 0::oid::regrole
		ELSE (SELECT oid FROM pg_roles WHERE rolname = grantee)::regrole END;
	IF v_role IS NULL THEN
		RAISE EXCEPTION '%: role "%" does not exist', caller, grantee USING ERRCODE = '42704';
	END IF;
	RETURN v_role;
END
$$;
REVOKE ALL ON FUNCTION a2a._grantee(text, text, text) FROM PUBLIC;

-- Lets another role send to an agent you own, with its credentials and within its budgets
-- (the budgets are the agent's, shared by everyone who may use it). 'public' is every role.
CREATE FUNCTION a2a.grant_agent(agent text, grantee text) RETURNS void
	LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO a2a.agent_grants (agent, grantee)
	VALUES ($1, a2a._grantee('a2a.grant_agent', $1, $2))
	ON CONFLICT DO NOTHING
$$;
COMMENT ON FUNCTION a2a.grant_agent(text, text) IS 'let another role (or public) send to an agent you own';

CREATE FUNCTION a2a.revoke_agent(agent text, grantee text) RETURNS void
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_role regrole := a2a._grantee('a2a.revoke_agent', agent, grantee);
BEGIN
	DELETE FROM a2a.agent_grants g WHERE g.agent = revoke_agent.agent AND g.grantee = v_role;
END
$$;
COMMENT ON FUNCTION a2a.revoke_agent(text, text) IS 'take back a grant made with a2a.grant_agent; queued tasks still go';

-- Budget check and insert. Refusals still record the task (failed, with the reason) so
-- the caller's wait() and the event stream say why; nothing is silently dropped.
CREATE FUNCTION a2a.send(agent text, message jsonb, options jsonb DEFAULT '{}') RETURNS uuid
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	a a2a.agents;
	v_key text;
	v_id uuid := gen_random_uuid();
	v_owner regrole := (SELECT oid FROM pg_roles WHERE rolname = session_user)::regrole;
	v_trace uuid;
	v_depth integer;
	v_cost integer;
	v_message jsonb;
	v_reason text;
	v_n bigint;
	v_limit integer;
	v_timeout interval;
BEGIN
	IF agent IS NULL OR message IS NULL OR options IS NULL THEN
		RAISE EXCEPTION 'a2a.send: arguments must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO a FROM a2a.agents WHERE agents.name = send.agent;
	-- An agent the caller may not use is one it cannot see: say no more than that.
	IF NOT FOUND OR NOT a2a._may_use(a.name) THEN
		RAISE EXCEPTION 'a2a agent "%" does not exist', agent USING ERRCODE = '42704',
			HINT = 'Register it with a2a.register_agent(name, base_url), or ask its owner for a2a.grant_agent.';
	END IF;
	IF jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'a2a.send: options must be a JSON object' USING ERRCODE = '22023';
	END IF;
	FOR v_key IN SELECT jsonb_object_keys(options) LOOP
		IF v_key NOT IN ('trace_id', 'depth', 'cost', 'timeout') THEN
			RAISE EXCEPTION 'a2a.send: unknown option "%"', v_key USING ERRCODE = '22023',
				HINT = 'Options are trace_id, depth, cost and timeout.';
		END IF;
	END LOOP;
	v_trace := coalesce((options->>'trace_id')::uuid, gen_random_uuid());
	v_depth := coalesce((options->>'depth')::integer, 0) + 1;
	v_cost := coalesce((options->>'cost')::integer, 1);
	IF v_depth < 1 OR v_cost < 0 THEN
		RAISE EXCEPTION 'a2a.send: depth and cost must not be negative' USING ERRCODE = '22023';
	END IF;
	IF v_depth > current_setting('a2a.max_depth')::integer THEN
		RAISE EXCEPTION 'a2a.send: depth % exceeds a2a.max_depth (%)', v_depth,
			current_setting('a2a.max_depth') USING ERRCODE = '54001',
			DETAIL = format('trace %s', v_trace),
			HINT = 'A chain of agents calling agents stops here; raise a2a.max_depth if it is meant to go deeper.';
	END IF;
	v_timeout := a2a._check_timeout((options->>'timeout')::interval, 'a2a.send');
	v_timeout := coalesce(v_timeout, least((a.options->>'timeout')::interval,
		current_setting('a2a.task_timeout')::interval), current_setting('a2a.task_timeout')::interval);
	v_message := a2a._normalize_message(message);
	v_message := jsonb_set(v_message, '{metadata}', coalesce(v_message->'metadata', '{}')
		|| jsonb_build_object('trace_id', v_trace, 'depth', v_depth));

	-- Budgets, per agent (its options) and global (GUCs). Serialised per agent so that
	-- concurrent senders cannot both take the last slot.
	PERFORM pg_advisory_xact_lock(hashtext('a2a.send:' || a.name));
	SELECT count(*) INTO v_n FROM a2a.tasks t WHERE t.agent = a.name
		AND t.state NOT IN ('completed', 'canceled', 'failed', 'rejected', 'input-required');
	v_limit := (a.options->>'max_in_flight')::integer;
	IF v_limit IS NOT NULL AND v_n >= v_limit THEN
		v_reason := format('budget exceeded: agent %s already has %s tasks in flight (max_in_flight %s)', a.name, v_n, v_limit);
	END IF;
	-- Each role's own share first, so that one role cannot fill the global budget.
	PERFORM pg_advisory_xact_lock(hashtext('a2a.send.role:' || v_owner::oid));
	SELECT count(*) INTO v_n FROM a2a.tasks t WHERE t.owner = v_owner
		AND t.state NOT IN ('completed', 'canceled', 'failed', 'rejected', 'input-required');
	IF v_reason IS NULL AND v_n >= current_setting('a2a.max_in_flight_per_role')::integer THEN
		v_reason := format('budget exceeded: role %s already has %s tasks in flight (a2a.max_in_flight_per_role)', v_owner, v_n);
	END IF;
	SELECT count(*) INTO v_n FROM a2a.tasks t WHERE t.owner = v_owner
		AND t.created > now() - interval '1 minute'
		AND coalesce(t.reason, '') NOT LIKE 'budget exceeded%';
	IF v_reason IS NULL AND v_n >= current_setting('a2a.max_tasks_per_minute_per_role')::integer THEN
		v_reason := format('budget exceeded: role %s was sent %s tasks in the last minute (a2a.max_tasks_per_minute_per_role)', v_owner, v_n);
	END IF;
	SELECT count(*) INTO v_n FROM a2a.tasks t
		WHERE t.state NOT IN ('completed', 'canceled', 'failed', 'rejected', 'input-required');
	IF v_reason IS NULL AND v_n >= current_setting('a2a.max_in_flight')::integer THEN
		v_reason := format('budget exceeded: %s tasks in flight (a2a.max_in_flight)', v_n);
	END IF;
	SELECT count(*) INTO v_n FROM a2a.tasks t WHERE t.agent = a.name
		AND t.created > now() - interval '1 minute'
		AND coalesce(t.reason, '') NOT LIKE 'budget exceeded%';
	v_limit := (a.options->>'max_per_minute')::integer;
	IF v_reason IS NULL AND v_limit IS NOT NULL AND v_n >= v_limit THEN
		v_reason := format('budget exceeded: agent %s was sent %s tasks in the last minute (max_per_minute %s)', a.name, v_n, v_limit);
	END IF;
	SELECT count(*) INTO v_n FROM a2a.tasks t WHERE t.created > now() - interval '1 minute'
		AND coalesce(t.reason, '') NOT LIKE 'budget exceeded%';
	IF v_reason IS NULL AND v_n >= current_setting('a2a.max_tasks_per_minute')::integer THEN
		v_reason := format('budget exceeded: %s tasks in the last minute (a2a.max_tasks_per_minute)', v_n);
	END IF;
	SELECT coalesce(sum(t.cost), 0) INTO v_n FROM a2a.tasks t WHERE t.agent = a.name
		AND t.created > now() - interval '1 hour'
		AND coalesce(t.reason, '') NOT LIKE 'budget exceeded%';
	v_limit := (a.options->>'max_cost_per_hour')::integer;
	IF v_reason IS NULL AND v_limit IS NOT NULL AND v_n + v_cost > v_limit THEN
		v_reason := format('budget exceeded: agent %s has spent %s of %s cost units this hour, this task costs %s', a.name, v_n, v_limit, v_cost);
	END IF;

	INSERT INTO a2a.tasks (id, agent, message, state, trace_id, depth, cost, deadline, owner, reason)
	VALUES (v_id, a.name, v_message, CASE WHEN v_reason IS NULL THEN 'queued' ELSE 'failed' END,
		v_trace, v_depth, v_cost, v_timeout, v_owner, v_reason);
	IF v_reason IS NOT NULL THEN
		INSERT INTO a2a.task_events (task_id, seq, kind, state, payload, trace_id)
		VALUES (v_id, 1, 'error', 'failed', jsonb_build_object('reason', v_reason), v_trace);
		UPDATE a2a.tasks SET seq = 1 WHERE id = v_id;
		PERFORM pg_notify('a2a', v_id || ',1,failed');
		RAISE WARNING 'a2a task % failed: %', v_id, v_reason;
	END IF;
	RETURN v_id;
END
$$;
COMMENT ON FUNCTION a2a.send(text, jsonb, jsonb) IS 'queue a task for an agent; sent by the a2a worker once the transaction commits';

CREATE FUNCTION a2a.send(agent text, message text, options jsonb DEFAULT '{}') RETURNS uuid
	LANGUAGE sql
AS $$ SELECT a2a.send(agent, to_jsonb(message), options) $$;

CREATE FUNCTION a2a.task(id uuid) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'agent', t.agent, 'state', t.state,
		'reason', t.reason, 'remote_task_id', t.remote_task_id, 'context_id', t.context_id,
		'trace_id', t.trace_id, 'depth', t.depth, 'attempts', t.attempts, 'seq', t.seq,
		'created', t.created, 'updated', t.updated, 'result', t.result,
		'events', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', e.seq, 'kind', e.kind,
			'state', e.state, 'payload', e.payload) ORDER BY e.seq)
			FROM a2a.task_events e WHERE e.task_id = t.id), '[]'))
	FROM a2a.tasks t WHERE t.id = task.id
$$;

CREATE FUNCTION a2a.cancel(id uuid) RETURNS text
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t a2a.tasks;
BEGIN
	SELECT * INTO t FROM a2a.tasks WHERE tasks.id = cancel.id FOR UPDATE;
	IF NOT FOUND OR NOT pg_has_role(session_user, t.owner, 'MEMBER') THEN
		RAISE EXCEPTION 'a2a task % does not exist', id USING ERRCODE = '42704';
	END IF;
	IF t.state IN ('completed', 'canceled', 'failed', 'rejected') THEN
		RETURN t.state;
	END IF;
	IF t.state = 'queued' THEN
		-- Not sent yet: the worker will never pick it up.
		UPDATE a2a.tasks SET state = 'canceled', reason = 'canceled before it was sent',
			seq = seq + 1, updated = now() WHERE tasks.id = t.id;
		INSERT INTO a2a.task_events (task_id, seq, kind, state, payload, trace_id)
		VALUES (t.id, t.seq + 1, 'error', 'canceled',
			jsonb_build_object('reason', 'canceled before it was sent'), t.trace_id);
		PERFORM pg_notify('a2a', t.id || ',' || (t.seq + 1) || ',canceled');
		RETURN 'canceled';
	END IF;
	UPDATE a2a.tasks SET cancel_requested = true WHERE tasks.id = t.id;
	RETURN 'cancel requested';
END
$$;

-- Polls the task row (each statement sees newly committed rows) until it ends or the
-- timeout passes; returns a2a.task(id) either way. Use LISTEN a2a to follow it instead.
CREATE FUNCTION a2a.wait(id uuid, timeout interval DEFAULT '30 seconds') RETURNS jsonb
	LANGUAGE plpgsql
AS $$
DECLARE
	v_until timestamptz := clock_timestamp() + timeout;
	v_state text;
BEGIN
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'a2a.wait needs READ COMMITTED: in % it would never see the task change',
			current_setting('transaction_isolation') USING ERRCODE = '25000';
	END IF;
	LOOP
		SELECT t.state INTO v_state FROM a2a.tasks t WHERE t.id = wait.id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'a2a task % does not exist', id USING ERRCODE = '42704';
		END IF;
		EXIT WHEN v_state IN ('completed', 'canceled', 'failed', 'rejected', 'input-required')
			OR clock_timestamp() >= v_until;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN a2a.task(id);
END
$$;

-- The worker's side. Not for users (REVOKEd below).

-- Takes up to n due tasks: marks them sending and returns what a send needs.
CREATE FUNCTION a2a._claim(n integer)
	RETURNS TABLE (id uuid, rpc_url text, protocol_version text, streaming boolean,
		message jsonb, remote_task_id text, headers text[])
	LANGUAGE sql
AS $$
	WITH due AS (
		SELECT t.id FROM a2a.tasks t
		WHERE t.state = 'queued' AND t.next_attempt <= now() AND NOT t.cancel_requested
		ORDER BY t.next_attempt, t.created LIMIT n FOR UPDATE SKIP LOCKED
	), taken AS (
		UPDATE a2a.tasks t SET state = 'sending', attempts = t.attempts + 1,
			sent = coalesce(t.sent, now()), updated = now()
		FROM due WHERE t.id = due.id
		RETURNING t.id, t.agent, t.message, t.remote_task_id
	)
	SELECT taken.id, a.rpc_url, a.protocol_version, a.streaming, taken.message,
		taken.remote_task_id, c.headers
	FROM taken JOIN a2a.agents a ON a.name = taken.agent
	LEFT JOIN a2a.agent_credentials c ON c.agent = a.name
$$;

-- After a worker restart: tasks the peer already has are followed again (polled); sends
-- that never got an answer go back to the queue (the message id makes a resend
-- recognisable to the peer). A task in flight when the worker stopped may be what stopped
-- it (a crash on its answer): after two such stops it fails instead of stopping it again.
CREATE FUNCTION a2a._resume()
	RETURNS TABLE (id uuid, rpc_url text, protocol_version text, streaming boolean,
		message jsonb, remote_task_id text, headers text[])
	LANGUAGE plpgsql
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT t.id, t.interruptions FROM a2a.tasks t
		WHERE t.state NOT IN ('queued', 'completed', 'canceled', 'failed', 'rejected', 'input-required')
		ORDER BY t.id FOR UPDATE
	LOOP
		IF r.interruptions >= 2 THEN
			PERFORM a2a._record(r.id, 'failed', NULL, NULL, NULL, NULL,
				format('dispatch worker stopped while sending (%s times)', r.interruptions + 1));
		ELSE
			UPDATE a2a.tasks t SET interruptions = t.interruptions + 1 WHERE t.id = r.id;
		END IF;
	END LOOP;
	UPDATE a2a.tasks t SET state = 'queued', attempts = greatest(t.attempts - 1, 0), updated = now()
	WHERE t.state = 'sending' AND t.remote_task_id IS NULL;
	RETURN QUERY
	SELECT t.id, a.rpc_url, a.protocol_version, a.streaming, t.message, t.remote_task_id, c.headers
	FROM a2a.tasks t JOIN a2a.agents a ON a.name = t.agent
	LEFT JOIN a2a.agent_credentials c ON c.agent = a.name
	WHERE t.state NOT IN ('queued', 'completed', 'canceled', 'failed', 'rejected', 'input-required')
		AND t.remote_task_id IS NOT NULL;
END
$$;

-- Records one event: appends it, moves the task's state (never out of a final state) and
-- notifies. kind 'retry' requeues the task with backoff, or fails it once retries are
-- used up; kind 'failed' fails it with the reason.
CREATE FUNCTION a2a._record(p_id uuid, p_kind text, p_state text, p_payload jsonb,
		p_remote text, p_context text, p_reason text)
	RETURNS void
	LANGUAGE plpgsql
AS $$
DECLARE
	t a2a.tasks;
	v_state text := p_state;
	v_kind text := p_kind;
	v_payload jsonb := p_payload;
	v_final boolean;
BEGIN
	SELECT * INTO t FROM a2a.tasks WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;  -- deleted with its agent meanwhile
	END IF;
	v_final := t.state IN ('completed', 'canceled', 'failed', 'rejected');
	IF v_kind = 'retry' THEN
		IF t.attempts > current_setting('a2a.max_retries')::integer THEN
			v_kind := 'error';
			v_state := 'failed';
			p_reason := format('%s (gave up after %s attempts)', p_reason, t.attempts);
		ELSE
			v_state := 'queued';
		END IF;
		v_payload := jsonb_build_object('reason', p_reason, 'attempt', t.attempts);
	ELSIF v_kind = 'failed' THEN
		v_kind := 'error';
		v_state := 'failed';
		v_payload := jsonb_build_object('reason', p_reason);
	END IF;
	INSERT INTO a2a.task_events (task_id, seq, kind, state, payload, trace_id)
	VALUES (t.id, t.seq + 1, v_kind, v_state, v_payload, t.trace_id);
	UPDATE a2a.tasks SET seq = seq + 1, updated = now(),
		remote_task_id = coalesce(remote_task_id, p_remote),
		context_id = coalesce(context_id, p_context),
		result = CASE WHEN p_kind IN ('task', 'message') AND NOT v_final THEN p_payload ELSE result END,
		state = CASE WHEN v_final OR v_state IS NULL THEN state ELSE v_state END,
		reason = CASE WHEN v_final THEN reason
			WHEN v_state IN ('failed', 'queued') AND p_reason IS NOT NULL THEN p_reason
			WHEN v_state IN ('failed', 'rejected') THEN coalesce(
				p_payload #>> '{status,message,parts,0,text}', 'the agent reported ' || v_state)
			WHEN v_state IS NOT NULL THEN NULL ELSE reason END,
		next_attempt = CASE WHEN v_state = 'queued' AND NOT v_final
			THEN now() + current_setting('a2a.retry_backoff')::interval * 2 ^ greatest(t.attempts - 1, 0)
			ELSE next_attempt END
	WHERE id = t.id;
	PERFORM pg_notify('a2a', t.id || ',' || (t.seq + 1) || ',' ||
		CASE WHEN v_final THEN t.state ELSE coalesce(v_state, t.state) END);
END
$$;

-- Tasks the worker must act on: deadlines passed (failed here, with the reason; the worker
-- then cancels them at the peer) and cancels asked for. Rows as _claim returns them.
CREATE FUNCTION a2a._due()
	RETURNS TABLE (what text, id uuid, rpc_url text, protocol_version text, streaming boolean,
		message jsonb, remote_task_id text, headers text[])
	LANGUAGE plpgsql
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT t.id, t.deadline FROM a2a.tasks t
		WHERE t.state NOT IN ('queued', 'input-required', 'completed', 'canceled', 'failed', 'rejected')
			AND t.sent + t.deadline < now()
	LOOP
		PERFORM a2a._record(r.id, 'failed', NULL, NULL, NULL, NULL,
			format('timed out after %s', r.deadline));
		UPDATE a2a.tasks SET cancel_requested = true WHERE tasks.id = r.id;
	END LOOP;
	RETURN QUERY SELECT CASE WHEN t.state = 'failed' THEN 'expired' ELSE 'cancel' END,
		t.id, a.rpc_url, a.protocol_version, a.streaming, t.message, t.remote_task_id, c.headers
	FROM a2a.tasks t JOIN a2a.agents a ON a.name = t.agent
	LEFT JOIN a2a.agent_credentials c ON c.agent = a.name
	WHERE t.cancel_requested AND t.remote_task_id IS NOT NULL
		AND (t.state NOT IN ('queued', 'completed', 'canceled', 'failed', 'rejected')
			OR (t.state = 'failed' AND t.updated > now() - interval '10 seconds'));
END
$$;

REVOKE ALL ON FUNCTION a2a._claim(integer), a2a._resume(), a2a._due(),
	a2a._record(uuid, text, text, jsonb, text, text, text) FROM PUBLIC;

-- Handing memory to another agent: a data part carrying a verified bundle's witness and
-- data_ref instead of its vectors, a few hundred bytes whatever the bundle holds. The
-- receiver fetches the bundle and checks it against the witness (docs/bundle-format.md).
CREATE FUNCTION a2a.rulake_part(bundle_dir text) RETURNS jsonb
	LANGUAGE sql STRICT
AS $$
	SELECT jsonb_build_object('data', jsonb_build_object('rulake_witness', b - 'valid'),
		'metadata', jsonb_build_object('kind', 'rulake_witness'))
	FROM rulake.verify_bundle(bundle_dir) b
$$;
COMMENT ON FUNCTION a2a.rulake_part(text) IS 'an A2A data part naming a verified ruLake bundle by its witness';

COMMENT ON FUNCTION a2a.refresh_agent(text) IS 'fetch and verify an agent''s AgentCard again, keeping its options and credentials';
COMMENT ON FUNCTION a2a.unregister_agent(text) IS 'forget an agent you own, with its tasks and credentials';
COMMENT ON FUNCTION a2a.send(text, text, jsonb) IS 'queue a task whose message is one text part';
COMMENT ON FUNCTION a2a.task(uuid) IS 'a task''s state, result and every recorded update as jsonb';
COMMENT ON FUNCTION a2a.cancel(uuid) IS 'cancel a task: at once when not sent yet, else the worker asks the peer';
COMMENT ON FUNCTION a2a.wait(uuid, interval) IS 'wait until a task reaches a final or input-required state, or the timeout; then a2a.task';
