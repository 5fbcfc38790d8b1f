"""Carries out the operations of ruvector._plans on a connection: psycopg 3 (Connection or
AsyncConnection) or asyncpg (Connection or a pool's connection). The helpers call run() or
iterate(), which return the plan's result directly for a sync connection and an awaitable
(or async iterator) for an async one."""
import asyncio
import select
import weakref

from ._plans import quote_ident, split_name


class _Psycopg:
    @staticmethod
    def param(n, binary=False):
        return "%%(p%d)%s" % (n, "b" if binary else "s")

    @staticmethod
    def ident(part):
        return quote_ident(part).replace("%", "%%")  # psycopg reads % as a placeholder

    @staticmethod
    def pack(params):
        return {"p%d" % (i + 1): v for i, v in enumerate(params)}


class _Asyncpg:
    @staticmethod
    def param(n, binary=False):
        return "$%d" % n

    @staticmethod
    def ident(part):
        return quote_ident(part)


# Connections whose ruvector adapter this package has registered.
_registered = weakref.WeakSet()


def _copy_sql(table, columns):
    schema, name = split_name(table)
    return "COPY %s%s (%s) FROM STDIN (FORMAT binary)" % (
        quote_ident(schema) + "." if schema else "", quote_ident(name),
        ", ".join(quote_ident(c) for c in columns))


# psycopg before 3.2 (Debian 12 ships 3.1.7) hands libpq each piece of a COPY without
# waiting for it to be sent, so libpq's output buffer grows and every partial send moves
# the rest of it: loading 1M x 768 took 109-139 s where COPY from a file takes 22 s, almost
# all of it client CPU in PQputCopyData (psycopg/psycopg#745, fixed in 3.2 by #746). These
# writers wait for each 128 kB piece to leave, as 3.2 does.
_PIECE = 128 * 1024


def _old_psycopg():
    import psycopg
    return tuple(int(x) for x in psycopg.__version__.split(".")[:2]) < (3, 2)


def _copy_writer(cur):
    if not _old_psycopg():
        return {}
    from psycopg.copy import LibpqWriter

    class SentWriter(LibpqWriter):
        def write(self, data):
            pgconn, view = cur.connection.pgconn, memoryview(data)
            for i in range(0, len(view), _PIECE):
                super().write(view[i:i + _PIECE])
                while pgconn.flush() == 1:
                    select.select([], [pgconn.socket], [])

    return {"writer": SentWriter(cur)}


def _async_copy_writer(cur):
    if not _old_psycopg():
        return {}
    from psycopg.copy import AsyncLibpqWriter

    class SentWriter(AsyncLibpqWriter):
        async def write(self, data):
            pgconn, view = cur.connection.pgconn, memoryview(data)
            loop = asyncio.get_running_loop()
            for i in range(0, len(view), _PIECE):
                await super().write(view[i:i + _PIECE])
                while pgconn.flush() == 1:
                    writable = loop.create_future()
                    loop.add_writer(pgconn.socket, lambda: writable.done() or writable.set_result(None))
                    try:
                        await writable
                    finally:
                        loop.remove_writer(pgconn.socket)

    return {"writer": SentWriter(cur)}


def _result(cur, kind, rows=None):
    """A psycopg cursor's rows (fetched already for an async cursor) as the op asked."""
    if cur.description is None:
        return []
    if rows is None:
        rows = cur.fetchall()
    if kind == "dicts":
        names = [c.name for c in cur.description]
        return [dict(zip(names, r)) for r in rows]
    return rows


def _check_autocommit(conn):
    if not conn.autocommit:
        raise ValueError("following notifications needs an autocommit connection "
                         "(psycopg.connect(..., autocommit=True)): Postgres delivers them "
                         "between transactions, and this one would stay in one")


class _PsycopgNotifies:
    """What both psycopg drivers do about notifications: a handler per LISTEN that sets
    self.woken when a payload matches."""

    d = _Psycopg

    def __init__(self, conn):
        self.conn, self.handlers, self.woken = conn, [], False

    def listen(self, channel, match):
        """Adds the handler and returns the LISTEN statement to run."""
        _check_autocommit(self.conn)

        def handler(n):
            if n.channel == channel and match(n.payload):
                self.woken = True

        self.conn.add_notify_handler(handler)
        self.handlers.append((channel, handler))
        return "LISTEN " + quote_ident(channel)


class _PsycopgSync(_PsycopgNotifies):
    is_async = False

    def do(self, op):
        kind, conn = op[0], self.conn
        if kind in ("rows", "dicts"):
            return _result(conn.execute(op[1], _Psycopg.pack(op[2])), kind)
        if kind == "copy":
            with conn.cursor() as cur, cur.copy(_copy_sql(op[1], op[2]), **_copy_writer(cur)) as copy:
                for chunk in op[3]:
                    copy.write(chunk)
        elif kind == "vector":
            if conn not in _registered:
                from .psycopg import register_vector
                register_vector(conn)
                _registered.add(conn)
        elif kind == "listen":
            conn.execute(self.listen(op[1], op[2]))
        elif kind == "clear":
            self.woken = False
        elif kind == "wait":
            # Any bytes on the socket wake us; the plan's next query reads them, and with
            # them the notifications, which set self.woken through the handler.
            return self.woken or bool(select.select([conn.fileno()], [], [], op[1])[0])
        return None

    def close(self):
        for channel, handler in self.handlers:
            self.conn.remove_notify_handler(handler)
            self.conn.execute("UNLISTEN " + quote_ident(channel))


class _PsycopgAsync(_PsycopgNotifies):
    is_async = True

    async def do(self, op):
        kind, conn = op[0], self.conn
        if kind in ("rows", "dicts"):
            cur = await conn.execute(op[1], _Psycopg.pack(op[2]))
            return _result(cur, kind, await cur.fetchall() if cur.description else [])
        if kind == "copy":
            async with conn.cursor() as cur, cur.copy(_copy_sql(op[1], op[2]), **_async_copy_writer(cur)) as copy:
                for chunk in op[3]:
                    await copy.write(chunk)
        elif kind == "vector":
            if conn not in _registered:
                from .psycopg import register_vector_async
                await register_vector_async(conn)
                _registered.add(conn)
        elif kind == "listen":
            await conn.execute(self.listen(op[1], op[2]))
        elif kind == "clear":
            self.woken = False
        elif kind == "wait":
            if self.woken:
                return True
            loop = asyncio.get_running_loop()
            readable = loop.create_future()
            loop.add_reader(conn.fileno(), lambda: readable.done() or readable.set_result(True))
            try:
                return await asyncio.wait_for(readable, op[1])
            except asyncio.TimeoutError:
                return False
            finally:
                loop.remove_reader(conn.fileno())
        return None

    async def close(self):
        for channel, handler in self.handlers:
            self.conn.remove_notify_handler(handler)
            await self.conn.execute("UNLISTEN " + quote_ident(channel))


class _AsyncpgDriver:
    d = _Asyncpg
    is_async = True

    def __init__(self, conn):
        self.conn, self.listeners, self.wake = conn, [], asyncio.Event()

    async def do(self, op):
        kind, conn = op[0], self.conn
        if kind == "rows":
            return [tuple(r) for r in await conn.fetch(op[1], *op[2])]
        if kind == "dicts":
            return [dict(r) for r in await conn.fetch(op[1], *op[2])]
        if kind == "copy":
            schema, table = split_name(op[1])

            async def chunks():
                for chunk in op[3]:
                    yield chunk

            await conn.copy_to_table(table, schema_name=schema, columns=op[2], source=chunks(),
                                     format="binary")
        elif kind == "vector":
            if conn not in _registered:
                from .asyncpg import register_vector
                await register_vector(conn)
                _registered.add(conn)
        elif kind == "listen":
            match = op[2]

            def listener(_conn, _pid, _channel, payload):
                if match(payload):
                    self.wake.set()

            await conn.add_listener(op[1], listener)
            self.listeners.append((op[1], listener))
        elif kind == "clear":
            self.wake.clear()
        elif kind == "wait":
            try:
                await asyncio.wait_for(self.wake.wait(), op[1])
                return True
            except asyncio.TimeoutError:
                return False
        return None

    async def close(self):
        for channel, listener in self.listeners:
            await self.conn.remove_listener(channel, listener)


def _driver(conn):
    modules = [c.__module__ for c in type(conn).__mro__]
    if any(m.startswith("asyncpg") for m in modules):
        return _AsyncpgDriver(conn)
    if any(m.startswith("psycopg") for m in modules):
        if any(c.__name__ == "AsyncConnection" for c in type(conn).__mro__):
            return _PsycopgAsync(conn)
        return _PsycopgSync(conn)
    raise TypeError("ruvector's helpers take a psycopg 3 or an asyncpg connection, not %s"
                    % type(conn).__name__)


class _Plan:
    """Advances a plan: step(value) sends the last operation's result and answers ("op",
    operation), ("emit", value) or ("done", result)."""

    def __init__(self, gen):
        self.gen, self.finished = gen, False

    def step(self, value):
        try:
            op = self.gen.send(value)
        except StopIteration as stop:
            self.finished = True
            return "done", stop.value
        return ("emit", op[1]) if op[0] == "emit" else ("op", op)

    def close_failed(self):
        """Whether a failure to stop listening is the error to raise: only when the plan
        ended well; else the error (or the caller's early stop) that ended it is."""
        return self.finished


def _steps(driver, gen):
    """Drives a plan on a sync driver: yields (False, emitted value) for each "emit" and
    (True, result) at the end; stops listening however it ends."""
    plan, value = _Plan(gen), None
    try:
        while not plan.finished:
            kind, x = plan.step(value)
            value = driver.do(x) if kind == "op" else (yield kind == "done", x)
    finally:
        gen.close()
        try:
            driver.close()
        except Exception:
            if plan.close_failed():
                raise


async def _steps_async(driver, gen):
    """_steps for an async driver."""
    plan, value = _Plan(gen), None
    try:
        while not plan.finished:
            kind, x = plan.step(value)
            if kind == "op":
                value = await driver.do(x)
            else:
                value = None
                yield kind == "done", x
    finally:
        gen.close()
        try:
            await driver.close()
        except Exception:
            if plan.close_failed():
                raise


async def _run_async(driver, gen, transaction):
    if transaction:
        async with driver.conn.transaction():
            return await _run_async(driver, gen, False)
    async for final, value in _steps_async(driver, gen):
        if final:
            return value


async def _iterate_async(driver, gen):
    steps = _steps_async(driver, gen)
    try:
        async for final, value in steps:
            if not final:
                yield value
    finally:
        # Now, not whenever the loop gets round to finalizing it: the caller's next query
        # must not meet our UNLISTEN on the same connection.
        await steps.aclose()


def _iterate_sync(driver, gen):
    steps = _steps(driver, gen)
    try:
        for final, value in steps:
            if not final:
                yield value
    finally:
        steps.close()


def run(conn, plan, *args, transaction=False):
    """plan(dialect, *args) on conn: its result, or an awaitable of it on an async connection.
    With transaction=True it runs inside conn.transaction() (committed at the end unless a
    transaction was already open)."""
    driver = _driver(conn)
    gen = plan(driver.d, *args)
    if driver.is_async:
        return _run_async(driver, gen, transaction)
    if transaction:
        with conn.transaction():
            return _sync_result(driver, gen)
    return _sync_result(driver, gen)


def _sync_result(driver, gen):
    for final, value in _steps(driver, gen):
        if final:
            return value


def iterate(conn, plan, *args):
    """The values plan(dialect, *args) emits on conn: an iterator, or an async iterator on an
    async connection."""
    driver = _driver(conn)
    gen = plan(driver.d, *args)
    return _iterate_async(driver, gen) if driver.is_async else _iterate_sync(driver, gen)
