-- ruvector 0.2.0 -> 0.3.0 (ALTER EXTENSION ruvector UPDATE): the privilege model of
-- docs/security.md. tests/server/upgrade.sh checks that an updated 0.2.0 has exactly the
-- objects and definitions of a fresh 0.3.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.3.0'" to load this file. \quit

-- Owners and tables by name in dumps (regrole, regclass); policies that name a changed
-- column are dropped first and made again below.
DROP POLICY collections_read ON rulake.collections;
DROP POLICY collections_insert ON rulake.collections;
DROP POLICY collections_delete ON rulake.collections;
ALTER TABLE rulake.collections ALTER COLUMN owner TYPE regrole, ALTER COLUMN relid TYPE regclass;
ALTER TABLE rulake.table_writes ALTER COLUMN relid TYPE regclass;
DROP POLICY tasks_own ON a2a.tasks;
ALTER TABLE a2a.agents ALTER COLUMN owner TYPE regrole;
ALTER TABLE a2a.agent_credentials ALTER COLUMN owner TYPE regrole;
ALTER TABLE a2a.tasks ALTER COLUMN owner TYPE regrole;
ALTER TABLE a2a.tasks ADD COLUMN interruptions integer NOT NULL DEFAULT 0;
CREATE INDEX tasks_owner_created ON a2a.tasks (owner, created);

-- ruLake: who sees, registers and reads what.
GRANT SELECT ON rulake.table_writes TO PUBLIC;

CREATE FUNCTION rulake._readable(regclass, name, name) RETURNS boolean
	AS 'MODULE_PATHNAME', 'rulake_readable' LANGUAGE C STABLE;
-- Refuses a registration past rulake.max_collections or the role's
-- rulake.max_collections_per_role, or under a name taken by any role; true otherwise. The
-- insert policy calls it too, so that a row inserted by hand is held to the same limits.
CREATE FUNCTION rulake._admit(text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'rulake_admit' LANGUAGE C VOLATILE STRICT;

CREATE POLICY collections_read ON rulake.collections FOR SELECT
	USING (pg_catalog.pg_has_role(current_user, owner, 'MEMBER')
		OR CASE WHEN kind = 'table' THEN rulake._readable(relid, id_column, vector_column)
			ELSE pg_catalog.pg_has_role(current_user, 'pg_read_server_files', 'USAGE') END);
CREATE POLICY collections_insert ON rulake.collections FOR INSERT
	WITH CHECK (owner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
		AND rulake._admit(name));
CREATE POLICY collections_delete ON rulake.collections FOR DELETE
	USING (pg_catalog.pg_has_role(current_user, owner, 'MEMBER'));
ALTER TABLE rulake.table_writes ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_writes_read ON rulake.table_writes FOR SELECT
	USING (coalesce(pg_catalog.has_any_column_privilege(relid, 'SELECT'), false));

CREATE OR REPLACE FUNCTION rulake.note_write() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- A trigger left behind on a table its unregistering role did not own logs nothing.
	INSERT INTO rulake.table_writes (relid)
		SELECT TG_RELID WHERE EXISTS (SELECT 1 FROM rulake.collections WHERE relid = TG_RELID);
	RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION rulake._check_bundle_path(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rulake._check_bundle_path(text) TO pg_read_server_files;


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
		EXECUTE format('DROP TRIGGER IF EXISTS rulake_generation ON %s', c.relid::regclass);
	END IF;
END
$$;


-- rulake.stats() gains last_error, why the last prime or fetch failed (a result column
-- cannot be added in place).
DROP FUNCTION rulake.stats();
CREATE FUNCTION rulake.stats()
	RETURNS TABLE (collection text, witness text, consistency text, state text, primes bigint,
		hits bigint, misses bigint, hit_rate double precision, bytes bigint, last_primed timestamptz,
		last_error text)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error';

-- A2A: agents used by their owner and grantees; timeouts capped; interrupted tasks bounded.

-- Roles other than the owner that may send to an agent (with its credentials, within its
-- budgets); grantee 0 ('-') is PUBLIC.
CREATE TABLE a2a.agent_grants (
	agent text NOT NULL REFERENCES a2a.agents ON DELETE CASCADE,
	grantee regrole NOT NULL,
	granted timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (agent, grantee)
);
COMMENT ON TABLE a2a.agent_grants IS 'who besides its owner may send to an agent; change it with a2a.grant_agent and a2a.revoke_agent';

SELECT pg_catalog.pg_extension_config_dump('a2a.agent_grants', '');

REVOKE ALL ON a2a.agent_grants FROM PUBLIC;
GRANT SELECT ON a2a.agent_grants TO PUBLIC;

CREATE POLICY tasks_own ON a2a.tasks FOR SELECT
	USING (pg_catalog.pg_has_role(session_user, owner, 'MEMBER'));

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

CREATE OR REPLACE FUNCTION a2a.register_agent(name text, base_url text, options jsonb DEFAULT '{}')
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

CREATE OR REPLACE FUNCTION a2a.refresh_agent(name text) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION a2a.send(agent text, message jsonb, options jsonb DEFAULT '{}') RETURNS uuid
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

CREATE OR REPLACE FUNCTION a2a._resume()
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
