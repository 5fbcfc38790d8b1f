-- The A2A endpoint's SQL surface without a server: its settings (off by default), tokens
-- (shown once, stored hashed), who may create and revoke them, and the cleanup on DROP
-- ROLE. tests/server/a2a_endpoint.sh serves requests.
SHOW a2a.endpoint_port;
SHOW a2a.listen_address;
SHOW a2a.endpoint_statement_timeout;
SHOW a2a.endpoint_max_request_size;
SHOW a2a.endpoint_max_k;
SET a2a.endpoint_port = 8432;
SET a2a.endpoint_max_k = 5;

CREATE ROLE a2aep_regress_alice LOGIN;
CREATE ROLE a2aep_regress_bob LOGIN;
CREATE ROLE a2aep_regress_admin LOGIN;
GRANT a2aep_regress_alice TO a2aep_regress_admin WITH ADMIN OPTION;

SELECT a2a.create_endpoint_token('a2aep_regress_alice', now() + interval '1 day', 'regress') AS t \gset
SELECT :'t' ~ '^rva2a_[A-Za-z0-9_-]{43}$' AS shaped;
SELECT role, label, created_by, expires > now() AS expires_later,
       token_hash = sha256(convert_to(:'t', 'UTF8')) AS hashed
FROM a2a.endpoint_tokens WHERE label = 'regress';
-- a second token differs
SELECT a2a.create_endpoint_token('a2aep_regress_alice') <> :'t' AS fresh;
SELECT a2a.create_endpoint_token(NULL);
\set VERBOSITY terse
SELECT a2a.create_endpoint_token('a2aep_regress_alice', now() - interval '1 s');
\set VERBOSITY default
SELECT a2a.create_endpoint_token('no_such_role_a2aep');
SELECT a2a.revoke_endpoint_token(-1);

-- a role mints for itself, not for another; an admin of a role mints for it, not for a
-- superuser; each sees only the tokens it may manage, never their hashes
SET SESSION AUTHORIZATION a2aep_regress_bob;
SELECT length(a2a.create_endpoint_token('a2aep_regress_bob')) AS length;
SELECT a2a.create_endpoint_token('a2aep_regress_bob', label => 'kept') IS NOT NULL AS minted;
SELECT a2a.create_endpoint_token('a2aep_regress_alice');
SELECT role FROM a2a.endpoint_tokens ORDER BY id;
SELECT token_hash FROM a2a.endpoint_tokens;
SELECT a2a.revoke_endpoint_token(id) FROM a2a.endpoint_tokens WHERE label IS NULL;
SET SESSION AUTHORIZATION a2aep_regress_admin;
SELECT a2a.create_endpoint_token('a2aep_regress_alice') IS NOT NULL AS minted;
SELECT a2a.create_endpoint_token(current_user::regrole) IS NOT NULL AS own;
SELECT a2a.create_endpoint_token((SELECT rolname FROM pg_roles WHERE oid = 10)::regrole);
SELECT role, count(*) FROM a2a.endpoint_tokens GROUP BY role ORDER BY role;
SELECT a2a.revoke_endpoint_token((SELECT min(id) FROM a2a.endpoint_tokens
	WHERE role = 'a2aep_regress_alice'::regrole)) AS revoked;
SET SESSION AUTHORIZATION a2aep_regress_alice;
SELECT count(*) FROM a2a.endpoint_tokens;
SELECT count(*) AS bobs_visible FROM a2a.endpoint_tokens WHERE label = 'kept';
RESET SESSION AUTHORIZATION;
SELECT set_config('regress.bob_token', (SELECT id::text FROM a2a.endpoint_tokens
	WHERE label = 'kept'), false) IS NOT NULL AS set;
SET SESSION AUTHORIZATION a2aep_regress_alice;
DO $$
BEGIN
	PERFORM a2a.revoke_endpoint_token(current_setting('regress.bob_token')::bigint);
EXCEPTION WHEN insufficient_privilege THEN
	RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, 'token [0-9]+', 'token N');
END
$$;
RESET SESSION AUTHORIZATION;
SELECT role, count(*) FROM a2a.endpoint_tokens GROUP BY role ORDER BY role;

-- a dropped role's tokens go with it (DROP OWNED, then DROP ROLE)
DROP OWNED BY a2aep_regress_bob;
SELECT count(*) FROM a2a.endpoint_tokens WHERE role = 'a2aep_regress_bob'::regrole;
DROP ROLE a2aep_regress_admin;
DROP ROLE a2aep_regress_bob;
DROP ROLE a2aep_regress_alice;
SELECT count(*) FROM a2a.endpoint_tokens;
