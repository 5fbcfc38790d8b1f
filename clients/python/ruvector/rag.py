"""Retrieval helpers: load a numpy array into a table, index it, search it. The same
functions serve psycopg 3 and asyncpg: with a sync psycopg Connection they return the
result; with an AsyncConnection or an asyncpg connection they return an awaitable.

    import psycopg, ruvector.psycopg as rv
    conn = psycopg.connect(autocommit=True)
    rv.load(conn, "docs", ids, embeddings)        # ids: n integers, embeddings: n x dim
    rv.create_index(conn, "docs")
    hits = rv.search(conn, "docs", query, k=10)   # [(id, distance), ...] nearest first

Table, column and index names are taken literally (quoted): "Docs" is a table named Docs.
A name with one dot, "schema.table", names a table in that schema.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional, Sequence, Tuple, Union

from . import _plans
from ._drivers import run

Hits = list  # list[tuple[int, float]]: (id, distance), nearest first


def load(conn, table: str, ids: Sequence[int], vectors, *, column: str = "embedding",
         id_column: str = "id", progress: Union[bool, Callable[[int, int], Any], None] = None
         ) -> Union[int, Awaitable[int]]:
    """Loads n rows (ids[i], vectors[i]) by binary COPY, in one transaction, and returns n.

    `vectors` is anything numpy reads as an n x dim array of finite numbers (sent as float4);
    `ids` are n integers. When the table does not exist it is created as

        CREATE TABLE table (id bigint PRIMARY KEY, embedding ruvector(dim));
        ALTER TABLE table ALTER embedding SET STORAGE PLAIN;   -- dim <= 2000

    (embeddings do not compress, and a row of up to ~2000 dimensions fits a page, so PLAIN
    spares the load a compression attempt per row). An existing table keeps its layout; its
    id column must be integer or bigint. Then

        COPY table (id, embedding) FROM STDIN (FORMAT binary)

    in chunks of about 8 MB. `progress` is called as progress(rows_sent, n) after each
    chunk; progress=True prints that to stderr.
    """
    return run(conn, _plans.load, table, ids, vectors, column, id_column, progress, transaction=True)


def create_index(conn, table: str, column: str = "embedding", *, metric: str = "l2",
                 name: Optional[str] = None, **options: Union[int, float, bool]
                 ) -> Union[str, Awaitable[str]]:
    """Builds a rabitq index and returns its name:

        CREATE INDEX IF NOT EXISTS table_embedding_rabitq ON table
            USING rabitq (embedding ruvector_l2_ops) [WITH (option = value, ...)]

    metric is l2, ip or cosine (the distance search() will order by); options are the
    index's reloptions (lists, rerank_from_heap, ...; docs/tuning.md). The defaults are the
    ones benchmarked in docs/benchmarks.md; a second call with the same name does nothing.
    """
    return run(conn, _plans.create_index, table, column, metric, name, options)


def search(conn, table: str, query, k: int = 10, *, column: str = "embedding",
           id_column: str = "id", metric: str = "l2",
           filter: Optional[Mapping[str, Any]] = None) -> Union[Hits, Awaitable[Hits]]:
    """The k rows nearest to query as [(id, distance), ...], nearest first:

        SELECT id, embedding <-> $1 FROM table [WHERE col = $3 AND col2 = ANY($4) ...]
        ORDER BY embedding <-> $1 LIMIT $2

    with <#> for metric="ip" and <=> for "cosine". filter maps columns to values: a list or
    tuple matches any of its values, None matches NULL. The query travels in binary; the
    ruvector adapter is registered on the connection the first time.
    """
    return run(conn, _plans.search, table, query, k, column, id_column, metric, filter)
