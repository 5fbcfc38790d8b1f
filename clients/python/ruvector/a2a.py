"""A2A tasks from Python: send one, wait for it, or follow every update as it is recorded
(docs/a2a.md). The functions serve psycopg 3 and asyncpg alike; with an async connection
they return an awaitable (follow: an async iterator).

    task = ruvector.a2a.send(conn, "summariser", "hello")
    for event in ruvector.a2a.follow(conn, task, timeout=60):   # async for, when async
        print(event["seq"], event["kind"], event["state"], event["payload"])

follow LISTENs on channel a2a (a psycopg connection must be autocommit=True) and reads the
task's event rows it has not yielded yet, so it misses nothing, even events recorded
before it started.
"""
from __future__ import annotations

from typing import Any, Optional

from . import _plans
from ._drivers import iterate, run


def send(conn, agent: str, message: Any, options: Optional[dict] = None):
    """SELECT a2a.send(agent, message, options): queues a task and returns its id (a str).
    message is a str (sent as one text part) or a dict/list (an A2A message as JSON)."""
    return run(conn, _plans.a2a_send, agent, message, options)


def task(conn, task_id) -> Any:
    """SELECT a2a.task(id): the task's state, result and events as a dict."""
    return run(conn, _plans.json_call, "a2a.task({1}::uuid)", [str(task_id)])


def wait(conn, task_id, timeout: float = 30.0) -> Any:
    """SELECT a2a.wait(id, timeout): blocks until the task ends (or waits for input) or
    `timeout` seconds pass; returns a2a.task(id) either way."""
    return run(conn, _plans.json_call, "a2a.wait({1}::uuid, make_interval(secs => {2}))",
               [str(task_id), float(timeout)])


def cancel(conn, task_id) -> Any:
    """SELECT a2a.cancel(id): 'canceled', 'cancel requested' or the state it had ended in."""
    return run(conn, _plans.json_call, "to_jsonb(a2a.cancel({1}::uuid))", [str(task_id)])


def follow(conn, task_id, timeout: Optional[float] = None):
    """Yields {seq, kind, state, payload} for each event of the task in order, ending after
    the event that leaves it final (or waiting for input). Raises TimeoutError when
    `timeout` seconds pass without a new event, LookupError for an unknown task (or one of
    another role). An iterator on a sync connection, an async iterator on an async one."""
    return iterate(conn, _plans.follow, task_id, timeout)
