-- Prime helpers: primality at the edges of each deterministic base set, next/prev prime
-- in both overloads, primes below 2^k, the shard router's pinned mapping, and bad input.

-- small numbers and the integer, bigint and numeric overloads
SELECT n, is_prime(n) FROM generate_series(-3, 12) AS n;
SELECT is_prime(2147483647), is_prime(2147483647::bigint), is_prime(2147483647::numeric);
-- strong pseudoprimes to the bases of the smaller deterministic sets: all composite
SELECT n, is_prime(n) FROM (VALUES (1373653::bigint), (25326001), (3215031751),
  (4759123141), (1122004669633), (3825123056546413051)) AS t(n);
-- Carmichael numbers and a square of a prime
SELECT is_prime(561), is_prime(41041), is_prime(4294967291::numeric * 4294967291);
-- the largest primes of each width
SELECT is_prime(9223372036854775783), is_prime(9223372036854775807);
SELECT is_prime(18446744073709551557::numeric), is_prime(18446744073709551615::numeric);
SELECT is_prime(18446744073709551557.000);

-- next and previous primes
SELECT next_prime(-10), next_prime(0), next_prime(1), next_prime(2), next_prime(13), next_prime(24);
SELECT prev_prime(3), prev_prime(4), prev_prime(100), prev_prime(9223372036854775807);
SELECT next_prime(9223372036854775782), next_prime(9223372036854775782::numeric);
SELECT next_prime(9223372036854775783::numeric), prev_prime(18446744073709551615::numeric);
SELECT next_prime(18446744073709551556::numeric);
-- gaps: every prime below 200 is reached by next_prime from the one before
WITH RECURSIVE p(x) AS (SELECT 2::bigint UNION ALL SELECT next_prime(x) FROM p WHERE x < 190)
SELECT count(*), bool_and(is_prime(x)), max(x) FROM p;
SELECT count(*) FROM generate_series(1, 1000) AS n WHERE is_prime(n);

-- primes below 2^k
SELECT k, prime_near_pow2(k) FROM generate_series(2, 10) AS k;
SELECT prime_near_pow2(31), prime_near_pow2(32), prime_near_pow2(63), prime_near_pow2(64);
SELECT bool_and(is_prime(prime_near_pow2(k)) AND prime_near_pow2(k) < 2::numeric ^ k
                AND next_prime(prime_near_pow2(k)) > 2::numeric ^ k)
  FROM generate_series(2, 63) AS k;

-- shard_of: pinned values (the mapping is a stable contract), range and balance
SELECT key, shard_of(key, 10) FROM (VALUES (0::bigint), (1), (42), (-1),
  (9223372036854775807), (-9223372036854775808)) AS t(key);
SELECT shards, min(s), max(s), count(DISTINCT s)
  FROM (SELECT shards, shard_of(key, shards) AS s
          FROM generate_series(1, 5000) AS key, (VALUES (1), (2), (3), (7), (16)) AS t(shards)) q
  GROUP BY shards ORDER BY shards;
-- each of 8 shards gets between 10% and 15% of 8000 keys
SELECT bool_and(c BETWEEN 800 AND 1200) FROM
  (SELECT shard_of(key, 8) AS s, count(*) AS c FROM generate_series(1, 8000) AS key GROUP BY 1) q;

-- bad input
SELECT is_prime(-1::numeric);
SELECT is_prime(18446744073709551616::numeric);
SELECT is_prime(2.5);
SELECT is_prime('NaN'::numeric);
SELECT next_prime(9223372036854775783);
SELECT next_prime(18446744073709551557::numeric);
SELECT prev_prime(2);
SELECT prev_prime(-5);
SELECT prev_prime(2::numeric);
SELECT prime_near_pow2(1);
SELECT prime_near_pow2(65);
SELECT shard_of(1, 0);
SELECT is_prime(NULL::bigint), next_prime(NULL::numeric);
