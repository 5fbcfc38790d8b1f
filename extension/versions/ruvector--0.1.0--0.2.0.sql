-- ruvector 0.1.0 -> 0.2.0 (ALTER EXTENSION ruvector UPDATE). tests/server/upgrade.sh checks
-- that an updated 0.1.0 has exactly the objects and definitions of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.2.0'" to load this file. \quit

-- Batch search, served on a GPU under ruvector.gpu (new GUCs need no SQL).
CREATE FUNCTION rulake.search_batch(name text, queries @extschema@.ruvector[], k integer,
		rerank_factor integer DEFAULT NULL)
	RETURNS TABLE (query integer, rank integer, id bigint, distance real)
	AS 'MODULE_PATHNAME', 'rulake_search_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.search_batch(text, @extschema@.ruvector[], integer, integer) IS 'k nearest rows of a collection for each of many queries, in one scan (on a GPU under ruvector.gpu)';

-- Descriptions for the functions and aggregates that had none (\df+, \dx+).
COMMENT ON AGGREGATE avg(ruvector) IS 'element-wise mean, accumulated in double precision';
COMMENT ON AGGREGATE sum(ruvector) IS 'element-wise sum';
COMMENT ON FUNCTION a2a.refresh_agent(text) IS 'fetch and verify an agent''s AgentCard again, keeping its options and credentials';
COMMENT ON FUNCTION a2a.unregister_agent(text) IS 'forget an agent you own, with its tasks and credentials';
COMMENT ON FUNCTION a2a.send(text, text, jsonb) IS 'queue a task whose message is one text part';
COMMENT ON FUNCTION a2a.task(uuid) IS 'a task''s state, result and every recorded update as jsonb';
COMMENT ON FUNCTION a2a.cancel(uuid) IS 'cancel a task: at once when not sent yet, else the worker asks the peer';
COMMENT ON FUNCTION a2a.wait(uuid, interval) IS 'wait until a task reaches a final or input-required state, or the timeout; then a2a.task';

-- rulake.stats() gains last_error, why the last prime or fetch failed (a result column
-- cannot be added in place).
DROP FUNCTION rulake.stats();
CREATE FUNCTION rulake.stats()
	RETURNS TABLE (collection text, witness text, consistency text, state text, primes bigint,
		hits bigint, misses bigint, hit_rate double precision, bytes bigint, last_primed timestamptz,
		last_error text)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error';
