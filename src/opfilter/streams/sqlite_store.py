"""The endpoint's store in SQLite: :class:`SQLiteStore`.

Storage: datetimes are fixed-width UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` and dates
``YYYY-MM-DD`` (what :func:`opfilter.to_sql` compares against); ``value`` is TEXT in its
shortest exact decimal form.  Rows come back as :class:`~.model.ProductionPlanStream`
objects equal to the ones loaded.

**Connections.**  A file store lends each request a connection from a bounded pool: at
most ``max_connections`` exist at once (idle ones are kept for reuse), and a request that
cannot get one within ``timeout`` seconds raises
:class:`~.store.StoreUnavailable` (the endpoint's 503), as does a database that stays
locked (``SQLITE_BUSY``) for that long.  Files run in WAL mode, so readers never wait for
:meth:`SQLiteStore.load`.  An SQLite ``":memory:"`` database exists only inside its one
connection, so that store has exactly one connection behind a lock (requests are then
serialized — use a file for concurrency).

**Fork safety.**  SQLite forbids carrying a connection across ``fork()``.  The pool
remembers the process that opened its connections; in a child (gunicorn ``--preload``) it
starts empty and leaves the inherited connections untouched (not even closed: closing
would release the parent's locks).  A ``":memory:"`` store cannot follow a fork (its data
lives in the parent's connection) and says so.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from ..backends.sql import Dialect, sqlite_datetime, to_sql
from ..nodes import Op
from ..query import Query
from . import SCHEMA
from .model import ProductionPlanStream, format_value
from .sqlstore import (
    INDEX_NAMES,
    STREAMS,
    TABLE_NAMES,
    TABLES,
    ForkGuard,
    SQLStore,
    insert_sql,
    world_tuples,
)
from .store import StoreUnavailable
from .world import World

__all__ = ["RANGE_PROBE_ROWS", "SQLiteStore"]

UTC = dt.UTC
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _unavailable(e: sqlite3.OperationalError, timeout: float) -> StoreUnavailable | None:
    if getattr(e, "sqlite_errorcode", None) in _BUSY_CODES:
        return StoreUnavailable(f"the SQLite database stayed locked for {timeout:g} s: {e}")
    return None


class _Pool:
    """At most ``max_size`` connections at once, borrowed and given back; fork-safe."""

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], max_size: int, timeout: float
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_size}")
        self._connect = connect
        self._max_size = max_size
        self._timeout = timeout
        self._closed = False
        self._inherited: list[list[sqlite3.Connection]] = []  # kept, never used or closed
        self._start()
        self._guard = ForkGuard(self._renew)

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self._max_size)
        self._idle: list[sqlite3.Connection] = []

    def _renew(self) -> None:
        self._inherited.append(self._idle)  # the parent's: never touched in a forked child
        self._start()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        self._guard.check()
        if self._closed:
            raise RuntimeError("the store is closed")
        slots = self._slots
        if not slots.acquire(timeout=self._timeout):
            raise StoreUnavailable(
                f"no SQLite connection became free within {self._timeout:g} s "
                f"(at most {self._max_size} at once)"
            )
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            try:
                yield conn
            except BaseException:
                conn.close()  # it may be mid-transaction: never reuse it
                raise
            with self._lock:
                if not self._closed and self._guard.here:
                    self._idle.append(conn)
                    return
            conn.close()
        except sqlite3.OperationalError as e:
            busy = _unavailable(e, self._timeout)
            if busy is None:
                raise
            raise busy from e
        finally:
            slots.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        if self._guard.here:
            for conn in idle:
                conn.close()


class _Single:
    """One connection, used by one thread at a time (SQLite ``:memory:``)."""

    def __init__(self, conn: sqlite3.Connection, timeout: float) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._pid = os.getpid()
        self._timeout = timeout
        self._lock = threading.RLock()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        if self._pid != os.getpid():
            raise RuntimeError(
                "an in-memory SQLite store cannot be used after fork(): its data lives in "
                "the parent's connection; give the store a file"
            )
        if not self._lock.acquire(timeout=self._timeout):
            raise StoreUnavailable(
                f"the in-memory SQLite connection stayed busy for {self._timeout:g} s"
            )
        try:
            if self._conn is None:
                raise RuntimeError("the store is closed")
            yield self._conn
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()


# -- rows ----------------------------------------------------------------------------------


def _sqlite_dt(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _from_sqlite(r: Sequence[Any]) -> ProductionPlanStream:
    return ProductionPlanStream(
        id=r[0],
        created_at=_sqlite_dt(r[1]),
        updated_at=_sqlite_dt(r[2]),
        date=dt.date.fromisoformat(r[3]),
        value=Decimal(r[4]),
        project_id=r[5],
        stream_id=r[6],
        production_plan_id=r[7],
        deleted_at=None if r[8] is None else _sqlite_dt(r[8]),
    )


def _to_sqlite(row: ProductionPlanStream) -> tuple[Any, ...]:
    return (
        row.id,
        sqlite_datetime(row.created_at),
        sqlite_datetime(row.updated_at),
        row.date.isoformat(),
        format_value(row.value),
        row.project_id,
        row.stream_id,
        row.production_plan_id,
        None if row.deleted_at is None else sqlite_datetime(row.deleted_at),
    )


_RANGE_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BT})
RANGE_PROBE_ROWS = 2000
"""A range on ``updated_at`` matching fewer rows than this is read through its index."""


def _range_hint(conn: sqlite3.Connection, query: Query) -> str:
    """``" INDEXED BY pps_updated_at"`` when the query's ``updated_at`` range is narrow.

    SQLite (built without STAT4) cannot estimate how many rows a range matches, so for
    ``ORDER BY id LIMIT n`` it walks the whole table in id order — fast when the range is
    broad, a full scan when it is narrow (the "changed since" polling query).  One bounded,
    index-only count tells the two apart: at most ``RANGE_PROBE_ROWS`` index entries are
    read, then the cheaper plan is forced.
    """
    ranges = [c for c in query.conditions if c.field == "updated_at" and c.op in _RANGE_OPS]
    if not ranges:
        return ""
    # conditions of a checked query: no need for Query()'s own check
    ranges_only = Query._checked(SCHEMA, ranges, {"deleted": "include"})
    where, params = to_sql(ranges_only, "sqlite", table="s")
    probe = (
        "SELECT count(*) FROM (SELECT 1 FROM production_plan_streams AS s "
        f"INDEXED BY pps_updated_at WHERE {where} LIMIT {RANGE_PROBE_ROWS})"
    )
    try:
        (matched,) = conn.execute(probe, params).fetchone()
    except sqlite3.OperationalError as e:
        if getattr(e, "sqlite_errorcode", None) in _BUSY_CODES:
            raise
        return ""  # a condition the index cannot serve: no hint
    return " INDEXED BY pps_updated_at" if matched < RANGE_PROBE_ROWS else ""


class SQLiteStore(SQLStore):
    """The endpoint's store in an SQLite database (a file, or ``":memory:"``).

    ``SQLiteStore(path)`` opens (or creates) the database and creates the tables that are
    missing; :meth:`from_world` also loads a world.  Thread-safe and fork-safe: a file
    store lends each request one of at most ``max_connections`` pooled connections (WAL
    mode), waiting at most ``timeout`` seconds for one (then
    :class:`~.store.StoreUnavailable`); a ``":memory:"`` store has one connection behind a
    lock.  Close it with :meth:`close` (or use it as a context manager).
    """

    _dialect: Dialect = "sqlite"
    _prefix = ""
    _row = staticmethod(_from_sqlite)
    _hint = staticmethod(_range_hint)

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        max_connections: int = 16,
        timeout: float = 5.0,
    ) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._memory = self.path == ":memory:" or self.path == ""
        self._pool: _Pool | _Single
        if self._memory:
            self._pool = _Single(self._connect(), timeout)
        else:
            self._pool = _Pool(self._connect, max_connections, timeout)
        with self._pool.connection() as conn:
            if not self._memory:
                conn.execute("PRAGMA journal_mode=WAL")
            for table in TABLES:
                conn.execute(table.create("sqlite"))
            self._create_indexes(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self.timeout
        )
        if not self._memory:
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _connection(self) -> Any:
        return self._pool.connection()

    def close(self) -> None:
        """Close every pooled connection (an SQLite file's WAL is checkpointed on the last
        close)."""
        self._pool.close()

    @classmethod
    def from_world(
        cls, world: World, path: str | os.PathLike[str] = ":memory:", **kwargs: Any
    ) -> SQLiteStore:
        """A store at ``path`` holding exactly ``world`` (existing rows are replaced)."""
        store = cls(path, **kwargs)
        try:
            store.load(world)
        except BaseException:
            store.close()
            raise
        return store

    @staticmethod
    def _create_indexes(conn: sqlite3.Connection) -> None:
        for table in TABLES:
            for ddl in table.create_indexes():
                conn.execute(ddl)

    def load(self, world: World) -> None:
        """Replace the database's contents with ``world``, in one transaction.

        Bulk insert with ``executemany``; the secondary indexes are dropped first and
        rebuilt after (faster than maintaining them row by row), then ``ANALYZE`` gives
        the planner its statistics."""
        tuples = world_tuples(world)
        with self._pool.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for name in INDEX_NAMES:
                    conn.execute(f"DROP INDEX IF EXISTS {name}")
                for table in TABLES:
                    conn.execute(f"DELETE FROM {table.name}")
                for table in TABLES[:-1]:
                    conn.executemany(insert_sql("sqlite", "", table), tuples[table.name])
                conn.executemany(insert_sql("sqlite", "", STREAMS), map(_to_sqlite, world.rows))
                self._create_indexes(conn)
                conn.execute("ANALYZE")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def explain(self, sql: str, params: Iterable[Any] = ()) -> list[str]:
        """``EXPLAIN QUERY PLAN`` of ``sql``: the plan's lines, indented by depth."""
        with self._pool.connection() as conn:
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql, list(params)).fetchall()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in plan:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return lines

    def count(self) -> int:
        """How many production plan stream rows the database holds."""
        with self._pool.connection() as conn:
            r = conn.execute("SELECT count(*) FROM production_plan_streams").fetchone()
        return int(r[0])

    def has_data(self) -> bool:
        """Whether any table holds anything (a database built before, vs a fresh one)."""
        with self._pool.connection() as conn:
            return any(
                conn.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]
                for t in TABLE_NAMES
            )

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
