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
	protocol_version text NOT NULL CHECK (protocol_version IN ('1.0', '0.3', 'draft')),
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
	interruptions integer NOT NULL DEFAULT 0,  -- worker stops while it was in flight
	-- The task this one was sent for (a2a.trace): one of this database, or the id a peer's
	-- inbound metadata named. No foreign key: a dump restores rows in any order.
	parent_task uuid,
	remote_parent text
);
CREATE INDEX tasks_open ON a2a.tasks (next_attempt)
	WHERE state NOT IN ('completed', 'canceled', 'failed', 'rejected');
CREATE INDEX tasks_agent_created ON a2a.tasks (agent, created);
-- The per-role budgets of a2a.send count a role's recent and open tasks.
CREATE INDEX tasks_owner_created ON a2a.tasks (owner, created);
-- a2a.trace and the trace budgets of a2a.send read a trace's tasks.
CREATE INDEX tasks_trace ON a2a.tasks (trace_id);
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
COMMENT ON FUNCTION a2a.send(text, jsonb, jsonb) IS 'queue a task for an agent; sent by the a2a worker once the transaction commits';

CREATE FUNCTION a2a.send(agent text, message text, options jsonb DEFAULT '{}') RETURNS uuid
	LANGUAGE sql
AS $$ SELECT a2a.send(agent, to_jsonb(message), options) $$;

CREATE FUNCTION a2a.task(id uuid) RETURNS jsonb
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
-- receiver checks the bundle against the witness and registers it
-- (rulake.register_from_part). version: 1.0 had no version field and no "bundle"; 1.1
-- adds the directory, relative to rulake.bundle_root. A new major version is one an older
-- reader must refuse.
CREATE FUNCTION a2a.rulake_part(bundle_dir text) RETURNS jsonb
	LANGUAGE sql STRICT
AS $$
	SELECT jsonb_build_object('data', jsonb_build_object('version', '1.1', 'bundle', bundle_dir,
			'rulake_witness', b - 'valid'),
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
