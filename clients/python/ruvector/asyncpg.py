"""asyncpg codec: ruvector values travel in binary form as float32 numpy arrays.

    conn = await asyncpg.connect()
    await ruvector.asyncpg.register_vector(conn)
"""
from .vector import from_binary, to_binary


async def register_vector(conn):
    schema = await conn.fetchval(
        "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.typname = 'ruvector'")
    if schema is None:
        raise LookupError("type ruvector not found: run CREATE EXTENSION ruvector first")
    await conn.set_type_codec("ruvector", schema=schema, encoder=to_binary,
                              decoder=from_binary, format="binary")


# The helpers (one implementation for every driver; see ruvector.rag, .rulake and .a2a):
# await ruvector.asyncpg.load(conn, ...), .search(...), .rulake.search(...); async for over
# ruvector.asyncpg.a2a.follow(...).
from . import a2a, rulake  # noqa: E402
from .rag import create_index, load, search  # noqa: E402
