-- ruvector 0.4.0 -> 0.5.0 (ALTER EXTENSION ruvector UPDATE): rulake.publish_bundle takes
-- options (pii_policy, lineage_id, generation, format), rulake.verify_bundle also reads the
-- Rust RuVector's bundles, rulake.stats() reports evictions, the last search and the
-- writes folded into overlays, the write log names the ids each statement touched so that
-- cached images absorb writes, and A2A routes by skill and keeps task trees
-- (docs/rulake.md, docs/a2a.md). tests/server/upgrade.sh checks that an updated 0.4.0
-- matches a fresh 0.5.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.5.0'" to load this file. \quit

-- A new parameter and new result columns change the functions' signatures: replace them.
-- Neither has grants of its own, and nothing in the extension depends on them.
DROP FUNCTION rulake.publish_bundle(text, text);
-- options: pii_policy, lineage_id (strings) and generation (a number or a string, e.g. an
-- Iceberg snapshot id); the defaults are "", the collection's name and the table's generation.
CREATE FUNCTION rulake.publish_bundle(collection text, dir text, options jsonb DEFAULT '{}')
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_publish_bundle' LANGUAGE C STRICT;
COMMENT ON FUNCTION rulake.publish_bundle(text, text, jsonb) IS 'write a collection''s rows as a bundle under rulake.bundle_root, atomically; options set pii_policy, lineage_id, generation and format (native or ruvector-rust)';
-- Same signature; the answer gained witness_scheme and data_authenticated.
COMMENT ON FUNCTION rulake.verify_bundle(text) IS 'verify a bundle''s witness and data, in this extension''s or the Rust RuVector''s format; its fields, witness_scheme and data_authenticated as jsonb';

-- CREATE OR REPLACE cannot add OUT columns, and a view of the user's over rulake.stats()
-- would stop a DROP. The 0.4.0 function is renamed instead (a view refers to it by oid and
-- keeps its columns: the C function fills as many as its declaration has) and dropped
-- below unless something depends on it.
ALTER FUNCTION rulake.stats() RENAME TO stats_0_4;
CREATE FUNCTION rulake.stats()
	RETURNS TABLE (collection text, witness text, consistency text, state text, primes bigint,
		hits bigint, misses bigint, hit_rate double precision, bytes bigint, last_primed timestamptz,
		last_error text, evictions bigint, last_searched timestamptz, deltas bigint)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error, evictions, last search, writes folded in';
-- A view (or anything else) over the old function keeps it, as the user's own object: out
-- of the extension, so that pg_dump dumps it with the view, and the user drops it once the
-- view reads rulake.stats() (docs/rulake.md, "Upgrading").
DO $$
DECLARE
	users text;
BEGIN
	SELECT string_agg(DISTINCT pg_describe_object(classid, objid, objsubid), ', ') INTO users
	FROM pg_depend
	WHERE refclassid = 'pg_proc'::regclass AND refobjid = 'rulake.stats_0_4()'::regprocedure
		AND deptype = 'n';
	IF users IS NULL THEN
		DROP FUNCTION rulake.stats_0_4();
	ELSE
		ALTER EXTENSION ruvector DROP FUNCTION rulake.stats_0_4();
		COMMENT ON FUNCTION rulake.stats_0_4() IS 'the columns rulake.stats() had in ruvector 0.4.0, kept for the objects that read them';
		RAISE WARNING 'rulake.stats() has new columns; % now read(s) rulake.stats_0_4(), its 0.4.0 columns', users
			USING HINT = 'Recreate them over rulake.stats() to see evictions, last_searched and deltas, then DROP FUNCTION rulake.stats_0_4().';
	END IF;
END
$$;

-- The write log names what each statement touched (docs/rulake.md#writes). Rows logged
-- before the update name nothing (ids NULL): a cached image older than them is primed in
-- full once, as before.
ALTER TABLE rulake.table_writes
	ADD COLUMN xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
	ADD COLUMN id_column name,
	ADD COLUMN ids bigint[],
	ADD COLUMN folded boolean NOT NULL DEFAULT false;
-- Not id_column and ids: which ids a statement touched is for those who may read the id
-- column, and ruLake reads them itself after checking that (rulake_delta.cpp).
REVOKE SELECT ON rulake.table_writes FROM PUBLIC;
GRANT SELECT (relid, weight, xmin, xid, folded) ON rulake.table_writes TO PUBLIC;
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

-- A2A (issue 29): routing by skill (a2a.route, a2a.skills), causal traces
-- (a2a.tasks.parent_task and remote_parent, a2a.trace, a2a.max_trace_tasks and
-- a2a.max_trace_cost), versioned rulake_witness parts and rulake.register_from_part.
-- Bodies as in extension/sql/50_a2a.sql and 60_rulake_part.sql.
ALTER TABLE a2a.tasks ADD COLUMN parent_task uuid, ADD COLUMN remote_parent text;
CREATE INDEX tasks_trace ON a2a.tasks (trace_id);

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
	v_parent a2a.tasks;
	v_remote_parent text;
	v_inbound jsonb;
	v_spent bigint;
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
		IF v_key NOT IN ('trace_id', 'depth', 'cost', 'timeout', 'parent_task', 'inbound') THEN
			RAISE EXCEPTION 'a2a.send: unknown option "%"', v_key USING ERRCODE = '22023',
				HINT = 'Options are trace_id, depth, cost, timeout, parent_task and inbound.';
		END IF;
	END LOOP;
	IF options ? 'parent_task' AND options ? 'inbound' THEN
		RAISE EXCEPTION 'a2a.send: give parent_task or inbound, not both' USING ERRCODE = '22023';
	END IF;
	-- With a parent, depth is the parent's plus one: a caller cannot reset its own depth to
	-- slip under a2a.max_depth.
	IF (options ? 'parent_task' OR options ? 'inbound') AND options ? 'depth' THEN
		RAISE EXCEPTION 'a2a.send: depth is derived from %, not given', CASE WHEN options ? 'inbound'
			THEN 'inbound' ELSE 'parent_task' END USING ERRCODE = '22023';
	END IF;
	v_trace := (options->>'trace_id')::uuid;
	v_depth := coalesce((options->>'depth')::integer, 0) + 1;
	IF options ? 'parent_task' THEN
		-- Only a task the caller may see (a2a.task's rule) can be a parent.
		SELECT * INTO v_parent FROM a2a.tasks t WHERE t.id = (options->>'parent_task')::uuid
			AND pg_has_role(session_user, t.owner, 'MEMBER');
		IF NOT FOUND THEN
			RAISE EXCEPTION 'a2a.send: parent_task % does not exist', options->>'parent_task'
				USING ERRCODE = '42704';
		END IF;
		IF v_trace IS NOT NULL AND v_trace <> v_parent.trace_id THEN
			RAISE EXCEPTION 'a2a.send: trace_id % is not parent_task''s trace %', v_trace,
				v_parent.trace_id USING ERRCODE = '22023';
		END IF;
		v_trace := v_parent.trace_id;
		v_depth := v_parent.depth + 1;
	ELSIF options ? 'inbound' THEN
		-- The metadata of the message this work arrived with: its task_id is the sender's
		-- task, which this one serves. Nothing here can be checked, only recorded.
		v_inbound := options->'inbound';
		IF jsonb_typeof(v_inbound) <> 'object' THEN
			RAISE EXCEPTION 'a2a.send: inbound must be the received message''s metadata object'
				USING ERRCODE = '22023';
		END IF;
		IF jsonb_typeof(v_inbound->'depth') NOT IN ('number', 'null')
				OR jsonb_typeof(v_inbound->'task_id') NOT IN ('string', 'null')
				OR jsonb_typeof(v_inbound->'trace_id') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'a2a.send: inbound trace_id and task_id must be strings, depth a number'
				USING ERRCODE = '22023';
		END IF;
		IF v_trace IS NOT NULL AND v_trace IS DISTINCT FROM (v_inbound->>'trace_id')::uuid THEN
			RAISE EXCEPTION 'a2a.send: trace_id % is not the inbound trace %', v_trace,
				coalesce(v_inbound->>'trace_id', 'none') USING ERRCODE = '22023';
		END IF;
		v_trace := (v_inbound->>'trace_id')::uuid;
		v_depth := coalesce((v_inbound->>'depth')::integer, 0) + 1;
		v_remote_parent := v_inbound->>'task_id';
		IF octet_length(v_remote_parent) > 1024 THEN
			RAISE EXCEPTION 'a2a.send: inbound task_id is longer than 1024 bytes' USING ERRCODE = '22023';
		END IF;
	END IF;
	v_trace := coalesce(v_trace, gen_random_uuid());
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
	-- What an agent relays to keep one trace: the receiver passes this object back as
	-- inbound (task_id becomes its task's parent).
	v_message := jsonb_set(v_message, '{metadata}', coalesce(v_message->'metadata', '{}')
		|| jsonb_strip_nulls(jsonb_build_object('trace_id', v_trace, 'depth', v_depth,
			'task_id', v_id, 'parent_task', coalesce(v_parent.id::text, v_remote_parent))));

	-- The trace's budget: depth bounds a chain, these a fan-out too. Refused outright, like
	-- depth: the task would be one more link of a runaway delegation, not a late one.
	PERFORM pg_advisory_xact_lock(hashtext('a2a.trace:' || v_trace));
	SELECT count(*), coalesce(sum(t.cost), 0) INTO v_n, v_spent FROM a2a.tasks t
		WHERE t.trace_id = v_trace AND coalesce(t.reason, '') NOT LIKE 'budget exceeded%';
	IF v_n >= current_setting('a2a.max_trace_tasks')::integer THEN
		RAISE EXCEPTION 'a2a.send: trace % already holds % tasks (a2a.max_trace_tasks)', v_trace, v_n
			USING ERRCODE = '54000',
			HINT = 'A superuser raises a2a.max_trace_tasks if a trace is meant to hold more.';
	END IF;
	v_limit := current_setting('a2a.max_trace_cost')::integer;
	IF v_limit > 0 AND v_spent + v_cost > v_limit THEN
		RAISE EXCEPTION 'a2a.send: trace % has spent % of % cost units, this task costs % (a2a.max_trace_cost)',
			v_trace, v_spent, v_limit, v_cost USING ERRCODE = '54000',
			HINT = 'A superuser raises a2a.max_trace_cost if a trace is meant to spend more.';
	END IF;

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

	INSERT INTO a2a.tasks (id, agent, message, state, trace_id, depth, cost, deadline, owner, reason,
		parent_task, remote_parent)
	VALUES (v_id, a.name, v_message, CASE WHEN v_reason IS NULL THEN 'queued' ELSE 'failed' END,
		v_trace, v_depth, v_cost, v_timeout, v_owner, v_reason, v_parent.id, v_remote_parent);
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

CREATE OR REPLACE FUNCTION a2a.task(id uuid) RETURNS jsonb
	LANGUAGE sql STABLE
AS $$
	SELECT jsonb_build_object('id', t.id, 'agent', t.agent, 'state', t.state,
		'reason', t.reason, 'remote_task_id', t.remote_task_id, 'context_id', t.context_id,
		'trace_id', t.trace_id, 'depth', t.depth, 'parent_task', t.parent_task,
		'remote_parent', t.remote_parent, 'cost', t.cost, 'attempts', t.attempts, 'seq', t.seq,
		'created', t.created, 'updated', t.updated, 'result', t.result,
		'events', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', e.seq, 'kind', e.kind,
			'state', e.state, 'payload', e.payload) ORDER BY e.seq)
			FROM a2a.task_events e WHERE e.task_id = t.id), '[]'))
	FROM a2a.tasks t WHERE t.id = task.id
$$;

-- The skills each usable agent's card advertises, one row per skill. Modes are lower-case
-- (MIME types are case-insensitive) and fall back to the card's defaults, as the A2A spec
-- says. security_invoker: the caller's row security on a2a.agents decides what shows.
CREATE FUNCTION a2a._strings(jsonb) RETURNS text[]
	LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN jsonb_typeof($1) = 'array' THEN coalesce((SELECT array_agg(e #>> '{}' ORDER BY n)
		FROM jsonb_array_elements($1) WITH ORDINALITY AS x(e, n) WHERE jsonb_typeof(e) = 'string'),
		'{}') END
$$;
CREATE FUNCTION a2a._lower(text[]) RETURNS text[]
	LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN $1 IS NOT NULL THEN coalesce((SELECT array_agg(lower(x) ORDER BY n)
		FROM unnest($1) WITH ORDINALITY AS u(x, n)), '{}') END
$$;
CREATE VIEW a2a.skills WITH (security_invoker = true) AS
	SELECT a.name AS agent, s.skill->>'id' AS skill, s.skill->>'name' AS name,
		s.skill->>'description' AS description,
		coalesce(a2a._strings(s.skill->'tags'), '{}') AS tags,
		a2a._lower(coalesce(a2a._strings(s.skill->'inputModes'),
			a2a._strings(a.card->'defaultInputModes'), '{}')) AS input_modes,
		a2a._lower(coalesce(a2a._strings(s.skill->'outputModes'),
			a2a._strings(a.card->'defaultOutputModes'), '{}')) AS output_modes
	FROM a2a.agents a,
		jsonb_array_elements(CASE WHEN jsonb_typeof(a.card->'skills') = 'array'
			THEN a.card->'skills' ELSE '[]' END) AS s(skill)
	WHERE jsonb_typeof(s.skill) = 'object';
COMMENT ON VIEW a2a.skills IS 'one row per skill of every agent you may use, as its AgentCard advertises it';
GRANT SELECT ON a2a.skills TO PUBLIC;

-- The selector's list of strings ("a" or ["a", "b"]), or NULL when absent.
CREATE FUNCTION a2a._selector_list(selector jsonb, key text) RETURNS text[]
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT selector ? key THEN
		RETURN NULL;
	ELSIF jsonb_typeof(selector->key) = 'string' THEN
		RETURN ARRAY[selector->>key];
	ELSIF jsonb_typeof(selector->key) = 'array'
			AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(selector->key) e
				WHERE jsonb_typeof(e) <> 'string') THEN
		RETURN a2a._strings(selector->key);
	END IF;
	RAISE EXCEPTION 'a2a.route: selector % must be a string or an array of strings', key
		USING ERRCODE = '22023';
END
$$;

-- Picks the agent for a selector among those the session user may use: one skill must
-- match all of it. Deterministic: fewest unfinished tasks, then name. SECURITY DEFINER to
-- count every role's tasks, since in-flight work at an agent is shared whoever sent it.
CREATE FUNCTION a2a.route(selector jsonb) RETURNS text
	LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_key text;
	v_skill text;
	v_tags text[];
	v_in text[];
	v_out text[];
	v_agent text;
BEGIN
	IF selector IS NULL OR jsonb_typeof(selector) <> 'object' THEN
		RAISE EXCEPTION 'a2a.route: selector must be a JSON object' USING ERRCODE = '22023';
	END IF;
	FOR v_key IN SELECT jsonb_object_keys(selector) LOOP
		IF v_key NOT IN ('skill', 'tags', 'input_modes', 'output_modes') THEN
			RAISE EXCEPTION 'a2a.route: unknown selector key "%"', v_key USING ERRCODE = '22023',
				HINT = 'Selectors name skill, tags, input_modes and output_modes.';
		END IF;
	END LOOP;
	IF selector = '{}' THEN
		RAISE EXCEPTION 'a2a.route: the selector asks for nothing' USING ERRCODE = '22023',
			HINT = 'Name a skill, tags, input_modes or output_modes.';
	END IF;
	IF selector ? 'skill' AND jsonb_typeof(selector->'skill') <> 'string' THEN
		RAISE EXCEPTION 'a2a.route: selector skill must be a string' USING ERRCODE = '22023';
	END IF;
	v_skill := selector->>'skill';
	v_tags := a2a._selector_list(selector, 'tags');
	v_in := a2a._lower(a2a._selector_list(selector, 'input_modes'));
	v_out := a2a._lower(a2a._selector_list(selector, 'output_modes'));
	SELECT s.agent INTO v_agent FROM a2a.skills s
	WHERE a2a._may_use(s.agent)
		AND (v_skill IS NULL OR s.skill = v_skill)
		AND (v_tags IS NULL OR s.tags @> v_tags)
		AND (v_in IS NULL OR s.input_modes @> v_in)
		AND (v_out IS NULL OR s.output_modes @> v_out)
	GROUP BY s.agent
	ORDER BY (SELECT count(*) FROM a2a.tasks t WHERE t.agent = s.agent
			AND t.state NOT IN ('completed', 'canceled', 'failed', 'rejected', 'input-required')),
		s.agent COLLATE "C"
	LIMIT 1;
	IF v_agent IS NULL THEN
		RAISE EXCEPTION 'a2a.route: no agent you may use offers %', selector USING ERRCODE = '42704',
			HINT = 'a2a.skills lists the skills of the agents you may use.';
	END IF;
	RETURN v_agent;
END
$$;
COMMENT ON FUNCTION a2a.route(jsonb) IS 'the agent to send to for a skill, tags or modes: among those you may use, fewest tasks in flight, then name';

-- A trace as a tree: roots first (a task whose parent is not here or not visible), each
-- followed by its children in the order they were sent. Invoker's rights: row security
-- shows the caller its own tasks only, as a2a.task does.
CREATE FUNCTION a2a.trace(trace_id uuid)
	RETURNS TABLE (task uuid, parent_task uuid, remote_parent text, agent text, state text,
		depth integer, cost integer, created timestamptz, sent timestamptz, updated timestamptz)
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE visible AS (
		SELECT t.*, to_char(t.created AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || t.id AS sort_key
		FROM a2a.tasks t WHERE t.trace_id = $1
	), tree AS (
		SELECT v.id, ARRAY[v.sort_key] AS path FROM visible v
		WHERE coalesce(v.parent_task::text, v.remote_parent) IS NULL
			OR NOT EXISTS (SELECT 1 FROM visible p
				WHERE p.id::text = coalesce(v.parent_task::text, v.remote_parent))
		UNION ALL
		SELECT c.id, tree.path || c.sort_key FROM tree
		JOIN visible c ON coalesce(c.parent_task::text, c.remote_parent) = tree.id::text
		WHERE c.sort_key <> ALL (tree.path)
	)
	SELECT v.id, v.parent_task, v.remote_parent, v.agent, v.state, v.depth, v.cost, v.created,
		v.sent, v.updated
	FROM tree JOIN visible v ON v.id = tree.id
	ORDER BY tree.path
$$;
COMMENT ON FUNCTION a2a.trace(uuid) IS 'the tasks of a trace you may see, as a tree: task, parent, agent, state, cost and times';

CREATE OR REPLACE FUNCTION a2a.rulake_part(bundle_dir text) RETURNS jsonb
	LANGUAGE sql STRICT
AS $$
	SELECT jsonb_build_object('data', jsonb_build_object('version', '1.1', 'bundle', bundle_dir,
			'rulake_witness', b - 'valid'),
		'metadata', jsonb_build_object('kind', 'rulake_witness'))
	FROM rulake.verify_bundle(bundle_dir) b
$$;

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

-- The A2A endpoint's bearer tokens (docs/a2a.md, "The A2A endpoint"). A token stands for
-- one role: a request that carries it runs rulake.search with that role's privileges. Only
-- its SHA-256 is kept; the token itself is shown once, by a2a.create_endpoint_token.
CREATE TABLE a2a.endpoint_tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	role regrole NOT NULL,             -- a dump names the role, a restore finds it again
	token_hash bytea NOT NULL UNIQUE,  -- sha256 of the token's UTF-8 bytes
	label text,
	created timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,          -- a name: it outlives the role, as an audit trail should
	expires timestamptz
);
COMMENT ON TABLE a2a.endpoint_tokens IS 'bearer tokens of the A2A endpoint, hashed, each for one role; change them with a2a.create_endpoint_token and a2a.revoke_endpoint_token';
SELECT pg_catalog.pg_extension_config_dump('a2a.endpoint_tokens', '');

-- Whether the session user may create or revoke tokens for `role`: a superuser, the role
-- itself, or a role with ADMIN OPTION on it; for a superuser role, a superuser only. The
-- session user, as everywhere in a2a (the SECURITY DEFINER functions below see no other).
CREATE FUNCTION a2a._may_manage_token(role oid) RETURNS boolean
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE oid = $1) THEN false
		WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN true
		WHEN (SELECT rolsuper FROM pg_roles WHERE oid = $1) THEN false
		ELSE $1 = (SELECT oid FROM pg_roles WHERE rolname = session_user)
			OR pg_has_role(session_user, $1, 'MEMBER WITH ADMIN OPTION')
	END
$$;

-- A role sees the tokens it may manage, without their hashes.
REVOKE ALL ON a2a.endpoint_tokens FROM PUBLIC;
GRANT SELECT (id, role, label, created, created_by, expires) ON a2a.endpoint_tokens TO PUBLIC;
ALTER TABLE a2a.endpoint_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY endpoint_tokens_managed ON a2a.endpoint_tokens FOR SELECT
	USING (a2a._may_manage_token(role));

CREATE FUNCTION a2a._random_token() RETURNS text
	AS 'MODULE_PATHNAME', 'a2a_random_token' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION a2a._random_token() FROM PUBLIC;

CREATE FUNCTION a2a.create_endpoint_token(role regrole, expires timestamptz DEFAULT NULL,
		label text DEFAULT NULL) RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_token text;
BEGIN
	IF $1 IS NULL THEN
		RAISE EXCEPTION 'a2a.create_endpoint_token: role must not be null' USING ERRCODE = '22004';
	END IF;
	IF NOT a2a._may_manage_token($1) THEN
		RAISE EXCEPTION 'permission denied to create an A2A endpoint token for role "%"', $1
			USING ERRCODE = '42501',
			DETAIL = 'Only a superuser, the role itself or a role with ADMIN OPTION on it may, and only a superuser for a superuser role.';
	END IF;
	IF $2 IS NOT NULL AND $2 <= now() THEN
		RAISE EXCEPTION 'a2a.create_endpoint_token: expires is not in the future'
			USING ERRCODE = '22023', DETAIL = format('expires is %s', $2);
	END IF;
	v_token := 'rva2a_' || a2a._random_token();
	INSERT INTO a2a.endpoint_tokens (role, token_hash, label, created_by, expires)
		VALUES ($1, sha256(convert_to(v_token, 'UTF8')), $3, session_user, $2);
	RETURN v_token;
END
$$;
COMMENT ON FUNCTION a2a.create_endpoint_token(regrole, timestamptz, text) IS 'a new bearer token for the A2A endpoint, standing for a role; returned once, stored hashed';

CREATE FUNCTION a2a.revoke_endpoint_token(id bigint) RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_role oid;
BEGIN
	SELECT t.role INTO v_role FROM a2a.endpoint_tokens t WHERE t.id = $1;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	IF NOT a2a._may_manage_token(v_role) THEN
		RAISE EXCEPTION 'permission denied to revoke A2A endpoint token %', $1
			USING ERRCODE = '42501',
			DETAIL = 'Only a superuser, its role or a role with ADMIN OPTION on that role may.';
	END IF;
	DELETE FROM a2a.endpoint_tokens t WHERE t.id = $1;
	RETURN true;
END
$$;
COMMENT ON FUNCTION a2a.revoke_endpoint_token(bigint) IS 'delete an A2A endpoint token: requests that carry it are refused from then on';

-- #30 item 6: agents of the pre-0.3 draft protocol (rvagent-a2a), and their trace context
-- in inbound metadata.
ALTER TABLE a2a.agents DROP CONSTRAINT agents_protocol_version_check,
	ADD CONSTRAINT agents_protocol_version_check CHECK (protocol_version IN ('1.0', '0.3', 'draft'));

-- The inbound metadata of a message from an rvagent-a2a (draft) agent carries its trace in
-- ruvector.context (32-hex trace_id, depth, parent_task_id); read it as our flat fields,
-- which win when both are present (an agent relaying ours). The context itself is kept,
-- bounded: the next send to a draft agent continues its root and visited agents.
CREATE FUNCTION a2a._inbound(inbound jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	ctx jsonb := inbound->'ruvector'->'context';
BEGIN
	IF jsonb_typeof(ctx) IS DISTINCT FROM 'object' THEN
		RETURN inbound;
	END IF;
	IF octet_length(ctx::text) > 8192 THEN
		RAISE EXCEPTION 'a2a.send: inbound ruvector.context is longer than 8192 bytes'
			USING ERRCODE = '22023';
	END IF;
	RETURN jsonb_strip_nulls(jsonb_build_object('trace_id', ctx->'trace_id',
		'depth', ctx->'depth', 'task_id', ctx->'parent_task_id')) || inbound;
END
$$;

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
	v_parent a2a.tasks;
	v_remote_parent text;
	v_inbound jsonb;
	v_spent bigint;
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
		IF v_key NOT IN ('trace_id', 'depth', 'cost', 'timeout', 'parent_task', 'inbound') THEN
			RAISE EXCEPTION 'a2a.send: unknown option "%"', v_key USING ERRCODE = '22023',
				HINT = 'Options are trace_id, depth, cost, timeout, parent_task and inbound.';
		END IF;
	END LOOP;
	IF options ? 'parent_task' AND options ? 'inbound' THEN
		RAISE EXCEPTION 'a2a.send: give parent_task or inbound, not both' USING ERRCODE = '22023';
	END IF;
	-- With a parent, depth is the parent's plus one: a caller cannot reset its own depth to
	-- slip under a2a.max_depth.
	IF (options ? 'parent_task' OR options ? 'inbound') AND options ? 'depth' THEN
		RAISE EXCEPTION 'a2a.send: depth is derived from %, not given', CASE WHEN options ? 'inbound'
			THEN 'inbound' ELSE 'parent_task' END USING ERRCODE = '22023';
	END IF;
	v_trace := (options->>'trace_id')::uuid;
	v_depth := coalesce((options->>'depth')::integer, 0) + 1;
	IF options ? 'parent_task' THEN
		-- Only a task the caller may see (a2a.task's rule) can be a parent.
		SELECT * INTO v_parent FROM a2a.tasks t WHERE t.id = (options->>'parent_task')::uuid
			AND pg_has_role(session_user, t.owner, 'MEMBER');
		IF NOT FOUND THEN
			RAISE EXCEPTION 'a2a.send: parent_task % does not exist', options->>'parent_task'
				USING ERRCODE = '42704';
		END IF;
		IF v_trace IS NOT NULL AND v_trace <> v_parent.trace_id THEN
			RAISE EXCEPTION 'a2a.send: trace_id % is not parent_task''s trace %', v_trace,
				v_parent.trace_id USING ERRCODE = '22023';
		END IF;
		v_trace := v_parent.trace_id;
		v_depth := v_parent.depth + 1;
	ELSIF options ? 'inbound' THEN
		-- The metadata of the message this work arrived with: its task_id is the sender's
		-- task, which this one serves. Nothing here can be checked, only recorded.
		v_inbound := a2a._inbound(options->'inbound');
		IF jsonb_typeof(v_inbound) <> 'object' THEN
			RAISE EXCEPTION 'a2a.send: inbound must be the received message''s metadata object'
				USING ERRCODE = '22023';
		END IF;
		IF jsonb_typeof(v_inbound->'depth') NOT IN ('number', 'null')
				OR jsonb_typeof(v_inbound->'task_id') NOT IN ('string', 'null')
				OR jsonb_typeof(v_inbound->'trace_id') NOT IN ('string', 'null') THEN
			RAISE EXCEPTION 'a2a.send: inbound trace_id and task_id must be strings, depth a number'
				USING ERRCODE = '22023';
		END IF;
		IF v_trace IS NOT NULL AND v_trace IS DISTINCT FROM (v_inbound->>'trace_id')::uuid THEN
			RAISE EXCEPTION 'a2a.send: trace_id % is not the inbound trace %', v_trace,
				coalesce(v_inbound->>'trace_id', 'none') USING ERRCODE = '22023';
		END IF;
		v_trace := (v_inbound->>'trace_id')::uuid;
		v_depth := coalesce((v_inbound->>'depth')::integer, 0) + 1;
		v_remote_parent := v_inbound->>'task_id';
		IF octet_length(v_remote_parent) > 1024 THEN
			RAISE EXCEPTION 'a2a.send: inbound task_id is longer than 1024 bytes' USING ERRCODE = '22023';
		END IF;
	END IF;
	v_trace := coalesce(v_trace, gen_random_uuid());
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
	-- What an agent relays to keep one trace: the receiver passes this object back as
	-- inbound (task_id becomes its task's parent).
	v_message := jsonb_set(v_message, '{metadata}', coalesce(v_message->'metadata', '{}')
		|| jsonb_strip_nulls(jsonb_build_object('trace_id', v_trace, 'depth', v_depth,
			'task_id', v_id, 'parent_task', coalesce(v_parent.id::text, v_remote_parent)))
		|| CASE WHEN v_inbound->'ruvector' ? 'context' THEN jsonb_build_object('ruvector',
			jsonb_build_object('context', v_inbound->'ruvector'->'context')) ELSE '{}' END);

	-- The trace's budget: depth bounds a chain, these a fan-out too. Refused outright, like
	-- depth: the task would be one more link of a runaway delegation, not a late one.
	PERFORM pg_advisory_xact_lock(hashtext('a2a.trace:' || v_trace));
	SELECT count(*), coalesce(sum(t.cost), 0) INTO v_n, v_spent FROM a2a.tasks t
		WHERE t.trace_id = v_trace AND coalesce(t.reason, '') NOT LIKE 'budget exceeded%';
	IF v_n >= current_setting('a2a.max_trace_tasks')::integer THEN
		RAISE EXCEPTION 'a2a.send: trace % already holds % tasks (a2a.max_trace_tasks)', v_trace, v_n
			USING ERRCODE = '54000',
			HINT = 'A superuser raises a2a.max_trace_tasks if a trace is meant to hold more.';
	END IF;
	v_limit := current_setting('a2a.max_trace_cost')::integer;
	IF v_limit > 0 AND v_spent + v_cost > v_limit THEN
		RAISE EXCEPTION 'a2a.send: trace % has spent % of % cost units, this task costs % (a2a.max_trace_cost)',
			v_trace, v_spent, v_limit, v_cost USING ERRCODE = '54000',
			HINT = 'A superuser raises a2a.max_trace_cost if a trace is meant to spend more.';
	END IF;

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

	INSERT INTO a2a.tasks (id, agent, message, state, trace_id, depth, cost, deadline, owner, reason,
		parent_task, remote_parent)
	VALUES (v_id, a.name, v_message, CASE WHEN v_reason IS NULL THEN 'queued' ELSE 'failed' END,
		v_trace, v_depth, v_cost, v_timeout, v_owner, v_reason, v_parent.id, v_remote_parent);
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
