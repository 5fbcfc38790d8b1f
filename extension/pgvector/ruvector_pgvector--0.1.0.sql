-- ruvector_pgvector: meet pgvector users where they are. pgvector's vector and ruvector
-- share one on-disk layout (varlena header, int16 dimensions, int16 unused, float4
-- values), so values convert without copying and ruvector's C distances read vector
-- values as they are. A separate extension, so that ruvector installs without pgvector.
\echo Use "CREATE EXTENSION ruvector_pgvector" to load this file. \quit

-- Assignment casts both ways: INSERT ... SELECT between the types works, and no operator
-- call becomes ambiguous (implicit casts would make vector <-> vector match both).
CREATE CAST (vector AS ruvector) WITHOUT FUNCTION AS ASSIGNMENT;
CREATE CAST (ruvector AS vector) WITHOUT FUNCTION AS ASSIGNMENT;

-- The rabitq access method recognises its metric by these support functions, which are
-- ruvector's own distance kernels. The ORDER BY operators are pgvector's: the index
-- returns rows in the order of ruvector's distances, which agree with pgvector's to
-- float4 rounding (they sum in a different order).
CREATE FUNCTION rabitq_vector_l2_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rabitq_vector_negative_inner_product(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_negative_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION rabitq_vector_cosine_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME', 'ruvector_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS vector_l2_ops
	DEFAULT FOR TYPE vector USING rabitq AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 rabitq_vector_l2_distance(vector, vector);
CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING rabitq AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 rabitq_vector_negative_inner_product(vector, vector);
CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING rabitq AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 rabitq_vector_cosine_distance(vector, vector);
