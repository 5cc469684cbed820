"""The endpoint's :class:`~opfilter.streams.store.Store` in SQLite and in PostgreSQL.

Both stores do the whole request in the database — one ``SELECT`` per question the
endpoint asks (see :mod:`opfilter.streams.store`)::

    SELECT s.<columns> FROM production_plan_streams AS s
      JOIN projects AS p ON p.id = s.project_id
     WHERE p.company = ? [AND <visibility>] AND <to_sql(query, dialect, table="s")>
     ORDER BY s.id LIMIT ? OFFSET ?

where ``<visibility>`` is absent with both permissions, ``(p.pm_id = ? OR p.account_id =
?)`` with only ``production_plan.view``, and its null-safe negation ``(p.pm_id IS NULL OR
p.pm_id <> ?) AND (p.account_id IS NULL OR p.account_id <> ?)`` with only
``production_plan.view_other``.  Every value is a bound parameter; the only identifiers
written into SQL are the fixed table/column names and (PostgreSQL) a schema name checked
against ``[A-Za-z_][A-Za-z0-9_]*``.  No row is ever fetched to be filtered in Python: a
request reads at most one page.

**Offsets.**  ``offset`` may be 2^63−1 (SPEC §5).  It is clamped to :data:`OFFSET_CAP`
(2^62) before it is bound: no table holds 2^62 rows, so the answer (an empty page) is the
same, and ``LIMIT + OFFSET`` can no longer overflow a signed 64-bit integer inside the
database.  (Both SQLite and PostgreSQL accept 2^63−1 as such too; the clamp is belt and
braces.)

Tables (the same in both; SQLite types first, PostgreSQL second)::

    companies   (slug TEXT/text PRIMARY KEY, streams_enabled INTEGER 0|1/boolean)
    users       (id INTEGER/bigint PRIMARY KEY, token TEXT/text UNIQUE)
    memberships (user_id, company, permission)     -- one row per permission;
                                                   -- permission NULL marks a membership
                                                   -- without any permission
    projects    (id PRIMARY KEY, company, pm_id NULL, account_id NULL)
    production_plan_streams (id PRIMARY KEY, created_at, updated_at, date, value,
                             project_id, stream_id, production_plan_id, deleted_at NULL)

with indexes on ``projects (company, id)``, ``production_plan_streams (project_id, id)``,
``(updated_at)``, ``(stream_id)``, ``(production_plan_id)`` and a partial index on
``(deleted_at) WHERE deleted_at IS NOT NULL`` (``deleted=exclude``'s ``deleted_at IS NULL``
holds for most rows, so an index on it would only tempt the planner; ranges on
``deleted_at`` imply ``IS NOT NULL`` and can use the partial index).

Storage: SQLite keeps datetimes as fixed-width UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``
and dates as ``YYYY-MM-DD`` (what :func:`opfilter.to_sql` compares against), and
``value`` as TEXT in its shortest exact decimal form (:func:`~.model.format_value`) — not
``REAL``: ``value`` is not filterable, and text keeps every digit.  PostgreSQL uses
``timestamptz``, ``date``, ``numeric`` and ``bigint``; its sessions run with
``TimeZone=UTC``.  Rows come back as :class:`~.model.ProductionPlanStream` objects equal to
the ones loaded.

**Connections and threads.**  Each store hands out connections from a small pool: a
request borrows one, uses it, and gives it back (at most ``max_idle`` idle ones are kept;
more are opened under load and closed after use).  That suits a threaded WSGI server that
starts a thread per request, where per-thread connections would pile up.  SQLite files run
in WAL mode, so readers never wait for :meth:`SQLiteStore.load`; an SQLite ``":memory:"``
database exists only inside its one connection, so that store has exactly one connection
guarded by a lock (requests are then serialized — use a file for concurrency).
SQLite keeps up to 32 idle connections by default: with fewer than the server has
concurrent clients, connections were opened and closed on every request, and the load
test showed RSS creeping up (80 → 128 MiB in 3 minutes, 32 clients) and a worse p99;
with 32 it stayed at 80–87 MiB.
PostgreSQL connections are in autocommit mode (each ``SELECT`` is its own snapshot).
A connection that raised is closed rather than reused.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar

from ..backends.sql import sqlite_datetime, to_sql
from ..nodes import Op
from ..query import Query
from . import SCHEMA
from .model import FIELDS, ProductionPlanStream, format_value
from .world import Company, World

if TYPE_CHECKING:
    import psycopg

__all__ = ["OFFSET_CAP", "PostgresStore", "SQLiteStore"]

UTC = dt.UTC

OFFSET_CAP = 2**62
"""Offsets above this are bound as this: no table holds that many rows (see the module
docstring)."""

_ROW_FIELDS = FIELDS  # the row table's columns, in the JSON key order


def _column(name: str) -> str:
    """The column of a row field: the schema's field → column mapping for filter fields
    (what :func:`to_sql` writes), else the field name."""
    f = SCHEMA.get(name)
    column = getattr(f, "column", None)
    return column if isinstance(column, str) and column else name


_COLUMNS = tuple(_column(n) for n in _ROW_FIELDS)
for _c in _COLUMNS:  # they are written into SQL as they are
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", _c), _c
_SELECT_COLUMNS = ", ".join(f"s.{c}" for c in _COLUMNS)
_ID, _PROJECT_ID, _STREAM_ID, _PLAN_ID, _UPDATED_AT, _DELETED_AT = (
    _column("id"),
    _column("project_id"),
    _column("stream_id"),
    _column("production_plan_id"),
    _column("updated_at"),
    _column("deleted_at"),
)

_Dialect = Literal["sqlite", "postgresql"]
_C = TypeVar("_C")


# -- connection handling -------------------------------------------------------------------


class _Pool(Generic[_C]):
    """Borrow-and-return connections: opened on demand, at most ``max_idle`` kept idle."""

    def __init__(
        self, connect: Callable[[], _C], close: Callable[[_C], None], max_idle: int
    ) -> None:
        self._connect = connect
        self._close = close
        self._max_idle = max_idle
        self._idle: list[_C] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[_C]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        except BaseException:
            self._close(conn)  # it may be broken or mid-transaction: never reuse it
            raise
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        self._close(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            self._close(conn)


class _Single(Generic[_C]):
    """One connection, used by one thread at a time (SQLite ``:memory:``)."""

    def __init__(self, conn: _C, close: Callable[[_C], None]) -> None:
        self._conn: _C | None = conn
        self._close = close
        self._lock = threading.RLock()

    @contextmanager
    def connection(self) -> Iterator[_C]:
        with self._lock:
            if self._conn is None:
                raise RuntimeError("the store is closed")
            yield self._conn

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            self._close(conn)


# -- SQL shared by both dialects -----------------------------------------------------------

_MARKS: dict[_Dialect, str] = {"sqlite": "?", "postgresql": "%s"}


def _visibility(dialect: _Dialect, user_id: int, own: bool, other: bool) -> tuple[str, list[int]]:
    """The visibility condition (``""`` for "all") and its parameters."""
    m = _MARKS[dialect]
    if own and other:
        return "", []
    if own:
        return f" AND (p.pm_id = {m} OR p.account_id = {m})", [user_id, user_id]
    return (
        f" AND (p.pm_id IS NULL OR p.pm_id <> {m})"
        f" AND (p.account_id IS NULL OR p.account_id <> {m})",
        [user_id, user_id],
    )


def _select_sql(
    dialect: _Dialect,
    prefix: str,
    company: str,
    user_id: int,
    own: bool,
    other: bool,
    query: Query,
    *,
    row_id: int | None = None,
    index_hint: str = "",
) -> tuple[str, list[Any]]:
    """The one ``SELECT`` of both stores: a page of the visible rows satisfying ``query``
    (ordered by id, ``LIMIT``/``OFFSET``), or with ``row_id`` that one row."""
    m = _MARKS[dialect]
    vis, vis_params = _visibility(dialect, user_id, own, other)
    where, where_params = to_sql(query, dialect, table="s")
    head = (
        f"SELECT {_SELECT_COLUMNS} FROM {prefix}production_plan_streams AS s{index_hint} "
        f"JOIN {prefix}projects AS p ON p.id = s.{_PROJECT_ID} WHERE "
    )
    if row_id is not None:
        sql = head + f"s.{_ID} = {m} AND p.company = {m}{vis} AND {where}"
        return sql, [row_id, company, *vis_params, *where_params]
    sql = head + (
        f"p.company = {m}{vis} AND {where} ORDER BY s.{_ID} LIMIT {m} OFFSET {m}"
    )
    # no limit (a schema without one) is "LIMIT -1" in SQLite and "LIMIT NULL" in PostgreSQL
    limit = query.limit if query.limit is not None else (-1 if dialect == "sqlite" else None)
    offset = min(query.offset or 0, OFFSET_CAP)
    return sql, [company, *vis_params, *where_params, limit, offset]


def _membership_rows(world: World) -> list[tuple[int, str, str | None]]:
    out: list[tuple[int, str, str | None]] = []
    for user in world.users:
        for slug, perms in user.memberships.items():
            if perms:
                out.extend((user.id, slug, p) for p in sorted(perms))
            else:
                out.append((user.id, slug, None))
    return out


def _permissions(rows: Sequence[tuple[Any, ...]]) -> frozenset[str] | None:
    if not rows:
        return None
    return frozenset(r[0] for r in rows if r[0] is not None)


# -- SQLite --------------------------------------------------------------------------------

_SQLITE_TABLES = (
    "CREATE TABLE IF NOT EXISTS companies ("
    " slug TEXT PRIMARY KEY NOT NULL, streams_enabled INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS memberships ("
    " user_id INTEGER NOT NULL, company TEXT NOT NULL, permission TEXT,"
    " UNIQUE (user_id, company, permission))",
    "CREATE TABLE IF NOT EXISTS projects ("
    " id INTEGER PRIMARY KEY, company TEXT NOT NULL, pm_id INTEGER, account_id INTEGER)",
    f"CREATE TABLE IF NOT EXISTS production_plan_streams ("
    f" {_ID} INTEGER PRIMARY KEY, {_column('created_at')} TEXT NOT NULL,"
    f" {_UPDATED_AT} TEXT NOT NULL, {_column('date')} TEXT NOT NULL,"
    f" {_column('value')} TEXT NOT NULL, {_PROJECT_ID} INTEGER NOT NULL,"
    f" {_STREAM_ID} INTEGER NOT NULL, {_PLAN_ID} INTEGER NOT NULL, {_DELETED_AT} TEXT)",
)

_INDEXES = (
    ("projects_company", "projects (company, id)"),
    ("pps_project", f"production_plan_streams ({_PROJECT_ID}, {_ID})"),
    ("pps_updated_at", f"production_plan_streams ({_UPDATED_AT})"),
    ("pps_stream", f"production_plan_streams ({_STREAM_ID})"),
    ("pps_plan", f"production_plan_streams ({_PLAN_ID})"),
    (
        "pps_deleted_at",
        f"production_plan_streams ({_DELETED_AT}) WHERE {_DELETED_AT} IS NOT NULL",
    ),
)
"""(name, what) of the secondary indexes; ``load`` drops them while it bulk-inserts."""

_TABLE_NAMES = ("companies", "users", "memberships", "projects", "production_plan_streams")


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
    where, params = to_sql(Query(SCHEMA, ranges, {"deleted": "include"}), "sqlite", table="s")
    probe = (
        "SELECT count(*) FROM (SELECT 1 FROM production_plan_streams AS s "
        f"INDEXED BY pps_updated_at WHERE {where} LIMIT {RANGE_PROBE_ROWS})"
    )
    try:
        (matched,) = conn.execute(probe, params).fetchone()
    except sqlite3.OperationalError:  # a condition the index cannot serve: no hint
        return ""
    return " INDEXED BY pps_updated_at" if matched < RANGE_PROBE_ROWS else ""


class _SQLStore:
    """The :class:`~.store.Store` protocol in SQL, shared by both stores: each answer is one
    statement, written once here for both dialects.  Subclasses set the dialect, the
    (qualified) table names and the row converter, and may hint an index."""

    _dialect: _Dialect
    _prefix: str  # "" or a quoted schema name and a dot
    _pool: Any

    @staticmethod
    def _row(r: Sequence[Any]) -> ProductionPlanStream:
        raise NotImplementedError

    def _hint(self, conn: Any, query: Query) -> str:
        """An index hint for the list query (SQLite only)."""
        return ""

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def authenticate(self, token: str) -> int | None:
        m = _MARKS[self._dialect]
        r = self._one(f"SELECT id FROM {self._prefix}users WHERE token = {m}", (token,))
        return None if r is None else int(r[0])

    def company(self, slug: str) -> Company | None:
        m = _MARKS[self._dialect]
        r = self._one(
            f"SELECT streams_enabled FROM {self._prefix}companies WHERE slug = {m}", (slug,)
        )
        return None if r is None else Company(slug, bool(r[0]))

    def permissions(self, user_id: int, slug: str) -> frozenset[str] | None:
        m = _MARKS[self._dialect]
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT permission FROM {self._prefix}memberships "
                f"WHERE user_id = {m} AND company = {m}",
                (user_id, slug),
            ).fetchall()
        return _permissions(rows)

    def list_rows(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        query: Query,
    ) -> list[ProductionPlanStream]:
        if not (can_view_own or can_view_other) or query.limit == 0:
            return []
        with self._pool.connection() as conn:
            sql, params = self._list_sql(
                conn, company, user_id, can_view_own, can_view_other, query
            )
            rows = conn.execute(sql, params).fetchall()
        return [self._row(r) for r in rows]

    def get_row(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        row_id: int,
        query: Query,
    ) -> ProductionPlanStream | None:
        if not (can_view_own or can_view_other):
            return None
        r = self._one(*_select_sql(
            self._dialect, self._prefix, company, user_id, can_view_own, can_view_other, query,
            row_id=row_id,
        ))
        return None if r is None else self._row(r)

    def list_sql(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        query: Query,
    ) -> tuple[str, list[Any]]:
        """The ``SELECT`` :meth:`list_rows` runs, and its parameters (for ``EXPLAIN``)."""
        with self._pool.connection() as conn:
            return self._list_sql(conn, company, user_id, can_view_own, can_view_other, query)

    def close(self) -> None:
        """Close every pooled connection (an SQLite file's WAL is checkpointed on the last
        close)."""
        self._pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _list_sql(
        self, conn: Any, company: str, user_id: int, own: bool, other: bool, query: Query
    ) -> tuple[str, list[Any]]:
        return _select_sql(
            self._dialect, self._prefix, company, user_id, own, other, query,
            index_hint=self._hint(conn, query),
        )


class SQLiteStore(_SQLStore):
    """The endpoint's store in an SQLite database (a file, or ``":memory:"``).

    ``SQLiteStore(path)`` opens (or creates) the database and creates the tables that are
    missing; :meth:`from_world` also loads a world.  Thread-safe: a file store lends each
    request its own pooled connection (WAL mode); a ``":memory:"`` store has one
    connection behind a lock.  Close it with :meth:`close` (or use it as a context
    manager).
    """

    _dialect: _Dialect = "sqlite"
    _prefix = ""
    _row = staticmethod(_from_sqlite)
    _hint = staticmethod(_range_hint)

    def __init__(self, path: str | os.PathLike[str] = ":memory:", *, max_idle: int = 32) -> None:
        self.path = os.fspath(path)
        self._memory = self.path == ":memory:" or self.path == ""
        self._pool: _Pool[sqlite3.Connection] | _Single[sqlite3.Connection]
        if self._memory:
            self._pool = _Single(self._connect(), _close_sqlite)
        else:
            self._pool = _Pool(self._connect, _close_sqlite, max_idle)
        with self._pool.connection() as conn:
            if not self._memory:
                conn.execute("PRAGMA journal_mode=WAL")
            for ddl in _SQLITE_TABLES:
                conn.execute(ddl)
            self._create_indexes(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        if not self._memory:
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn

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
        for name, what in _INDEXES:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {what}")

    def load(self, world: World) -> None:
        """Replace the database's contents with ``world``, in one transaction.

        Bulk insert with ``executemany``; the secondary indexes are dropped first and
        rebuilt after (faster than maintaining them row by row), then ``ANALYZE`` gives
        the planner its statistics."""
        memberships = _membership_rows(world)
        with self._pool.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for name, _ in _INDEXES:
                    conn.execute(f"DROP INDEX IF EXISTS {name}")
                for table in _TABLE_NAMES:
                    conn.execute(f"DELETE FROM {table}")
                conn.executemany(
                    "INSERT INTO companies (slug, streams_enabled) VALUES (?, ?)",
                    ((c.slug, int(c.streams_enabled)) for c in world.companies),
                )
                conn.executemany(
                    "INSERT INTO users (id, token) VALUES (?, ?)",
                    ((u.id, u.token) for u in world.users),
                )
                conn.executemany(
                    "INSERT INTO memberships (user_id, company, permission) VALUES (?, ?, ?)",
                    memberships,
                )
                conn.executemany(
                    "INSERT INTO projects (id, company, pm_id, account_id) VALUES (?, ?, ?, ?)",
                    ((p.id, p.company, p.pm_id, p.account_id) for p in world.projects),
                )
                conn.executemany(
                    f"INSERT INTO production_plan_streams ({', '.join(_COLUMNS)}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    map(_to_sqlite, world.rows),
                )
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
                for t in _TABLE_NAMES
            )

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"


def _close_sqlite(conn: sqlite3.Connection) -> None:
    conn.close()


# -- PostgreSQL ----------------------------------------------------------------------------

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


def _pg_tables(s: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE {s}.companies ("
        " slug text PRIMARY KEY, streams_enabled boolean NOT NULL)",
        f"CREATE TABLE {s}.users (id bigint PRIMARY KEY, token text NOT NULL UNIQUE)",
        f"CREATE TABLE {s}.memberships ("
        " user_id bigint NOT NULL, company text NOT NULL, permission text,"
        " UNIQUE (user_id, company, permission))",
        f"CREATE TABLE {s}.projects ("
        " id bigint PRIMARY KEY, company text NOT NULL, pm_id bigint, account_id bigint)",
        f"CREATE TABLE {s}.production_plan_streams ("
        f" {_ID} bigint PRIMARY KEY, {_column('created_at')} timestamptz NOT NULL,"
        f" {_UPDATED_AT} timestamptz NOT NULL, {_column('date')} date NOT NULL,"
        f" {_column('value')} numeric NOT NULL, {_PROJECT_ID} bigint NOT NULL,"
        f" {_STREAM_ID} bigint NOT NULL, {_PLAN_ID} bigint NOT NULL,"
        f" {_DELETED_AT} timestamptz)",
        *(f"CREATE INDEX {name} ON {s}.{what}" for name, what in _INDEXES),
    )


def _from_pg(r: Sequence[Any]) -> ProductionPlanStream:
    return ProductionPlanStream(
        id=r[0],
        created_at=r[1],
        updated_at=r[2],
        date=r[3],
        value=r[4],
        project_id=r[5],
        stream_id=r[6],
        production_plan_id=r[7],
        deleted_at=r[8],
    )


class PostgresStore(_SQLStore):
    """The endpoint's store in PostgreSQL (psycopg 3), in the tables of one schema.

    ``PostgresStore(dsn, schema="public")`` uses tables that exist (create them with
    :meth:`create_tables`, or build everything with :meth:`from_world`).  ``schema``
    names the PostgreSQL schema holding the tables (``[A-Za-z_][A-Za-z0-9_]*``), so tests
    and several worlds can share one database.  Thread-safe: each request borrows a pooled
    autocommit connection (session ``TimeZone=UTC``).
    """

    _dialect: _Dialect = "postgresql"
    _row = staticmethod(_from_pg)

    def __init__(self, dsn: str, *, schema: str = "public", max_idle: int = 4) -> None:
        if _SCHEMA_NAME.match(schema) is None:
            raise ValueError(
                f"schema must match [A-Za-z_][A-Za-z0-9_]* (at most 63 characters), "
                f"got {schema!r}"
            )
        import psycopg  # noqa: F401 - fail here, with the real ImportError, when missing

        self.dsn = dsn
        self.schema = schema
        self._s = f'"{schema}"'
        self._prefix = f"{self._s}."
        self._streams = f"{self._s}.production_plan_streams"
        self._pool: _Pool[psycopg.Connection[tuple[Any, ...]]] = _Pool(
            self._connect, _close_pg, max_idle
        )

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True, options="-c TimeZone=UTC")

    @classmethod
    def from_world(
        cls, world: World, dsn: str, *, schema: str = "public", **kwargs: Any
    ) -> PostgresStore:
        """A store whose tables in ``schema`` (created when missing) are replaced by new
        ones holding exactly ``world``."""
        store = cls(dsn, schema=schema, **kwargs)
        try:
            store.create_tables(replace=True)
            store.load(world)
        except BaseException:
            store.close()
            raise
        return store

    def create_tables(self, *, replace: bool = False) -> None:
        """Create the schema (if missing) and the tables with their indexes; with
        ``replace``, drop the store's tables first (``CASCADE``)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self._s}")
            if replace:
                for table in reversed(_TABLE_NAMES):
                    conn.execute(f"DROP TABLE IF EXISTS {self._s}.{table} CASCADE")
            for ddl in _pg_tables(self._s):
                conn.execute(ddl)

    def drop_tables(self) -> None:
        """Drop the store's tables (not the schema)."""
        with self._pool.connection() as conn, conn.transaction():
            for table in reversed(_TABLE_NAMES):
                conn.execute(f"DROP TABLE IF EXISTS {self._s}.{table} CASCADE")

    def load(self, world: World) -> None:
        """Replace the tables' contents with ``world``, in one transaction: ``TRUNCATE``,
        then ``COPY ... FROM STDIN`` per table, then ``ANALYZE``."""
        s = self._s
        with self._pool.connection() as conn:
            with conn.transaction():
                conn.execute(
                    "TRUNCATE " + ", ".join(f"{s}.{t}" for t in _TABLE_NAMES)
                )
                with conn.cursor() as cur:
                    _copy(cur, f"{s}.companies (slug, streams_enabled)",
                          ((c.slug, c.streams_enabled) for c in world.companies))
                    _copy(cur, f"{s}.users (id, token)",
                          ((u.id, u.token) for u in world.users))
                    _copy(cur, f"{s}.memberships (user_id, company, permission)",
                          _membership_rows(world))
                    _copy(cur, f"{s}.projects (id, company, pm_id, account_id)",
                          ((p.id, p.company, p.pm_id, p.account_id) for p in world.projects))
                    _copy_streams(cur, f"{s}.production_plan_streams ({', '.join(_COLUMNS)})",
                                  world.rows)
            for table in _TABLE_NAMES:
                conn.execute(f"ANALYZE {s}.{table}")

    def count(self) -> int:
        """How many production plan stream rows the tables hold (0 when they are
        missing)."""
        if not self._tables_exist():
            return 0
        with self._pool.connection() as conn:
            r = conn.execute(f"SELECT count(*) FROM {self._streams}").fetchone()
        assert r is not None
        return int(r[0])

    def has_data(self) -> bool:
        """Whether the tables exist and any of them holds anything."""
        if not self._tables_exist():
            return False
        with self._pool.connection() as conn:
            for t in _TABLE_NAMES:
                r = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {self._s}.{t})").fetchone()
                if r is not None and r[0]:
                    return True
        return False

    def _tables_exist(self) -> bool:
        with self._pool.connection() as conn:
            r = conn.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = ANY(%s)",
                (self.schema, list(_TABLE_NAMES)),
            ).fetchone()
        return r is not None and r[0] == len(_TABLE_NAMES)

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self.schema!r})"


def _close_pg(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    conn.close()


def _copy(cur: psycopg.Cursor[tuple[Any, ...]], target: str, rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _pg_datetime(value: dt.datetime) -> str:
    return sqlite_datetime(value) + "+00"


def _copy_streams(
    cur: psycopg.Cursor[tuple[Any, ...]], target: str, rows: Sequence[ProductionPlanStream]
) -> None:
    """COPY in text format, the lines written directly (much faster than adapting each
    value): no field holds a tab, newline or backslash."""
    batch: list[str] = []
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for r in rows:
            deleted = "\\N" if r.deleted_at is None else _pg_datetime(r.deleted_at)
            batch.append(
                f"{r.id}\t{_pg_datetime(r.created_at)}\t{_pg_datetime(r.updated_at)}\t"
                f"{r.date.isoformat()}\t{format_value(r.value)}\t{r.project_id}\t"
                f"{r.stream_id}\t{r.production_plan_id}\t{deleted}\n"
            )
            if len(batch) >= 10_000:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))
