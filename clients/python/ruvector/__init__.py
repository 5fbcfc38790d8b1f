"""Python client helpers for the ruvector PostgreSQL extension.

- ruvector.vector: numpy arrays <-> ruvector text and binary forms
- ruvector.psycopg: register_vector(conn) for psycopg 3 (sync and async connections)
- ruvector.asyncpg: register_vector(conn) for asyncpg
- ruvector.a2a: follow(conn, task_id), an async iterator over an A2A task's updates
"""
from .vector import from_binary, from_text, to_binary, to_text

# The package's version, read by pyproject.toml: the only place it is written.
__version__ = "0.4.0"

__all__ = ["__version__", "from_binary", "from_text", "to_binary", "to_text"]
