"""What each helper does, written once for every driver. A plan is a generator that yields
operations and receives their results; ruvector._drivers carries them out with psycopg
(sync or async) or asyncpg. Operations:

    ("rows", sql, params)       -> list of tuples       ("dicts", sql, params) -> list of dicts
    ("copy", table, columns, chunks)                    binary COPY of an iterable of bytes
    ("vector",)                 register the ruvector type's binary adapter, once a connection
    ("listen", channel, match)  LISTEN; a notification whose payload `match`es wakes "wait"
    ("clear",)  ("wait", timeout) -> False when `timeout` seconds passed without a wake
    ("emit", value)             hand a value to the caller (follow's events)

SQL is written with d.param(n) placeholders and d.ident(name) identifiers, so that one text
serves psycopg's %(pN)s and asyncpg's $N.
"""
import json

from .vector import as_vector, as_vectors, check_ids, copy_rows

OPERATORS = {"l2": "<->", "ip": "<#>", "cosine": "<=>"}
FINAL = frozenset({"completed", "canceled", "failed", "rejected", "input-required"})


def split_name(name):
    """'schema.table' or 'table' -> (schema or None, table), each part taken literally."""
    if not isinstance(name, str) or not name:
        raise ValueError("a table name is a non-empty string, not %r" % (name,))
    schema, dot, table = name.rpartition(".")
    return (schema if dot else None), table


def quote_ident(part):
    if not part or "\0" in part:
        raise ValueError("%r is not a valid identifier" % (part,))
    return '"' + part.replace('"', '""') + '"'


def table_sql(d, name):
    schema, table = split_name(name)
    return (d.ident(schema) + "." if schema else "") + d.ident(table)


def _metric(metric):
    if metric not in OPERATORS:
        raise ValueError("metric must be l2, ip or cosine, not %r" % (metric,))
    return OPERATORS[metric]


def _k(k):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError("k must be a positive integer, not %r" % (k,))
    return k


def load(d, table, ids, vectors, column, id_column, progress):
    vectors = as_vectors(vectors)
    dim = vectors.shape[1]
    rel = table_sql(d, table)
    literal = rel.replace("'", "''")
    (exists,), = yield ("rows", "SELECT to_regclass('%s') IS NOT NULL" % literal, [])
    if not exists:
        # Embeddings do not compress, and a row of up to ~2000 dimensions fits a page:
        # STORAGE PLAIN spares COPY a compression attempt on every row (docs/rag.md).
        yield ("rows", "CREATE TABLE IF NOT EXISTS %s (%s bigint PRIMARY KEY, %s ruvector(%d))"
               % (rel, d.ident(id_column), d.ident(column), dim), [])
        if dim <= 2000:
            yield ("rows", "ALTER TABLE %s ALTER %s SET STORAGE PLAIN" % (rel, d.ident(column)), [])
    types = yield ("rows", "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                   "WHERE a.attrelid = '%s'::regclass AND a.attname::text IN (%s, %s) AND NOT a.attisdropped"
                   % (literal, d.param(1), d.param(2)), [id_column, column])
    types = dict(types)
    for name in (id_column, column):
        if name not in types:
            raise LookupError("table %s has no column %r" % (table, name))
    # pgvector's vector reads the same binary layout: load fills its tables too.
    if types[column].rpartition(".")[2] not in ("ruvector", "ruvector(%d)" % dim, "vector", "vector(%d)" % dim):
        raise ValueError("column %r is %s: it cannot hold %d-dimensional vectors" % (column, types[column], dim))
    ids = check_ids(ids, len(vectors), types[id_column])  # before COPY: its errors read better
    yield ("copy", table, [id_column, column], copy_rows(ids, vectors, types[id_column], progress))
    return len(vectors)


def create_index(d, table, column, metric, name, options):
    _metric(metric)
    schema, bare = split_name(table)
    name = name or "%s_%s_%srabitq" % (bare, column, "" if metric == "l2" else metric + "_")
    withs = []
    for key, value in (options or {}).items():
        if not key.isidentifier():
            raise ValueError("%r is not an index option" % (key,))
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = repr(value)
        else:
            raise ValueError("index option %s takes a number or a boolean, not %r" % (key, value))
        withs.append("%s = %s" % (key, value))
    yield ("rows", "CREATE INDEX IF NOT EXISTS %s ON %s USING rabitq (%s ruvector_%s_ops)%s"
           % (d.ident(name), table_sql(d, table), d.ident(column), metric,
              " WITH (%s)" % ", ".join(withs) if withs else ""), [])
    return (schema + "." if schema else "") + name


def _where(d, filter, first_param):
    """{column: value} -> ' WHERE column = $n AND ...' (a list or tuple value: = ANY)."""
    clauses, params = [], []
    for column, value in (filter or {}).items():
        n = first_param + len(params)
        if isinstance(value, (list, tuple)):
            clauses.append("%s = ANY(%s)" % (d.ident(column), d.param(n)))
            value = list(value)
        elif value is None:
            clauses.append("%s IS NULL" % d.ident(column))
            continue
        else:
            clauses.append("%s = %s" % (d.ident(column), d.param(n)))
        params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def search(d, table, query, k, column, id_column, metric, filter):
    op = _metric(metric)
    where, params = _where(d, filter, 3)
    yield ("vector",)
    distance = "%s %s %s" % (d.ident(column), op, d.param(1, binary=True))
    rows = yield ("rows", "SELECT %s, %s FROM %s%s ORDER BY %s LIMIT %s"
                  % (d.ident(id_column), distance, table_sql(d, table), where, distance, d.param(2)),
                  [as_vector(query), _k(k)] + params)
    return rows


def rulake_register(d, name, table, id_column, column, consistency, options):
    for c in (id_column, column):
        if not c or any(ch in c for ch in ",() \t\n"):
            raise ValueError("rulake.register takes plain column names, not %r" % (c,))
    source = "table:%s(%s, %s)" % (table_sql(QUOTED, table), id_column, column)
    yield ("rows", "SELECT rulake.register(%s, %s, %s, %s::jsonb)" % tuple(d.param(i) for i in range(1, 5)),
           [name, source, consistency, json.dumps(options or {})])


def rulake_search(d, name, query, k, rerank_factor):
    yield ("vector",)
    rows = yield ("rows", "SELECT id, distance FROM rulake.search(%s, %s, %s, %s)"
                  % (d.param(1), d.param(2, binary=True), d.param(3), d.param(4)),
                  [name, as_vector(query), _k(k), rerank_factor])
    return rows


def rulake_stats(d, name):
    rows = yield ("dicts", "SELECT * FROM rulake.stats()%s ORDER BY collection"
                  % (" WHERE collection = %s" % d.param(1) if name is not None else ""),
                  [name] if name is not None else [])
    return rows


def json_call(d, call, params):
    """SELECT call::text with call's {1}, {2}... as placeholders; the jsonb answer parsed."""
    sql = "SELECT (%s)::text" % call.format(None, *(d.param(n) for n in range(1, len(params) + 1)))
    (text,), = yield ("rows", sql, list(params))
    return json.loads(text) if text is not None else None


def a2a_send(d, agent, message, options):
    (task,), = yield ("rows", "SELECT a2a.send(%s, %s::jsonb, %s::jsonb)::text" % tuple(d.param(i) for i in (1, 2, 3)),
                      [agent, json.dumps(message), json.dumps(options or {})])
    return task


def follow(d, task_id, timeout):
    """The events of an A2A task in order, ending after the one that leaves it final (or
    waiting for input). LISTEN a2a wakes it; it reads the event rows it has not handed on
    yet, so it misses nothing, even events recorded before it started."""
    task_id = str(task_id)
    yield ("listen", "a2a", lambda payload: payload.split(",", 1)[0] == task_id)
    (n,), = yield ("rows", "SELECT count(*) FROM a2a.tasks WHERE id = %s::uuid" % d.param(1), [task_id])
    if n == 0:
        raise LookupError("a2a task %s does not exist (or belongs to another role)" % task_id)
    last = 0
    while True:
        yield ("clear",)  # before reading: a notification from now on wakes the wait below
        rows = yield ("rows", "SELECT seq, kind, state, payload::text FROM a2a.task_events "
                      "WHERE task_id = %s::uuid AND seq > %s ORDER BY seq" % (d.param(1), d.param(2)),
                      [task_id, last])
        for seq, kind, state, payload in rows:
            last = seq
            yield ("emit", {"seq": seq, "kind": kind, "state": state, "payload": json.loads(payload)})
        (state, seq), = yield ("rows", "SELECT state, seq FROM a2a.tasks WHERE id = %s::uuid" % d.param(1), [task_id])
        if state in FINAL and last >= seq:
            return
        if not rows and not (yield ("wait", timeout)):
            raise TimeoutError("a2a task %s: no new event in %s seconds" % (task_id, timeout))


class _Quoted:
    """Identifiers quoted for a text that is a value, not SQL (rulake.register's source)."""

    @staticmethod
    def ident(part):
        return quote_ident(part)


QUOTED = _Quoted()
