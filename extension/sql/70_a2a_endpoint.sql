
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
