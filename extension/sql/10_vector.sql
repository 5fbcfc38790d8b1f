-- The ruvector type: pgvector's `vector` layout and text form, distances and arithmetic.

CREATE TYPE ruvector;

CREATE FUNCTION ruvector_in(cstring, oid, integer) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_out(ruvector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_recv(internal, oid, integer) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_send(ruvector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE main keeps a vector in its row while the row fits a page (up to ~2000
-- dimensions), so a query's projection and reranks read it without a TOAST fetch, and moves
-- wider ones out of line, where plain would refuse them (docs/sql-reference.md).
CREATE TYPE ruvector (
	INPUT     = ruvector_in,
	OUTPUT    = ruvector_out,
	TYPMOD_IN = ruvector_typmod_in,
	RECEIVE   = ruvector_recv,
	SEND      = ruvector_send,
	STORAGE   = main
);
COMMENT ON TYPE ruvector IS 'float4 vector of 1 to 16000 dimensions; same layout as pgvector''s vector';

-- Distances

CREATE FUNCTION l2_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_squared_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_squared_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION inner_product(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION negative_inner_product(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cosine_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l1_distance(ruvector, ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION l2_distance(ruvector, ruvector) IS 'Euclidean distance';
COMMENT ON FUNCTION l2_squared_distance(ruvector, ruvector) IS 'squared Euclidean distance';
COMMENT ON FUNCTION inner_product(ruvector, ruvector) IS 'inner (dot) product';
COMMENT ON FUNCTION negative_inner_product(ruvector, ruvector) IS 'inner product negated, so that smaller is closer';
COMMENT ON FUNCTION cosine_distance(ruvector, ruvector) IS '1 - cosine similarity, in [0, 2]; NaN when either vector is zero';
COMMENT ON FUNCTION l1_distance(ruvector, ruvector) IS 'taxicab (L1) distance';

-- Other functions

CREATE FUNCTION vector_dims(ruvector) RETURNS integer
	AS 'MODULE_PATHNAME', 'ruvector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_norm(ruvector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_normalize(ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME', 'ruvector_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION subvector(ruvector, integer, integer) RETURNS ruvector
	AS 'MODULE_PATHNAME', 'ruvector_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_add(ruvector, ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_sub(ruvector, ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_mul(ruvector, ruvector) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vector_dims(ruvector) IS 'number of dimensions';
COMMENT ON FUNCTION vector_norm(ruvector) IS 'Euclidean norm, computed in double precision';
COMMENT ON FUNCTION l2_normalize(ruvector) IS 'the vector scaled to unit length; a zero vector stays zero';
COMMENT ON FUNCTION subvector(ruvector, integer, integer) IS 'count elements from 1-based start, clipped to the vector like substring';

-- Typmod and array casts

CREATE FUNCTION ruvector(ruvector, integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME', 'ruvector_apply_typmod' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(integer[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(real[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(double precision[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(numeric[], integer, boolean) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_to_float4(ruvector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (ruvector AS ruvector) WITH FUNCTION ruvector(ruvector, integer, boolean) AS IMPLICIT;
CREATE CAST (ruvector AS real[]) WITH FUNCTION ruvector_to_float4(ruvector, integer, boolean) AS IMPLICIT;
CREATE CAST (integer[] AS ruvector) WITH FUNCTION array_to_ruvector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS ruvector) WITH FUNCTION array_to_ruvector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS ruvector) WITH FUNCTION array_to_ruvector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS ruvector) WITH FUNCTION array_to_ruvector(numeric[], integer, boolean) AS ASSIGNMENT;

-- Operators

CREATE OPERATOR <-> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = l2_distance, COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = negative_inner_product, COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = cosine_distance, COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = l1_distance, COMMUTATOR = '<+>'
);
CREATE OPERATOR + (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_add, COMMUTATOR = +
);
CREATE OPERATOR - (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_sub
);
CREATE OPERATOR * (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_mul, COMMUTATOR = *
);

-- Ordering: element by element, then the shorter vector first.

CREATE FUNCTION ruvector_lt(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_le(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_eq(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_ne(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_ge(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_gt(ruvector, ruvector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cmp(ruvector, ruvector) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_lt,
	COMMUTATOR = > , NEGATOR = >= ,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_le,
	COMMUTATOR = >= , NEGATOR = > ,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_eq,
	COMMUTATOR = = , NEGATOR = <> ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR <> (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_ne,
	COMMUTATOR = <> , NEGATOR = = ,
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR >= (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_ge,
	COMMUTATOR = <= , NEGATOR = < ,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
	LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_gt,
	COMMUTATOR = < , NEGATOR = <= ,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS ruvector_ops
	DEFAULT FOR TYPE ruvector USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 ruvector_cmp(ruvector, ruvector);

-- Aggregates

CREATE FUNCTION ruvector_accum(double precision[], ruvector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_avg(double precision[]) RETURNS ruvector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(ruvector) (
	SFUNC = ruvector_accum,
	STYPE = double precision[],
	FINALFUNC = ruvector_avg,
	COMBINEFUNC = ruvector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(ruvector) (
	SFUNC = ruvector_add,
	STYPE = ruvector,
	COMBINEFUNC = ruvector_add,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE avg(ruvector) IS 'element-wise mean, accumulated in double precision';
COMMENT ON AGGREGATE sum(ruvector) IS 'element-wise sum';
