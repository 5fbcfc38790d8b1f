#!/usr/bin/python3
"""LISTENs on channel a2a with asyncio (Debian's python3-asyncpg, no threads), sends one
task to the given agent, and prints every notification of that task as "seq state" until
the task ends. Exits non-zero if a sequence number is skipped or repeated, or on timeout.
Usage: listen_stream.py AGENT TEXT  (connection from PGHOST, PGPORT, PGUSER, PGDATABASE)"""
import asyncio
import sys

import asyncpg

FINAL = {"completed", "canceled", "failed", "rejected", "input-required"}


async def main(agent, text):
    conn = await asyncpg.connect()
    queue = asyncio.Queue()
    await conn.add_listener("a2a", lambda _c, _pid, _ch, payload: queue.put_nowait(payload))
    task = await conn.fetchval("SELECT a2a.send($1, $2::text)", agent, text)
    expected = 1
    while True:
        payload = await asyncio.wait_for(queue.get(), timeout=30)
        task_id, seq, state = payload.split(",")
        if task_id != str(task):
            continue
        if int(seq) != expected:
            print("out of order: got seq %s, expected %d" % (seq, expected), file=sys.stderr)
            return 1
        print(seq, state)
        expected += 1
        if state in FINAL:
            break
    # Every notification matches a recorded event, in order.
    rows = await conn.fetch("SELECT seq, state FROM a2a.task_events WHERE task_id = $1 ORDER BY seq", task)
    if [r["seq"] for r in rows] != list(range(1, expected)):
        print("events table disagrees: %s" % [r["seq"] for r in rows], file=sys.stderr)
        return 1
    await conn.close()
    return 0


sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
