-- Where each page of a rabitq index is, read with pageinspect (for the server tests): in a
-- list's chain (from the directory), in an orphaned chain the metapage names (a repack's
-- leftovers), or on the free list. No page may be in none of them ("lost") or in two
-- ("twice"), and a free page must be typed free and no other ("mistyped"). "fresh" counts
-- all-zero pages, which a crash right after extending the file can leave.
CREATE EXTENSION IF NOT EXISTS pageinspect;
CREATE FUNCTION rabitq_u32(p bytea, off int) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
  SELECT get_byte(p, off) + get_byte(p, off + 1) * 256 + get_byte(p, off + 2) * 65536
         + get_byte(p, off + 3)::bigint * 16777216
$$;
-- Byte offsets: the metapage's RabitqMeta starts at 24 (lists +16, directory_start +36,
-- free_head +60, free_pages +64, orphan_codes +68, orphan_vectors +72); a directory entry
-- is 32 bytes from 24 (code_head +0, vector_head +8), 255 a page; every page's special
-- space holds next at 8184 and the page type at 8188.
CREATE FUNCTION rabitq_census(idx text) RETURNS TABLE (chains bigint, orphaned bigint,
  free bigint, free_counted bigint, lost bigint, twice bigint, mistyped bigint, fresh bigint)
LANGUAGE sql AS $$
WITH RECURSIVE
pages AS (
  SELECT b::bigint AS blk, get_byte(p, 8188) AS type, rabitq_u32(p, 8184) AS next
  FROM generate_series(0, (pg_relation_size(idx) / 8192)::int - 1) b, get_raw_page(idx, b) p),
meta AS (SELECT get_raw_page(idx, 0) AS p),
heads AS (
  SELECT rabitq_u32(get_raw_page(idx, (rabitq_u32(m.p, 60) + l / 255)::int),
                    24 + 32 * (l % 255) + o) AS blk, 'chain' AS kind
  FROM meta m, generate_series(0, rabitq_u32(m.p, 40)::int - 1) l, (VALUES (0), (8)) o(o)
  UNION ALL SELECT rabitq_u32(p, 92), 'orphan' FROM meta
  UNION ALL SELECT rabitq_u32(p, 96), 'orphan' FROM meta
  UNION ALL SELECT rabitq_u32(p, 84), 'free' FROM meta),
walk(blk, kind) AS (
  SELECT blk, kind FROM heads WHERE blk NOT IN (0, 4294967295)
  UNION
  SELECT pages.next, walk.kind FROM walk JOIN pages USING (blk)
  WHERE pages.next NOT IN (0, 4294967295))
SELECT (SELECT count(DISTINCT blk) FROM walk WHERE kind = 'chain'),
       (SELECT count(DISTINCT blk) FROM walk WHERE kind = 'orphan'),
       (SELECT count(DISTINCT blk) FROM walk WHERE kind = 'free'),
       (SELECT rabitq_u32(p, 88) FROM meta),
       (SELECT count(*) FROM pages WHERE type IN (4, 5, 6) AND blk NOT IN (SELECT blk FROM walk)),
       (SELECT count(*) FROM (SELECT blk FROM walk GROUP BY blk HAVING count(DISTINCT kind) > 1) d),
       (SELECT count(*) FROM walk JOIN pages USING (blk) WHERE (kind = 'free') <> (type = 6)),
       (SELECT count(*) FROM pages WHERE type = 0)
$$;
