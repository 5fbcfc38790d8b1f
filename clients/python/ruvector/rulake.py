"""ruLake from Python: register a table as a cached collection, search it, read the cache
statistics, publish and verify bundles (docs/rulake.md). The functions serve psycopg 3 and
asyncpg alike; with an async connection they return an awaitable."""
from __future__ import annotations

import json
from typing import Any, Awaitable, Optional, Union

from . import _plans
from ._drivers import run


def register(conn, name: str, table: str, *, id_column: str = "id", column: str = "embedding",
             consistency: str = "fresh", **options: Any) -> Union[None, Awaitable[None]]:
    """Registers table(id_column, column) as collection `name`:

        SELECT rulake.register(name, 'table:table(id, embedding)', consistency, options)

    consistency is fresh, eventual or frozen; options are metric, seed, rerank_factor,
    lists and probes."""
    return run(conn, _plans.rulake_register, name, table, id_column, column, consistency, options)


def search(conn, name: str, query, k: int = 10, *, rerank_factor: Optional[int] = None):
    """[(id, distance), ...] nearest first, served from the cache (primed on first use):

        SELECT id, distance FROM rulake.search(name, query, k, rerank_factor)"""
    return run(conn, _plans.rulake_search, name, query, k, rerank_factor)


def stats(conn, name: Optional[str] = None):
    """rulake.stats() as a list of dicts (collection, witness, consistency, state, primes,
    hits, misses, hit_rate, bytes, last_primed, last_error, and from extension 0.5.0
    evictions, last_searched), one collection's when named."""
    return run(conn, _plans.rulake_stats, name)


def publish_bundle(conn, collection: str, directory: str, **options: Any
                   ) -> Union[dict, Awaitable[dict]]:
    """SELECT rulake.publish_bundle(collection, directory[, options]): writes the collection
    as a bundle under rulake.bundle_root, atomically; returns the bundle's fields. options:
    pii_policy, lineage_id, generation (a number or a string), as in docs/rulake.md."""
    if not options:
        return run(conn, _plans.json_call, "rulake.publish_bundle({1}, {2})", [collection, directory])
    return run(conn, _plans.json_call, "rulake.publish_bundle({1}, {2}, {3}::jsonb)",
               [collection, directory, json.dumps(options)])


def verify_bundle(conn, directory: str) -> Union[dict, Awaitable[dict]]:
    """SELECT rulake.verify_bundle(directory): checks the bundle's witness and data and
    returns its fields; a tampered bundle raises the server's error."""
    return run(conn, _plans.json_call, "rulake.verify_bundle({1})", [directory])
