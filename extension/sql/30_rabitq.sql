-- The rabitq index access method: IVF lists of RaBitQ codes with an exact rerank.

CREATE FUNCTION rabitq_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD rabitq TYPE INDEX HANDLER rabitq_handler;
COMMENT ON ACCESS METHOD rabitq IS 'IVF + RaBitQ codes with exact rerank, for ORDER BY <vector distance> LIMIT k';

CREATE OPERATOR CLASS ruvector_l2_ops
	DEFAULT FOR TYPE ruvector USING rabitq AS
	OPERATOR 1 <-> (ruvector, ruvector) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(ruvector, ruvector);

CREATE OPERATOR CLASS ruvector_ip_ops
	FOR TYPE ruvector USING rabitq AS
	OPERATOR 1 <#> (ruvector, ruvector) FOR ORDER BY float_ops,
	FUNCTION 1 negative_inner_product(ruvector, ruvector);

CREATE OPERATOR CLASS ruvector_cosine_ops
	FOR TYPE ruvector USING rabitq AS
	OPERATOR 1 <=> (ruvector, ruvector) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(ruvector, ruvector);
