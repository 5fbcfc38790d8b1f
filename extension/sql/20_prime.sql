-- Prime helpers: deterministic 64-bit primality, next/previous prime, primes below 2^k,
-- and the shard router used by federated search.

CREATE FUNCTION is_prime(bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ruvector_is_prime_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION is_prime(numeric) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ruvector_is_prime_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION next_prime(bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ruvector_next_prime_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION next_prime(numeric) RETURNS numeric
	AS 'MODULE_PATHNAME', 'ruvector_next_prime_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prev_prime(bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'ruvector_prev_prime_bigint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prev_prime(numeric) RETURNS numeric
	AS 'MODULE_PATHNAME', 'ruvector_prev_prime_numeric' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prime_near_pow2(integer) RETURNS numeric
	AS 'MODULE_PATHNAME', 'ruvector_prime_near_pow2' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- integer overloads: without them an integer literal is ambiguous between bigint and numeric.
CREATE FUNCTION is_prime(integer) RETURNS boolean
	AS 'SELECT is_prime($1::bigint)' LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION next_prime(integer) RETURNS bigint
	AS 'SELECT next_prime($1::bigint)' LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION prev_prime(integer) RETURNS bigint
	AS 'SELECT prev_prime($1::bigint)' LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION shard_of(key bigint, shards integer) RETURNS integer
	AS 'MODULE_PATHNAME', 'ruvector_shard_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION is_prime(bigint) IS 'deterministic primality test; false for negative numbers';
COMMENT ON FUNCTION is_prime(numeric) IS 'deterministic primality test for integers in [0, 2^64)';
COMMENT ON FUNCTION next_prime(bigint) IS 'smallest prime greater than the argument';
COMMENT ON FUNCTION next_prime(numeric) IS 'smallest prime greater than the argument, up to 2^64 - 59';
COMMENT ON FUNCTION prev_prime(bigint) IS 'largest prime less than the argument (argument >= 3)';
COMMENT ON FUNCTION prev_prime(numeric) IS 'largest prime less than the argument (argument >= 3)';
COMMENT ON FUNCTION is_prime(integer) IS 'deterministic primality test; false for negative numbers';
COMMENT ON FUNCTION next_prime(integer) IS 'smallest prime greater than the argument';
COMMENT ON FUNCTION prev_prime(integer) IS 'largest prime less than the argument (argument >= 3)';
COMMENT ON FUNCTION prime_near_pow2(integer) IS 'largest prime below 2^k, 2 <= k <= 64';
COMMENT ON FUNCTION shard_of(bigint, integer) IS 'stable shard in [0, shards) for a key: splitmix64 hash reduced modulo the smallest prime >= shards, with rejection';
