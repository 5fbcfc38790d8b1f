"""Python client helpers for the ruvector PostgreSQL extension.

- ruvector.vector: numpy arrays <-> ruvector text and binary forms
- ruvector.psycopg: register_vector(conn) for psycopg 3 (sync and async connections)
- ruvector.asyncpg: register_vector(conn) for asyncpg
- ruvector.rag: load(conn, table, ids, vectors), create_index(conn, table),
  search(conn, table, query, k): binary COPY from numpy, a rabitq index, top-k
- ruvector.rulake: register, search, stats, publish_bundle, verify_bundle
- ruvector.a2a: send, task, wait, cancel, and follow(conn, task_id), an iterator over an
  A2A task's updates

The helpers serve psycopg 3 (sync and async) and asyncpg alike and are re-exported by
ruvector.psycopg and ruvector.asyncpg: with an async connection they return awaitables.
"""
from .vector import from_binary, from_text, to_binary, to_text

# The package's version, read by pyproject.toml: the only place it is written.
__version__ = "0.4.0"

__all__ = ["__version__", "from_binary", "from_text", "to_binary", "to_text"]
