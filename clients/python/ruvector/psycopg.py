"""psycopg 3 adapters: numpy arrays are sent as ruvector (binary when the query asks for
binary, text otherwise) and ruvector values come back as float32 numpy arrays.

    import psycopg, ruvector.psycopg
    conn = psycopg.connect()
    ruvector.psycopg.register_vector(conn)
    conn.execute("SELECT embedding FROM items ORDER BY embedding <-> %s LIMIT 5", (query,))
"""
import numpy as np
from psycopg.adapt import Dumper, Loader
from psycopg.errors import ProgrammingError
from psycopg.pq import Format
from psycopg.types import TypeInfo

from .vector import from_binary, from_text, to_binary, to_text


class _TextLoader(Loader):
    format = Format.TEXT

    def load(self, data):
        return from_text(data)


class _BinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data):
        return from_binary(data)


def _dumpers(oid):
    class TextDumper(Dumper):
        format = Format.TEXT

        def dump(self, obj):
            return to_text(obj).encode()

    class BinaryDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            return to_binary(obj)

    TextDumper.oid = oid
    BinaryDumper.oid = oid
    return TextDumper, BinaryDumper


def _register(info, context):
    if info is None:
        raise ProgrammingError("type ruvector not found: run CREATE EXTENSION ruvector first")
    info.register(context)
    adapters = context.adapters
    text_dumper, binary_dumper = _dumpers(info.oid)
    adapters.register_dumper(np.ndarray, text_dumper)
    adapters.register_dumper(np.ndarray, binary_dumper)
    adapters.register_loader(info.oid, _TextLoader)
    adapters.register_loader(info.oid, _BinaryLoader)


def register_vector(context):
    """Registers the adapters on a psycopg Connection or Cursor."""
    _register(TypeInfo.fetch(context, "ruvector"), context)


async def register_vector_async(context):
    """The same for an AsyncConnection or AsyncCursor."""
    _register(await TypeInfo.fetch(context, "ruvector"), context)


# The helpers (one implementation for every driver; see ruvector.rag, .rulake and .a2a):
# ruvector.psycopg.load(conn, ...), .search(...), .rulake.search(...), .a2a.follow(...).
from . import a2a, rulake  # noqa: E402
from .rag import create_index, load, search  # noqa: E402
