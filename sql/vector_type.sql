-- ruvector text I/O, typmod, binary I/O and every bad input with its error.

SELECT '[1,2,3]'::ruvector;
SELECT '[1, 2.5, -3e-2]'::ruvector;
SELECT '  [ 1 ,2 , 3 ]  '::ruvector;
SELECT '[+1,-0,0.0001,0.00001,123456,1234567,1e-38,3.4028235e38]'::ruvector;
SELECT '[1.23456789,0.1,0.2,1e6,1e-5,-7.5e-7]'::ruvector;
-- shortest round trip: what is printed reads back to the same floats
SELECT ('[0.1,0.7,1.1,3.1415927,2.7182817]'::ruvector)::text::ruvector = '[0.1,0.7,1.1,3.1415927,2.7182817]'::ruvector;
SELECT '[1,2,3]'::ruvector(3);

-- malformed text
SELECT ''::ruvector;
SELECT '1,2,3'::ruvector;
SELECT '[1,2,3'::ruvector;
SELECT '[1,,3]'::ruvector;
SELECT '[1 2]'::ruvector;
SELECT '[a]'::ruvector;
SELECT '[1,2,3] x'::ruvector;
SELECT '[1,2,]'::ruvector;
SELECT '[]'::ruvector;
SELECT '[ ]'::ruvector;
-- non-finite values
SELECT '[NaN]'::ruvector;
SELECT '[1,nan,3]'::ruvector;
SELECT '[Infinity]'::ruvector;
SELECT '[-inf]'::ruvector;
SELECT '[1e39]'::ruvector;
SELECT '[-1e39]'::ruvector;
-- dimension limits
SELECT vector_dims(array_fill(1.5, ARRAY[16000])::real[]::ruvector);
SELECT array_fill(1, ARRAY[16001])::real[]::ruvector;
SELECT ('[' || repeat('1,', 16000) || '1]')::ruvector;

-- typmod
CREATE TABLE t_typmod (v ruvector(3));
INSERT INTO t_typmod VALUES ('[1,2,3]');
INSERT INTO t_typmod VALUES ('[1,2]');
INSERT INTO t_typmod VALUES ('[1,2,3,4]');
SELECT '[1,2]'::ruvector(3);
SELECT * FROM t_typmod;
CREATE TABLE t_bad (v ruvector(0));
CREATE TABLE t_bad (v ruvector(16001));
CREATE TABLE t_bad (v ruvector(3, 4));
CREATE TABLE t_ok (v ruvector(16000));
DROP TABLE t_ok;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't_typmod'::regclass AND attname = 'v';
DROP TABLE t_typmod;

-- storage main: a vector stays in its row while the row fits a page, a wider one goes out
-- of line (TOAST); plain would refuse it
SELECT typstorage FROM pg_type WHERE oid = 'ruvector'::regtype;
CREATE TABLE t_store (id int, v ruvector(784));
SELECT attstorage FROM pg_attribute WHERE attrelid = 't_store'::regclass AND attname = 'v';
INSERT INTO t_store SELECT i, (SELECT array_agg(sin(i * 7.1 + j * 0.37)::real)
  FROM generate_series(1, 784) j WHERE i > 0) FROM generate_series(1, 3) i;
SELECT pg_relation_size(reltoastrelid) AS toast_bytes FROM pg_class WHERE relname = 't_store';
CREATE TABLE t_wide (id int, v ruvector(16000));
INSERT INTO t_wide SELECT i, (SELECT array_agg(sin(i * 7.1 + j * 0.37)::real)
  FROM generate_series(1, 16000) j WHERE i > 0) FROM generate_series(1, 40) i;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE relname = 't_wide';
-- the exact answer first, from the table alone
SELECT id, round((v <-> (SELECT v FROM t_wide WHERE id = 7))::numeric, 3) AS d FROM t_wide
  ORDER BY v <-> (SELECT v FROM t_wide WHERE id = 7) LIMIT 3;
CREATE INDEX t_wide_rabitq ON t_wide USING rabitq (v) WITH (lists = 2);
SET enable_seqscan = off;
SET rabitq.probes = 2;
EXPLAIN (COSTS OFF) SELECT id FROM t_wide ORDER BY v <-> (SELECT v FROM t_wide WHERE id = 7) LIMIT 3;
SELECT id, round((v <-> (SELECT v FROM t_wide WHERE id = 7))::numeric, 3) AS d FROM t_wide
  ORDER BY v <-> (SELECT v FROM t_wide WHERE id = 7) LIMIT 3;
RESET enable_seqscan;
RESET rabitq.probes;
ALTER TABLE t_wide ALTER v SET STORAGE PLAIN;
INSERT INTO t_wide SELECT 41, v FROM t_wide WHERE id = 1;
DROP TABLE t_store, t_wide;

-- NULLs pass through strict functions
SELECT NULL::ruvector, vector_dims(NULL::ruvector), NULL::ruvector <-> '[1]';

-- binary I/O: COPY out and back in binary format gives the same values
CREATE TABLE t_bin (id int, v ruvector);
INSERT INTO t_bin VALUES (1, '[1,2,3]'), (2, '[-0.5,1e-7,3.4028235e38]'), (3, NULL);
COPY t_bin TO '/tmp/ruvector_regress_t_bin.copy' WITH (FORMAT binary);
CREATE TABLE t_bin2 (id int, v ruvector);
COPY t_bin2 FROM '/tmp/ruvector_regress_t_bin.copy' WITH (FORMAT binary);
SELECT a.id, a.v, a.v = b.v AS same FROM t_bin a JOIN t_bin2 b USING (id) ORDER BY id;
SELECT ruvector_send('[1,2]');
-- binary input is validated: hand-made fields are fed to ruvector_recv through COPY
CREATE TABLE t_raw (b bytea);
CREATE TABLE t_recv (v ruvector);
CREATE TABLE t_recv3 (v ruvector(3));
CREATE FUNCTION recv_test(hex text, target text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE t_raw;
  INSERT INTO t_raw VALUES (decode(hex, 'hex'));
  EXECUTE 'COPY t_raw TO ''/tmp/ruvector_regress_raw.copy'' WITH (FORMAT binary)';
  EXECUTE format('COPY %I FROM ''/tmp/ruvector_regress_raw.copy'' WITH (FORMAT binary)', target);
END $$;
SELECT recv_test('000200003f80000040000000', 't_recv');
SELECT * FROM t_recv;
SELECT recv_test('000300003f80000040000000', 't_recv');
SELECT recv_test('000200003f8000004000000000', 't_recv');
SELECT recv_test('000000000000', 't_recv');
SELECT recv_test('3e8100003f800000', 't_recv');
SELECT recv_test('ffff00003f800000', 't_recv');
SELECT recv_test('000100013f800000', 't_recv');
SELECT recv_test('000100007fc00000', 't_recv');
SELECT recv_test('000100007f800000', 't_recv');
SELECT recv_test('000200003f80000040000000', 't_recv3');
SELECT * FROM t_recv;
DROP FUNCTION recv_test(text, text);
-- each kind of error carries its SQLSTATE
\set VERBOSITY sqlstate
SELECT '[1,'::ruvector;
SELECT '[nan]'::ruvector;
SELECT '[1e39]'::ruvector;
SELECT ('[' || repeat('1,', 16000) || '1]')::ruvector;
SELECT '[1]'::ruvector <-> '[1,2]';
CREATE TABLE t_bad (v ruvector(0));
SELECT '[3e38]'::ruvector + '[3e38]';
\set VERBOSITY default
DROP TABLE t_bin, t_bin2, t_raw, t_recv, t_recv3;
