-- An index of 256 lists or more over 128 dimensions or more stores its centroids'
-- principal subspace (ivf/nearest_projected.h), and its scans bound the probe keys in it
-- rather than from the int8 centroid codes. The probe order stays the exact order of the
-- centroids' distances: every row is stored in the list of its nearest centroid, so with
-- one probe a row's own vector must find the row first. A bound above a key would probe
-- another list first and miss it.
SET client_min_messages = warning;
SELECT setseed(0.75);
CREATE TABLE proj_items (id int, v ruvector(128));
-- Rows around 40 centres of very different spreads, so that lists differ in size and the
-- subspace does not hold every centroid whole.
INSERT INTO proj_items
  SELECT i, (SELECT array_agg(((i % 40) * sin(j * (i % 40) + 1) * 3 +
                               random() * (1 + (i % 5) * 4))::real)
             FROM generate_series(1, 128) j)::ruvector
  FROM generate_series(1, 3000) i;
CREATE INDEX proj_l2 ON proj_items USING rabitq (v) WITH (lists = 256);
CREATE INDEX proj_cos ON proj_items USING rabitq (v ruvector_cosine_ops) WITH (lists = 256);
SET rabitq.probes = 1;
SET enable_seqscan = off;
-- Rows whose one-probe search does not return them first: none.
DROP INDEX proj_cos;
SELECT count(*) AS l2_missed FROM proj_items p
WHERE (SELECT id FROM proj_items ORDER BY v <-> p.v LIMIT 1) <> p.id;
CREATE INDEX proj_cos ON proj_items USING rabitq (v ruvector_cosine_ops) WITH (lists = 256);
DROP INDEX proj_l2;
SELECT count(*) AS cosine_missed FROM proj_items p
WHERE (SELECT id FROM proj_items ORDER BY v <=> p.v LIMIT 1) <> p.id;
DROP TABLE proj_items;
