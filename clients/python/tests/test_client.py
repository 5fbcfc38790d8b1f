"""Client tests against a live server (tests/server/python_client.sh starts one): numpy
round trips through psycopg 3 (text and binary) and asyncpg, bad values refused before
they are sent, and following an A2A task's updates with LISTEN."""
import asyncio
import os
import unittest

import asyncpg
import numpy as np
import psycopg

import ruvector.a2a
import ruvector.asyncpg
import ruvector.psycopg
from ruvector.vector import from_binary, from_text, to_binary, to_text


class WireFormat(unittest.TestCase):
    def test_round_trips(self):
        v = np.array([1.5, -2.25, 3e-8, 65504.0], dtype=np.float32)
        np.testing.assert_array_equal(from_binary(to_binary(v)), v)
        np.testing.assert_array_equal(from_text(to_text(v)), v)
        self.assertEqual(to_binary([1, 2])[:4], b"\x00\x02\x00\x00")

    def test_bad_values(self):
        for bad in ([], [[1, 2]], [float("nan")], [float("inf")], np.zeros(16001)):
            with self.assertRaises(ValueError):
                to_binary(bad)
        with self.assertRaises(ValueError):
            from_binary(b"\x00\x03\x00\x00" + b"\x00" * 8)  # 3 dimensions, 2 floats
        with self.assertRaises(ValueError):
            from_text("1,2")


class Psycopg(unittest.TestCase):
    def setUp(self):
        self.conn = psycopg.connect(autocommit=True)
        ruvector.psycopg.register_vector(self.conn)
        self.conn.execute("DROP TABLE IF EXISTS py_items")
        self.conn.execute("CREATE TABLE py_items (id int PRIMARY KEY, v ruvector(3))")

    def tearDown(self):
        self.conn.close()

    def test_text_and_binary(self):
        rows = [(i, np.array([i, i + 0.5, -i], dtype=np.float32)) for i in range(1, 6)]
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO py_items VALUES (%s, %s)", rows)
            cur.execute("SELECT id, v FROM py_items ORDER BY v <-> %s LIMIT 2",
                        (np.array([2, 2.5, -2], dtype=np.float32),))
            got = cur.fetchall()
        self.assertEqual([r[0] for r in got], [2, 1])
        np.testing.assert_array_equal(got[0][1], rows[1][1])
        with self.conn.cursor(binary=True) as cur:
            cur.execute("SELECT v, %b::ruvector <#> v FROM py_items WHERE id = 3",
                        (np.array([1, 1, 1], dtype=np.float32),))
            v, ip = cur.fetchone()
        np.testing.assert_array_equal(v, rows[2][1])
        self.assertAlmostEqual(ip, -(3 + 3.5 - 3))

    def test_wrong_dimensions_is_the_servers_error(self):
        with self.assertRaises(psycopg.errors.DataException) as e:
            self.conn.execute("INSERT INTO py_items VALUES (9, %s)", (np.ones(4, dtype=np.float32),))
        self.assertIn("expected 3 dimensions, not 4", str(e.exception))


class Asyncpg(unittest.IsolatedAsyncioTestCase):
    async def test_round_trip(self):
        conn = await asyncpg.connect()
        try:
            await ruvector.asyncpg.register_vector(conn)
            v = np.arange(784, dtype=np.float32) / 7
            got = await conn.fetchval("SELECT $1::ruvector", v)
            np.testing.assert_array_equal(got, v)
            d = await conn.fetchval("SELECT $1::ruvector <-> $2::ruvector", v, v + 1)
            self.assertAlmostEqual(d, 28.0, places=4)
        finally:
            await conn.close()


@unittest.skipUnless(os.environ.get("A2A_AGENT"), "needs A2A_AGENT (tests/server/python_client.sh)")
class FollowA2a(unittest.IsolatedAsyncioTestCase):
    async def test_every_event_in_order(self):
        conn = await asyncpg.connect()
        try:
            task = await conn.fetchval("SELECT a2a.send($1, 'hello'::text)", os.environ["A2A_AGENT"])
            events = [e async for e in ruvector.a2a.follow(conn, task, timeout=30)]
            self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
            self.assertEqual([e["kind"] for e in events], ["retry", "retry", "task"])
            self.assertEqual(events[-1]["state"], "completed")
            self.assertEqual(events[-1]["payload"]["artifacts"][0]["parts"][0]["text"], "finally")
            # A finished task yields its recorded events and ends at once.
            again = [e["seq"] async for e in ruvector.a2a.follow(conn, task, timeout=1)]
            self.assertEqual(again, [1, 2, 3])
        finally:
            await conn.close()

    async def test_unknown_task(self):
        conn = await asyncpg.connect()
        try:
            with self.assertRaises(LookupError):
                async for _ in ruvector.a2a.follow(conn, "00000000-0000-0000-0000-000000000000"):
                    pass
        finally:
            await conn.close()


if __name__ == "__main__":
    unittest.main()
