-- Routing by skill (a2a.route, a2a.skills) and causal traces (parent_task, inbound,
-- a2a.trace, the trace budgets) without a network: agents are inserted as register_agent
-- would store them, and the dispatch worker does not serve this database, so tasks stay
-- queued. The exchange with a real peer is tests/server/a2a_dispatch.sh.
SET client_min_messages = error;

CREATE FUNCTION pg_temp.card(skills jsonb, defaults jsonb DEFAULT '["text/plain"]') RETURNS jsonb
	LANGUAGE sql AS $$ SELECT jsonb_build_object('name', 'x', 'skills', skills,
		'defaultInputModes', defaults, 'defaultOutputModes', defaults) $$;
INSERT INTO a2a.agents (name, base_url, card, rpc_url, protocol_version, streaming, owner)
SELECT n, 'http://127.0.0.1:9', c, 'http://127.0.0.1:9/rpc', '1.0', false,
	(SELECT oid FROM pg_roles WHERE rolname = current_user)
FROM (VALUES
	('sum_b', pg_temp.card('[{"id": "summarise", "name": "Summarise", "tags": ["text", "nlp"]}]')),
	('sum_a', pg_temp.card('[{"id": "summarise", "name": "Summarise", "tags": ["text", "nlp"]}]')),
	('img', pg_temp.card('[{"id": "caption", "tags": ["vision"], "inputModes": ["IMAGE/PNG"],
		"outputModes": ["text/plain"]}, {"id": "ocr", "tags": ["vision", "text"]}]')),
	-- hostile or sparse cards: no skills, skills not an array, a skill that is not an object
	('bare', '{"name": "bare"}'),
	('odd', '{"skills": {"id": "summarise"}}'),
	('odd2', pg_temp.card('["summarise", {"id": "translate", "tags": "nlp"}]'))
) v(n, c);

-- every skill, modes falling back to the card's defaults, lower-cased
SELECT agent, skill, tags, input_modes, output_modes FROM a2a.skills ORDER BY agent, skill;

-- selectors
SELECT a2a.route('{"skill": "caption"}');
SELECT a2a.route('{"tags": ["vision", "text"]}');
SELECT a2a.route('{"tags": "vision", "input_modes": ["image/png"]}');
SELECT a2a.route('{"skill": "translate"}');
-- tie-break: sum_a and sum_b both offer it; with no tasks in flight, the name decides...
SELECT a2a.route('{"skill": "summarise", "output_modes": "text/plain"}');
-- ...and sum_a with a task in flight loses to sum_b
SELECT a2a.send('sum_a', 'one') IS NOT NULL AS sent;
SELECT a2a.route('{"skill": "summarise"}');
SELECT a2a.send(a2a.route('{"skill": "summarise"}'), 'two') IS NOT NULL AS sent;
SELECT agent, count(*) FROM a2a.tasks GROUP BY agent ORDER BY agent;
-- a tie again: the name
SELECT a2a.route('{"skill": "summarise"}');
-- nothing offers it; a mode no skill accepts; malformed selectors
SELECT a2a.route('{"skill": "translate", "tags": ["vision"]}');
SELECT a2a.route('{"skill": "caption", "input_modes": ["audio/wav"]}');
SELECT a2a.route('{}');
SELECT a2a.route('{"colour": "red"}');
SELECT a2a.route('{"skill": 1}');
SELECT a2a.route('{"tags": [1]}');
SELECT a2a.route('"summarise"');
SELECT a2a.route(NULL);

-- permission: another role sees and routes to granted agents only
CREATE ROLE a2a_route_user;
SET SESSION AUTHORIZATION a2a_route_user;
SELECT count(*) FROM a2a.skills;
SELECT a2a.route('{"skill": "summarise"}');
RESET SESSION AUTHORIZATION;
SELECT a2a.grant_agent('sum_b', 'a2a_route_user');
SET SESSION AUTHORIZATION a2a_route_user;
SELECT agent, skill FROM a2a.skills;
-- sum_b has a task in flight and sum_a none, but sum_a is not this role's to use
SELECT a2a.route('{"skill": "summarise"}');
SELECT a2a.route('{"skill": "caption"}');
RESET SESSION AUTHORIZATION;
SELECT a2a.revoke_agent('sum_b', 'a2a_route_user');
DELETE FROM a2a.tasks;

-- causal trees: a parent's trace and depth are inherited, not declared
SELECT a2a.send('sum_a', 'root', '{"trace_id": "00000000-0000-0000-0000-00000000000a"}') AS root \gset
SELECT a2a.send('sum_b', 'child', jsonb_build_object('parent_task', :'root')) AS child \gset
SELECT a2a.send('img', 'grandchild', jsonb_build_object('parent_task', :'child')) AS grandchild \gset
SELECT a2a.send('sum_b', 'second child', jsonb_build_object('parent_task', :'root', 'cost', 3)) AS child2 \gset
SELECT t.task = :'root' AS is_root, t.task = :'child' AS is_child, t.task = :'grandchild' AS is_grandchild,
	t.parent_task = :'root' AS parent_is_root, t.parent_task = :'child' AS parent_is_child,
	t.agent, t.state, t.depth, t.cost
FROM a2a.trace('00000000-0000-0000-0000-00000000000a') t;
-- what travels: the trace, the depth, the task's own id and its parent's
SELECT message->'metadata'->>'trace_id' AS trace, message->'metadata'->>'depth' AS depth,
	message->'metadata'->>'task_id' = id::text AS task_id,
	message->'metadata'->>'parent_task' = :'child' AS parent
FROM a2a.tasks WHERE id = :'grandchild';
SELECT a2a.task(:'grandchild')->>'parent_task' = :'child' AS task_shows_parent;
-- a declared depth or another trace with a parent is refused; so is an unknown parent
SELECT a2a.send('sum_a', 'x', jsonb_build_object('parent_task', :'root', 'depth', 0));
SELECT a2a.send('sum_a', 'x', jsonb_build_object('parent_task', :'root',
	'trace_id', '00000000-0000-0000-0000-00000000000b'));
SELECT a2a.send('sum_a', 'x', '{"parent_task": "00000000-0000-0000-0000-000000000000"}');
SELECT a2a.send('sum_a', 'x', '{"parent_task": "nope"}');
-- the chain still stops at a2a.max_depth
SET a2a.max_depth = 3;
SELECT a2a.send('sum_a', 'too deep', jsonb_build_object('parent_task', :'grandchild'));
RESET a2a.max_depth;

-- inbound: the metadata of a message this database received from a peer. Its task_id is
-- recorded as the remote parent; its trace and depth carry on.
SELECT a2a.send('sum_a', 'relayed', '{"inbound": {"trace_id": "00000000-0000-0000-0000-00000000000c",
	"depth": 4, "task_id": "remote-task-17", "other": "ignored"}}') AS relayed \gset
SELECT parent_task, remote_parent, depth, trace_id, message->'metadata'->>'parent_task' AS sent_parent
FROM a2a.tasks WHERE id = :'relayed';
SELECT a2a.send('sum_b', 'and on', jsonb_build_object('parent_task', :'relayed')) AS on \gset
SELECT t.task = :'relayed' AS is_relayed, t.parent_task = :'relayed' AS child_of_relayed, t.remote_parent, t.depth
FROM a2a.trace('00000000-0000-0000-0000-00000000000c') t;
SELECT a2a.send('sum_a', 'x', '{"inbound": "metadata"}');
SELECT a2a.send('sum_a', 'x', '{"inbound": {"depth": "4"}}');
SELECT a2a.send('sum_a', 'x', '{"inbound": {"depth": -3}}');
SELECT a2a.send('sum_a', 'x', '{"inbound": {"depth": 1}, "depth": 1}');
SELECT a2a.send('sum_a', 'x', '{"inbound": {}, "parent_task": "00000000-0000-0000-0000-000000000000"}');
SELECT a2a.send('sum_a', 'x', '{"inbound": {"trace_id": "00000000-0000-0000-0000-00000000000c"},
	"trace_id": "00000000-0000-0000-0000-00000000000d"}');
SELECT a2a.send('sum_a', 'x', jsonb_build_object('inbound', jsonb_build_object('task_id', repeat('x', 1025))));

-- trace budgets: the trace of :root holds 4 tasks costing 6
SET a2a.max_trace_tasks = 4;
SELECT a2a.send('sum_a', 'fifth', jsonb_build_object('parent_task', :'root'));
SET a2a.max_trace_tasks = 5;
SET a2a.max_trace_cost = 8;
SELECT a2a.send('sum_a', 'costly', jsonb_build_object('parent_task', :'root', 'cost', 3));
SELECT a2a.send('sum_a', 'fits', jsonb_build_object('parent_task', :'root', 'cost', 2)) IS NOT NULL AS sent;
SELECT count(*), sum(cost) FROM a2a.trace('00000000-0000-0000-0000-00000000000a');
-- another trace is not held to this one's budget
SELECT a2a.send('sum_a', 'elsewhere', '{"cost": 3}') IS NOT NULL AS sent;
RESET a2a.max_trace_tasks;
RESET a2a.max_trace_cost;

-- visibility: another role sees none of the trace, and cannot hang a task under it even
-- when it may use the agent
SELECT a2a.grant_agent('sum_b', 'a2a_route_user');
SET SESSION AUTHORIZATION a2a_route_user;
SELECT count(*) FROM a2a.trace('00000000-0000-0000-0000-00000000000a');
SELECT set_config('regress.root', :'root', false) IS NOT NULL AS set;
DO $$
BEGIN
	PERFORM a2a.send('sum_b', 'x', jsonb_build_object('parent_task', current_setting('regress.root')));
EXCEPTION WHEN undefined_object THEN
	RAISE EXCEPTION 'another role''s task is invisible: %', SQLERRM ~ '^a2a.send: parent_task .* does not exist$';
END
$$;
-- the budget settings are a superuser's
SET a2a.max_trace_tasks = 100000;
SET a2a.max_trace_cost = 0;
RESET SESSION AUTHORIZATION;
SELECT a2a.revoke_agent('sum_b', 'a2a_route_user');
DROP ROLE a2a_route_user;
-- inbound from a draft (rvagent-a2a) agent: the trace is in ruvector.context (hex trace id,
-- depth, parent_task_id); the context is kept in the metadata for the next draft hop.
SELECT a2a.send('sum_a', 'from rust', '{"inbound": {"ruvector": {"context": {
	"trace_id": "0000000000000000000000000000000d", "depth": 2, "parent_task_id": "rust-task-3",
	"root_agent_id": "r", "current_agent": "b", "visited_agents": ["a"]}}}}') AS rust \gset
SELECT trace_id, depth, remote_parent, message->'metadata'->'ruvector'->'context'->'visited_agents' AS visited
FROM a2a.tasks WHERE id = :'rust';
-- our flat fields win over the context (an agent relaying both)
SELECT a2a.send('sum_a', 'both', '{"inbound": {
	"trace_id": "00000000-0000-0000-0000-00000000000d", "depth": 5, "task_id": "ours",
	"ruvector": {"context": {"trace_id": "0000000000000000000000000000000d", "depth": 2}}}}') AS both \gset
SELECT depth, remote_parent FROM a2a.tasks WHERE id = :'both';
SELECT a2a.send('sum_a', 'x', jsonb_build_object('inbound', jsonb_build_object('ruvector',
	jsonb_build_object('context', jsonb_build_object('visited_agents', to_jsonb(array_fill('x'::text, ARRAY[3000])))))));
DELETE FROM a2a.agents;
