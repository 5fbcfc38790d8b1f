-- ruvector 0.4.0 -> 0.5.0 (ALTER EXTENSION ruvector UPDATE): rulake.publish_bundle takes
-- options (pii_policy, lineage_id, generation, format), rulake.verify_bundle also reads the
-- Rust RuVector's bundles, and rulake.stats() reports evictions and
-- the last search (docs/rulake.md). tests/server/upgrade.sh checks that an updated 0.4.0
-- matches a fresh 0.5.0 install.
\echo Use "ALTER EXTENSION ruvector UPDATE TO '0.5.0'" to load this file. \quit

-- A new parameter and a new result column change the functions' signatures: replace them.
-- Neither has grants of its own, and nothing in the extension depends on them. (A view of
-- the user's over rulake.stats() would stop the DROP with a dependency error: drop it,
-- update, and create it again.)
DROP FUNCTION rulake.publish_bundle(text, text);
-- options: pii_policy, lineage_id (strings) and generation (a number or a string, e.g. an
-- Iceberg snapshot id); the defaults are "", the collection's name and the table's generation.
CREATE FUNCTION rulake.publish_bundle(collection text, dir text, options jsonb DEFAULT '{}')
	RETURNS jsonb
	AS 'MODULE_PATHNAME', 'rulake_publish_bundle' LANGUAGE C STRICT;
COMMENT ON FUNCTION rulake.publish_bundle(text, text, jsonb) IS 'write a collection''s rows as a bundle under rulake.bundle_root, atomically; options set pii_policy, lineage_id, generation and format (native or ruvector-rust)';
-- Same signature; the answer gained witness_scheme and data_authenticated.
COMMENT ON FUNCTION rulake.verify_bundle(text) IS 'verify a bundle''s witness and data, in this extension''s or the Rust RuVector''s format; its fields, witness_scheme and data_authenticated as jsonb';

DROP FUNCTION rulake.stats();
CREATE FUNCTION rulake.stats()
	RETURNS TABLE (collection text, witness text, consistency text, state text, primes bigint,
		hits bigint, misses bigint, hit_rate double precision, bytes bigint, last_primed timestamptz,
		last_error text, evictions bigint, last_searched timestamptz)
	AS 'MODULE_PATHNAME', 'rulake_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION rulake.stats() IS 'per collection: cache state, primes, hits, misses, bytes, last error, evictions, last search';
