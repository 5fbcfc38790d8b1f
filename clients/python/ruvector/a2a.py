"""Following A2A tasks from Python: an async iterator over a task's recorded events, driven
by LISTEN a2a (asyncpg). No polling and no threads: the server's notification for each
event wakes the iterator, which then reads the event rows it has not yielded yet, so
nothing is missed even when notifications arrive before the iterator starts.

    async for event in ruvector.a2a.follow(conn, task_id, timeout=60):
        print(event["seq"], event["kind"], event["state"], event["payload"])
"""
import asyncio
import json

FINAL = frozenset({"completed", "canceled", "failed", "rejected", "input-required"})


async def follow(conn, task_id, timeout=None):
    """Yields {seq, kind, state, payload} for each event of the task in order, ending after
    the event that leaves the task final (or waiting for input). Raises asyncio.TimeoutError
    when `timeout` seconds pass without a new event, LookupError for an unknown task."""
    task_id = str(task_id)
    wake = asyncio.Event()

    def on_notify(_conn, _pid, _channel, payload):
        if payload.split(",", 1)[0] == task_id:
            wake.set()

    await conn.add_listener("a2a", on_notify)
    try:
        if await conn.fetchval("SELECT count(*) FROM a2a.tasks WHERE id = $1::uuid", task_id) == 0:
            raise LookupError("a2a task %s does not exist (or belongs to another role)" % task_id)
        last = 0
        while True:
            wake.clear()  # before reading: a notification from now on wakes the wait below
            rows = await conn.fetch(
                "SELECT seq, kind, state, payload::text AS payload FROM a2a.task_events "
                "WHERE task_id = $1::uuid AND seq > $2 ORDER BY seq", task_id, last)
            for r in rows:
                last = r["seq"]
                event = {"seq": r["seq"], "kind": r["kind"], "state": r["state"],
                         "payload": json.loads(r["payload"])}
                yield event
            task = await conn.fetchrow("SELECT state, seq FROM a2a.tasks WHERE id = $1::uuid", task_id)
            if task["state"] in FINAL and last >= task["seq"]:
                return
            if not rows:
                await asyncio.wait_for(wake.wait(), timeout)
    finally:
        await conn.remove_listener("a2a", on_notify)
