"""The helpers (ruvector.rag, .rulake, .a2a) against a live server, each test once with every
connection kind: psycopg Connection, psycopg AsyncConnection and asyncpg. The sync calls
block the test's event loop, which is harmless here."""
import asyncio
import inspect
import os
import unittest

import asyncpg
import numpy as np
import psycopg

import ruvector.asyncpg
import ruvector.psycopg
from ruvector import a2a, rag, rulake
from ruvector.vector import COPY_HEADER, COPY_TRAILER, copy_rows

KINDS = ("psycopg", "psycopg_async", "asyncpg")


async def connect(kind, **kw):
    if kind == "psycopg":
        return psycopg.connect(autocommit=True, **kw)
    if kind == "psycopg_async":
        return await psycopg.AsyncConnection.connect(autocommit=True, **kw)
    return await asyncpg.connect(**kw)


async def call(result):
    """A helper's result, awaited when the connection was async."""
    return await result if inspect.isawaitable(result) else result


async def collect(events):
    if hasattr(events, "__aiter__"):
        return [e async for e in events]
    return list(events)


async def fetchval(conn, sql):
    if isinstance(conn, asyncpg.Connection):
        return await conn.fetchval(sql)
    cur = await call(conn.execute(sql))
    return (await call(cur.fetchone()))[0]


async def close(conn):
    await call(conn.close())


def exact(vectors, query, k, ids=None):
    d = np.linalg.norm(vectors - query, axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return [int(i) for i in (order if ids is None else ids[order])]


class Case(unittest.IsolatedAsyncioTestCase):
    """Runs each test method once per connection kind, as a subtest."""

    async def each_kind(self, body):
        for kind in KINDS:
            with self.subTest(kind=kind):
                conn = await connect(kind)
                try:
                    await body(kind, conn)
                finally:
                    await close(conn)

    async def admin(self, sql):
        conn = await asyncpg.connect()
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


class CopyStream(unittest.TestCase):
    def test_layout(self):
        chunks = list(copy_rows([7], np.array([[1.0, -2.0]], dtype=np.float32), "integer"))
        self.assertEqual(chunks[0], COPY_HEADER)
        self.assertEqual(chunks[-1], COPY_TRAILER)
        self.assertEqual(chunks[1], b"\x00\x02" + b"\x00\x00\x00\x04\x00\x00\x00\x07"
                         + b"\x00\x00\x00\x0c\x00\x02\x00\x00" + b"\x3f\x80\x00\x00\xc0\x00\x00\x00")

    def test_the_loop_in_docs_rag_md(self):
        # docs/rag.md writes the same stream with struct, row by row.
        import struct
        vectors = np.random.default_rng(1).standard_normal((5, 7)).astype(np.float32)
        ids = [3, 1, 4, 1, 5]
        out = [b"PGCOPY\n\xff\r\n\0" + struct.pack(">ii", 0, 0)]
        dim = vectors.shape[1]
        for i, v in zip(ids, vectors.astype(">f4")):
            out.append(struct.pack(">hii", 2, 4, i))
            out.append(struct.pack(">ihh", 4 + 4 * dim, dim, 0) + v.tobytes())
        out.append(struct.pack(">h", -1))
        self.assertEqual(b"".join(copy_rows(ids, vectors, "integer")), b"".join(out))

    def test_chunks_and_progress(self):
        seen = []
        v = np.ones((10, 3), dtype=np.float32)
        chunks = list(copy_rows(np.arange(10), v, "bigint", lambda d, n: seen.append((d, n)), 4))
        self.assertEqual(len(chunks), 2 + 3)
        self.assertEqual(seen, [(4, 10), (8, 10), (10, 10)])

    def test_bad_ids(self):
        v = np.ones((2, 3), dtype=np.float32)
        for ids, id_type in (([1], "bigint"), ([1, 2.5], "bigint"), ([1, 2**31], "integer"),
                             ([1, 2], "text")):
            with self.assertRaises(ValueError):
                list(copy_rows(ids, v, id_type))


class Load(Case):
    async def test_creates_the_table_and_round_trips(self):
        rng = np.random.default_rng(5)
        v = rng.standard_normal((1000, 24)).astype(np.float32)

        async def body(kind, conn):
            table = "py_load_" + kind
            await self.admin('DROP TABLE IF EXISTS "%s"' % table)
            seen = []
            n = await call(ruvector.psycopg.load(conn, table, np.arange(1000) * 3, v,
                                                 progress=lambda d, t: seen.append(d)))
            self.assertEqual(n, 1000)
            self.assertEqual(seen[-1], 1000)
            check = await asyncpg.connect()
            try:
                await ruvector.asyncpg.register_vector(check)
                layout = await check.fetchrow(
                    "SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attstorage::text AS storage, "
                    "(SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = a.attrelid "
                    " AND attname = 'id') AS id_type FROM pg_attribute a "
                    "WHERE attrelid = $1::regclass AND attname = 'embedding'", table)
                self.assertEqual(tuple(layout), ("ruvector(24)", "p", "bigint"))
                rows = await check.fetch('SELECT id, embedding FROM "%s" ORDER BY id' % table)
                self.assertEqual([r["id"] for r in rows], list(range(0, 3000, 3)))
                np.testing.assert_array_equal(np.stack([r["embedding"] for r in rows]), v)
            finally:
                await check.close()
            # A second load appends; duplicate ids are the server's error, and nothing of
            # that load stays (one transaction).
            await call(rag.load(conn, table, [1, 2], v[:2]))
            with self.assertRaises(Exception) as e:
                await call(rag.load(conn, table, [4, 3], v[:2]))
            self.assertIn("duplicate key", str(e.exception))
            got = await call(rag.search(conn, table, v[0], k=3000))
            self.assertEqual(len(got), 1002)

        await self.each_kind(body)

    async def test_existing_table_and_bad_input(self):
        await self.admin('DROP TABLE IF EXISTS "Py %Mixed"; '
                         'CREATE TABLE "Py %Mixed" (key int, vec ruvector(3), note text)')

        async def body(kind, conn):
            table = "Py %Mixed"
            n = await call(rag.load(conn, table, [1, 2], [[1, 2, 3], [4, 5, 6]],
                                    id_column="key", column="vec"))
            self.assertEqual(n, 2)
            bad = [
                (([1], [[1, 2, 3], [1, 2, 3]]), ValueError, "ids must be 2 integers"),
                (([1], [[1, float("nan"), 3]]), ValueError, "NaN"),
                (([1], [[1, 2]]), ValueError, "cannot hold 2-dimensional"),
                (([2**31], [[1, 2, 3]]), ValueError, "does not fit"),
                (([1], [1, 2, 3]), ValueError, "2-D array"),
            ]
            for (ids, vecs), error, text in bad:
                with self.assertRaisesRegex(error, text):
                    await call(rag.load(conn, table, ids, vecs, id_column="key", column="vec"))
            with self.assertRaisesRegex(LookupError, "no column 'embedding'"):
                await call(rag.load(conn, table, [9], [[1, 2, 3]], id_column="key"))
            with self.assertRaisesRegex(ValueError, "is text"):
                await call(rag.load(conn, table, [9], [[1, 2, 3]], id_column="key", column="note"))
            await self.admin('TRUNCATE "Py %Mixed"')

        await self.each_kind(body)


class IndexAndSearch(Case):
    async def test_search_matches_the_exact_answer(self):
        # Clustered, as embeddings are (IVF on iid Gaussian data needs many more probes).
        rng = np.random.default_rng(9)
        centers = rng.standard_normal((30, 16)) * 4
        v = (centers[rng.integers(0, 30, 3000)] + rng.standard_normal((3000, 16))).astype(np.float32)
        tags = np.arange(3000) % 3
        await self.admin("DROP TABLE IF EXISTS py_search")
        conn = psycopg.connect(autocommit=True)
        try:
            rag.load(conn, "py_search", np.arange(3000), v)
            conn.execute("ALTER TABLE py_search ADD tag int")
            conn.execute("UPDATE py_search SET tag = id % 3")
        finally:
            conn.close()

        async def body(kind, conn):
            q = v[11] + 0.01
            # No index yet: the exact answer, distances included.
            hits = await call(rag.search(conn, "py_search", q, k=10))
            self.assertEqual([h[0] for h in hits], exact(v, q, 10))
            self.assertAlmostEqual(hits[0][1], float(np.linalg.norm(v[11] - q)), places=4)
            hits = await call(rag.search(conn, "py_search", q, 5, filter={"tag": [1, 2]}))
            keep = tags != 0
            self.assertEqual([h[0] for h in hits], exact(v[keep], q, 5, np.arange(3000)[keep]))
            self.assertEqual(await call(rag.search(conn, "py_search", q, 5, filter={"tag": None})), [])
            for k in (0, -1, True, 2.5):
                with self.assertRaisesRegex(ValueError, "positive integer"):
                    await call(rag.search(conn, "py_search", q, k))
            with self.assertRaisesRegex(ValueError, "l2, ip or cosine"):
                await call(rag.search(conn, "py_search", q, metric="hamming"))

        await self.each_kind(body)
        # With the default index: the plan uses it, and the answers stay close to exact.
        conn = await asyncpg.connect()
        try:
            self.assertEqual(await rag.create_index(conn, "py_search"), "py_search_embedding_rabitq")
            self.assertEqual(await rag.create_index(conn, "py_search"), "py_search_embedding_rabitq")
            self.assertEqual(await rag.create_index(conn, "py_search", metric="cosine", lists=4),
                             "py_search_embedding_cosine_rabitq")
            am = await conn.fetch("SELECT a.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                  "JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'py_search'::regclass")
            self.assertEqual(sorted(r[0] for r in am), ["btree", "rabitq", "rabitq"])
            with self.assertRaisesRegex(ValueError, "number or a boolean"):
                await rag.create_index(conn, "py_search", lists="4) WITH (x")
            await conn.execute("SET enable_seqscan = off")
            found = 0
            for i in range(20):
                hits = await rag.search(conn, "py_search", v[i * 7], k=10)
                found += len(set(h[0] for h in hits) & set(exact(v, v[i * 7], 10)))
            self.assertGreaterEqual(found / 200, 0.9)
            hits = await rag.search(conn, "py_search", v[5], k=3, metric="cosine")
            self.assertEqual(hits[0][0], 5)
        finally:
            await conn.close()


class PlainRole(Case):
    async def test_a_login_role_without_privileges(self):
        await self.admin("DROP TABLE IF EXISTS py_secret, py_plain_docs; DROP ROLE IF EXISTS py_plain; "
                         "CREATE ROLE py_plain LOGIN; GRANT CREATE ON SCHEMA public TO py_plain; "
                         "CREATE TABLE py_secret (id bigint, embedding ruvector(2)); "
                         "INSERT INTO py_secret VALUES (1, '[1,1]')")

        async def body(kind, conn):
            await self.admin("DROP TABLE IF EXISTS py_plain_docs")
            self.assertEqual(await call(rag.load(conn, "py_plain_docs", [1, 2], [[0, 0], [3, 4]])), 2)
            await call(rag.create_index(conn, "py_plain_docs"))
            self.assertEqual(await call(rag.search(conn, "py_plain_docs", [3, 3], 1)), [(2, 1.0)])
            with self.assertRaisesRegex(Exception, "permission denied"):
                await call(rag.search(conn, "py_secret", [1, 1], 1))
            with self.assertRaisesRegex(Exception, "permission denied"):
                await call(rag.load(conn, "py_secret", [2], [[2, 2]]))

        for kind in KINDS:
            with self.subTest(kind=kind):
                conn = await connect(kind, user="py_plain")
                try:
                    await body(kind, conn)
                finally:
                    await close(conn)


class RuLake(Case):
    async def test_register_search_stats_bundles(self):
        rng = np.random.default_rng(3)
        v = rng.standard_normal((2000, 16)).astype(np.float32)
        await self.admin("DROP TABLE IF EXISTS py_lake; SELECT rulake.unregister(name) "
                         "FROM rulake.collections WHERE name LIKE 'py_lake%'")
        conn = psycopg.connect(autocommit=True)
        try:
            rag.load(conn, "py_lake", np.arange(2000), v)
        finally:
            conn.close()

        async def body(kind, conn):
            name = "py_lake_" + kind
            await call(rulake.register(conn, name, "public.py_lake", rerank_factor=20))
            hits = await call(rulake.search(conn, name, v[42], 10))
            self.assertEqual(hits[0][0], 42)
            self.assertGreaterEqual(len(set(h[0] for h in hits) & set(exact(v, v[42], 10))), 8)
            await call(ruvector.asyncpg.rulake.search(conn, name, v[43], 10))
            (stats,) = await call(rulake.stats(conn, name))
            self.assertEqual((stats["collection"], stats["consistency"]), (name, "fresh"))
            self.assertGreaterEqual(stats["hits"] + stats["misses"], 2)
            self.assertIn(name, [s["collection"] for s in await call(rulake.stats(conn))])
            with self.assertRaisesRegex(ValueError, "plain column names"):
                await call(rulake.register(conn, name + "x", "py_lake", column="a,b"))
            bundle = await call(rulake.publish_bundle(conn, name, "py_" + kind))
            self.assertEqual(bundle["dim"], 16)
            checked = await call(rulake.verify_bundle(conn, "py_" + kind))
            self.assertEqual((checked["valid"], checked["rvf_witness"]), (True, bundle["rvf_witness"]))
            tagged = await call(rulake.publish_bundle(conn, name, "py_tagged_" + kind,
                                                      lineage_id="lake-7", generation="snap-42"))
            checked = await call(rulake.verify_bundle(conn, "py_tagged_" + kind))
            self.assertEqual((checked["lineage_id"], checked["generation"]), ("lake-7", "snap-42"))
            self.assertNotEqual(tagged["rvf_witness"], bundle["rvf_witness"])
            with self.assertRaisesRegex(Exception, "py_missing") as e:
                await call(rulake.verify_bundle(conn, "py_missing"))
            self.assertIsInstance(e.exception, (psycopg.Error, asyncpg.PostgresError))

        await self.each_kind(body)


@unittest.skipUnless(os.environ.get("A2A_ECHO"), "needs A2A_ECHO (tests/server/python_client.sh)")
class A2a(Case):
    """Against tests/a2a/hostile_peer.py's /echo agent, which completes at once with the
    message's text."""

    async def test_send_follow_wait(self):
        agent = os.environ["A2A_ECHO"]

        async def body(kind, conn):
            task = await call(a2a.send(conn, agent, "hello " + kind))
            events = await collect(a2a.follow(conn, task, timeout=30))
            self.assertEqual([(e["seq"], e["kind"], e["state"]) for e in events], [(1, "task", "completed")])
            self.assertEqual(events[0]["payload"]["artifacts"][0]["parts"][0]["text"], "hello " + kind)
            # Following left nothing behind: no LISTEN, on any connection kind.
            self.assertEqual(await fetchval(conn, "SELECT count(*) FROM pg_listening_channels()"), 0)
            done = await call(a2a.wait(conn, task, timeout=5))
            self.assertEqual((done["state"], done["seq"]), ("completed", 1))
            self.assertEqual((await call(a2a.task(conn, task)))["id"], task)
            self.assertEqual(await call(a2a.cancel(conn, task)), "completed")
            # A second task, sent as a message dict, and followed from ruvector.psycopg.
            task = await call(a2a.send(conn, agent, {"parts": [{"text": "hi"}]}))
            seqs = [e["seq"] for e in await collect(ruvector.psycopg.a2a.follow(conn, task, timeout=30))]
            self.assertEqual(seqs, [1])
            with self.assertRaises(LookupError):
                await collect(a2a.follow(conn, "00000000-0000-0000-0000-000000000000"))
            # Stopping early leaves the connection usable and no longer listening.
            task = await call(a2a.send(conn, agent, "again"))
            events = a2a.follow(conn, task, timeout=30)
            if hasattr(events, "__anext__"):
                await events.__anext__()
                await events.aclose()
            else:
                next(events)
                events.close()
            self.assertEqual(await fetchval(conn, "SELECT count(*) FROM pg_listening_channels()"), 0)

        await self.each_kind(body)

    async def test_psycopg_follow_needs_autocommit(self):
        conn = psycopg.connect()
        try:
            with self.assertRaisesRegex(ValueError, "autocommit"):
                list(a2a.follow(conn, "00000000-0000-0000-0000-000000000000"))
        finally:
            conn.close()

    async def test_timeout(self):
        # A task that never ends: a peer that does not answer is out of reach here, so
        # follow a task whose events are all read and wait for one more.
        conn = await asyncpg.connect()
        try:
            task = await a2a.send(conn, os.environ["A2A_ECHO"], "x")
            await collect(a2a.follow(conn, task, timeout=30))
            await conn.execute("UPDATE a2a.tasks SET state = 'working' WHERE id = $1::uuid", task)
            with self.assertRaises(TimeoutError):
                await collect(a2a.follow(conn, task, timeout=0.3))
        finally:
            await conn.close()


if __name__ == "__main__":
    unittest.main()
