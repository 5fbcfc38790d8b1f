"""Python client helpers for the ruvector PostgreSQL extension.

- ruvector.vector: numpy arrays <-> ruvector text and binary forms
- ruvector.psycopg: register_vector(conn) for psycopg 3 (sync and async connections)
- ruvector.asyncpg: register_vector(conn) for asyncpg
- ruvector.a2a: follow(conn, task_id), an async iterator over an A2A task's updates
"""
from .vector import from_binary, from_text, to_binary, to_text

__all__ = ["from_binary", "from_text", "to_binary", "to_text"]
