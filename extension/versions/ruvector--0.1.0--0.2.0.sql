-- ruvector 0.1.0 -> 0.2.0 (ALTER EXTENSION ruvector UPDATE). tests/server/upgrade.sh checks
-- that an updated 0.1.0 has exactly the objects and definitions of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.2.0'" to load this file. \quit

-- Batch search, served on a GPU under ruvector.gpu (new GUCs need no SQL).
CREATE FUNCTION rulake.search_batch(name text, queries @extschema@.ruvector[], k integer,
		rerank_factor integer DEFAULT NULL)
	RETURNS TABLE (query integer, rank integer, id bigint, distance real)
	AS 'MODULE_PATHNAME', 'rulake_search_batch' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.search_batch(text, @extschema@.ruvector[], integer, integer) IS 'k nearest rows of a collection for each of many queries, in one scan (on a GPU under ruvector.gpu)';
