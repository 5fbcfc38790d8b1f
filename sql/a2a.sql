-- A2A dispatch, the SQL surface without a network: argument checks, refused hosts,
-- message validation, budgets and depth, cancel before sending, wait and task. The
-- dispatch worker serves a2a.database only, so tasks queued here are never sent; the
-- exchange with real peers is tests/server/a2a_dispatch.sh.
-- (errors only: a refused task's WARNING names its random id)
SET client_min_messages = error;

-- registration: names, options, hosts
SELECT a2a.register_agent('1bad', 'http://127.0.0.1:9/');
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/', '{"colour": "red"}');
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/', '{"headers": "x"}');
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/', '{"headers": {"X-Key": "a\nb"}}');
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/', '{"timeout": "soon"}');
SELECT a2a.register_agent('a', NULL);
SET a2a.allowed_hosts = '';
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/');
SELECT a2a.register_agent('a', 'file:///etc/passwd');
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/?x=1');
RESET a2a.allowed_hosts;

-- messages
SELECT a2a._normalize_message('"hi"');
SELECT a2a._normalize_message('{"parts": [{"data": {"k": 1}}], "metadata": {"m": true}}');
SELECT a2a._normalize_message('{"parts": []}');
SELECT a2a._normalize_message('{"parts": [{"text": 1}]}');
SELECT a2a._normalize_message('{"parts": [{"text": "a", "data": {}}]}');
SELECT a2a._normalize_message('{"parts": [{"file": {"name": "x"}}]}');
SELECT a2a._normalize_message('{"parts": [{"text": "a"}], "role": "agent"}');
SELECT a2a._normalize_message('[1]');

-- an agent as register_agent would store it (no network here)
INSERT INTO a2a.agents (name, base_url, card, rpc_url, protocol_version, streaming, options, owner)
VALUES ('local', 'http://127.0.0.1:9', '{"name": "local"}', 'http://127.0.0.1:9/rpc', '1.0',
	false, '{"max_in_flight": 2}', (SELECT oid FROM pg_roles WHERE rolname = current_user));

SELECT a2a.send('missing', 'hi');
SELECT a2a.send('local', 'hi', '{"priority": 1}');
SELECT a2a.send('local', 'hi', '{"depth": 8, "trace_id": "00000000-0000-0000-0000-000000000002"}');
SELECT a2a.send('local', 'hi', '{"depth": -2}');
SELECT a2a.send('local', '{"parts": "no"}'::jsonb);
-- a task's time limit is capped by a2a.task_timeout (5 min here)
SELECT a2a.send('local', 'hi', '{"timeout": "1000 years"}');
SELECT a2a.send('local', 'hi', '{"timeout": "-1 s"}');
SELECT a2a.register_agent('a', 'http://127.0.0.1:9/', '{"timeout": "1 day"}');
-- grants: roles must exist; only the owner grants
SELECT a2a.grant_agent('local', 'no_such_role');
SELECT a2a.grant_agent('missing', 'public');
SELECT a2a.grant_agent('local', 'public');
SELECT a2a.grant_agent('local', 'public');
SELECT grantee FROM a2a.agent_grants WHERE agent = 'local';
SELECT a2a.revoke_agent('local', 'PUBLIC');
SELECT count(*) FROM a2a.agent_grants;

-- two tasks fill max_in_flight; the third is recorded as failed with the reason
SELECT a2a.send('local', 'one', '{"trace_id": "00000000-0000-0000-0000-000000000001"}') AS t1 \gset
SELECT a2a.send('local', 'two') AS t2 \gset
SELECT a2a.send('local', 'three') AS t3 \gset
SELECT state, reason FROM a2a.tasks WHERE id = :'t3';
SELECT seq, kind, state, payload->>'reason' AS reason FROM a2a.task_events WHERE task_id = :'t3';
SELECT message #- '{metadata,task_id}' AS message, message #>> '{metadata,task_id}' = id::text AS task_id,
	depth, trace_id FROM a2a.tasks WHERE id = :'t1';

-- cancel before sending; cancel again; unknown task
SELECT a2a.cancel(:'t1');
SELECT a2a.cancel(:'t1');
SELECT a2a.cancel('00000000-0000-0000-0000-000000000000');
SELECT t - 'created' - 'updated' - 'id' - 'trace_id' FROM a2a.task(:'t1') t;

-- wait: a finished task at once, an open one until the timeout, and isolation
SELECT a2a.wait(:'t1', '1 s')->>'state';
SELECT a2a.wait(:'t2', '0.1 s')->>'state';
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT a2a.wait(:'t2', '0.1 s');
ROLLBACK;

-- settings that protect others are superuser-only; a user sees only their own tasks
CREATE ROLE a2a_regress_user;
SET SESSION AUTHORIZATION a2a_regress_user;
SET a2a.max_depth = 100;
SET a2a.allowed_hosts = '*';
SELECT count(*) FROM a2a.tasks;
SELECT set_config('regress.t2', :'t2', false) IS NOT NULL AS set;
DO $$
BEGIN
	PERFORM a2a.cancel(current_setting('regress.t2')::uuid);
EXCEPTION WHEN undefined_object THEN
	RAISE EXCEPTION 'another role''s task is invisible: %', SQLERRM ~ 'does not exist';
END
$$;
RESET SESSION AUTHORIZATION;
SELECT state FROM a2a.tasks WHERE id = :'t2';
DROP ROLE a2a_regress_user;
DELETE FROM a2a.agents WHERE name = 'local';
SELECT count(*) FROM a2a.tasks;
