"""What the SQLite and PostgreSQL stores share: the tables (one column list, rendered per
dialect), the one ``SELECT`` of each question the endpoint asks, and the store class
that runs them.  The dialects live in :mod:`.sqlite_store` (:class:`SQLiteStore`) and
:mod:`.pg_store` (:class:`PostgresStore`); both are re-exported here and from
:mod:`opfilter.streams`.

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
written into SQL are the fixed table/column names (checked by :func:`identifier`, which
raises — it is not an ``assert`` that ``python -O`` strips) and (PostgreSQL) a schema
name checked the same way.  No row is ever fetched to be filtered in Python: a request
reads at most one page.

**Offsets.**  ``offset`` may be 2^63−1 (SPEC §5).  It is clamped to :data:`OFFSET_CAP`
(2^62) before it is bound: no table holds 2^62 rows, so the answer (an empty page) is the
same, and ``LIMIT + OFFSET`` can no longer overflow a signed 64-bit integer inside the
database.

Tables (:data:`TABLES`, the column types from :data:`~opfilter.backends.sql.SQLITE_TYPES`
and :data:`~opfilter.backends.sql.POSTGRESQL_TYPES`)::

    companies   (slug PRIMARY KEY, streams_enabled)
    users       (id PRIMARY KEY, token UNIQUE)
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
``deleted_at`` imply ``IS NOT NULL`` and can use the partial index).  ``value`` is TEXT
in SQLite (its shortest exact decimal form: ``value`` is not filterable, and text keeps
every digit) and ``numeric`` in PostgreSQL.

**Under load and faults** (SPEC §11).  Connections are bounded: a request that cannot get
one within the store's ``timeout`` raises :class:`~.store.StoreUnavailable`, and so does a
database that is down or restarting; the endpoint answers both with 503 ``unavailable``.
Neither store ever hands a connection made before a ``fork()`` to the child.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from ..backends.sql import POSTGRESQL_TYPES, SQLITE_TYPES, Dialect, to_sql
from ..query import Query
from ..schema import Type
from . import SCHEMA
from .model import FIELDS, ProductionPlanStream
from .world import Company, World

if TYPE_CHECKING:
    from .pg_store import PostgresStore
    from .sqlite_store import SQLiteStore

__all__ = [
    "MARKS",
    "OFFSET_CAP",
    "TABLES",
    "Column",
    "PostgresStore",
    "SQLStore",
    "SQLiteStore",
    "Table",
    "identifier",
]

OFFSET_CAP = 2**62
"""Offsets above this are bound as this: no table holds that many rows (see the module
docstring)."""

MARKS: dict[Dialect, str] = {"sqlite": "?", "postgresql": "%s"}
"""The placeholder each dialect's driver takes (``sqlite3``: qmark; psycopg 3: format)."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


def identifier(name: str) -> str:
    """``name`` if it may be written into SQL as it is (``[A-Za-z_][A-Za-z0-9_]*``, at most
    63 characters); else :class:`ValueError`."""
    if not isinstance(name, str) or _IDENTIFIER.match(name) is None:
        raise ValueError(
            f"not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters): "
            f"{name!r}"
        )
    return name


def _column(name: str) -> str:
    """The column of a row field: the schema's field → column mapping for filter fields
    (what :func:`to_sql` writes), else the field name."""
    f = SCHEMA.get(name)
    column = getattr(f, "column", None)
    return identifier(column if isinstance(column, str) and column else name)


# -- the tables: one column list, rendered per dialect -------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its name, field type, ``NOT NULL`` unless ``nullable``, extra constraint
    text, and an SQLite type overriding :data:`SQLITE_TYPES`."""

    name: str
    type: Type
    nullable: bool = False
    constraint: str = ""
    sqlite_type: str | None = None

    def ddl(self, dialect: Dialect) -> str:
        if dialect == "sqlite":
            kind = self.sqlite_type or SQLITE_TYPES[self.type]
        else:
            kind = POSTGRESQL_TYPES[self.type]
        parts = [identifier(self.name), kind]
        if self.constraint:
            parts.append(self.constraint)
        if not self.nullable and "PRIMARY KEY" not in self.constraint:
            parts.append("NOT NULL")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Table:
    """A table: name, columns, table constraints, and its secondary indexes as
    ``(index name, "(columns) [WHERE ...]")``."""

    name: str
    columns: tuple[Column, ...]
    constraints: tuple[str, ...] = ()
    indexes: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def create(self, dialect: Dialect, prefix: str = "") -> str:
        body = ", ".join([*(c.ddl(dialect) for c in self.columns), *self.constraints])
        return f"CREATE TABLE IF NOT EXISTS {prefix}{identifier(self.name)} ({body})"

    def create_indexes(self, prefix: str = "") -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {identifier(name)} ON {prefix}{self.name} {what}"
            for name, what in self.indexes
        ]


_I, _S, _DT = Type.INT, Type.STRING, Type.DATETIME
_ID, _PROJECT_ID, _STREAM_ID, _PLAN_ID, _UPDATED_AT, _DELETED_AT = map(
    _column, ("id", "project_id", "stream_id", "production_plan_id", "updated_at", "deleted_at")
)
_ROW_TYPES: dict[str, Column] = {
    "id": Column(_ID, _I, constraint="PRIMARY KEY"),
    "created_at": Column(_column("created_at"), _DT),
    "updated_at": Column(_UPDATED_AT, _DT),
    "date": Column(_column("date"), Type.DATE),
    "value": Column(_column("value"), Type.DECIMAL, sqlite_type="TEXT"),
    "project_id": Column(_PROJECT_ID, _I),
    "stream_id": Column(_STREAM_ID, _I),
    "production_plan_id": Column(_PLAN_ID, _I),
    "deleted_at": Column(_DELETED_AT, _DT, nullable=True),
}

TABLES: tuple[Table, ...] = (
    Table("companies", (Column("slug", _S, constraint="PRIMARY KEY NOT NULL"),
                        Column("streams_enabled", Type.BOOL))),
    Table("users", (Column("id", _I, constraint="PRIMARY KEY"),
                    Column("token", _S, constraint="UNIQUE"))),
    Table("memberships", (Column("user_id", _I), Column("company", _S),
                          Column("permission", _S, nullable=True)),
          constraints=("UNIQUE (user_id, company, permission)",)),
    Table("projects", (Column("id", _I, constraint="PRIMARY KEY"), Column("company", _S),
                       Column("pm_id", _I, nullable=True), Column("account_id", _I, nullable=True)),
          indexes=(("projects_company", "(company, id)"),)),
    Table("production_plan_streams", tuple(_ROW_TYPES[f] for f in FIELDS),
          indexes=(
              ("pps_project", f"({_PROJECT_ID}, {_ID})"),
              ("pps_updated_at", f"({_UPDATED_AT})"),
              ("pps_stream", f"({_STREAM_ID})"),
              ("pps_plan", f"({_PLAN_ID})"),
              ("pps_deleted_at", f"({_DELETED_AT}) WHERE {_DELETED_AT} IS NOT NULL"),
          )),
)
"""Every table of both stores, in creation order."""

TABLE_NAMES = tuple(t.name for t in TABLES)
STREAMS = TABLES[-1]
INDEX_NAMES = tuple(name for t in TABLES for name, _ in t.indexes)
_COLUMNS = STREAMS.column_names  # in the JSON key order
_SELECT_COLUMNS = ", ".join(f"s.{c}" for c in _COLUMNS)


# -- SQL shared by both dialects -----------------------------------------------------------


def _visibility(dialect: Dialect, user_id: int, own: bool, other: bool) -> tuple[str, list[int]]:
    """The visibility condition (``""`` for "all") and its parameters."""
    m = MARKS[dialect]
    if own and other:
        return "", []
    if own:
        return f" AND (p.pm_id = {m} OR p.account_id = {m})", [user_id, user_id]
    return (
        f" AND (p.pm_id IS NULL OR p.pm_id <> {m})"
        f" AND (p.account_id IS NULL OR p.account_id <> {m})",
        [user_id, user_id],
    )


def select_sql(
    dialect: Dialect,
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
    m = MARKS[dialect]
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
    return sql, [company, *vis_params, *where_params, query.limit, min(query.offset, OFFSET_CAP)]


def insert_sql(dialect: Dialect, prefix: str, table: Table) -> str:
    marks = ", ".join(MARKS[dialect] for _ in table.columns)
    return (f"INSERT INTO {prefix}{table.name} ({', '.join(table.column_names)}) "
            f"VALUES ({marks})")


def world_tuples(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of every table but the streams, as tuples in column order."""
    memberships: list[tuple[Any, ...]] = []
    for user in world.users:
        for slug, perms in user.memberships.items():
            if perms:
                memberships.extend((user.id, slug, p) for p in sorted(perms))
            else:
                memberships.append((user.id, slug, None))
    return {
        "companies": [(c.slug, c.streams_enabled) for c in world.companies],
        "users": [(u.id, u.token) for u in world.users],
        "memberships": memberships,
        "projects": [(p.id, p.company, p.pm_id, p.account_id) for p in world.projects],
    }


def _permissions(rows: Sequence[tuple[Any, ...]]) -> frozenset[str] | None:
    if not rows:
        return None
    return frozenset(r[0] for r in rows if r[0] is not None)


# -- fork safety (SPEC §11) -------------------------------------------------------------------

_fork_lock = threading.Lock()


def _renew_fork_lock() -> None:
    global _fork_lock
    _fork_lock = threading.Lock()  # another thread may have held it at fork time


os.register_at_fork(after_in_child=_renew_fork_lock)


class ForkGuard:
    """The process a store's connections belong to, for both stores.

    :meth:`check`, called before each use, runs ``renew`` once in a forked child (gunicorn
    ``--preload``) before the store is used there — under a lock and checked again inside
    it, so that the child's concurrent first requests renew once.  ``renew`` replaces the
    store's per-process state and keeps the parent's referenced but untouched: never used,
    never closed (closing would release the parent's locks or end its sessions)."""

    def __init__(self, renew: Callable[[], None]) -> None:
        self._renew = renew
        self._pid = os.getpid()

    def check(self) -> None:
        if self._pid != os.getpid():
            with _fork_lock:
                if self._pid != os.getpid():
                    self._renew()
                    self._pid = os.getpid()

    @property
    def here(self) -> bool:
        """Whether the connections belong to this process (else ``close`` leaves them)."""
        return self._pid == os.getpid()


class SQLStore:
    """The :class:`~.store.Store` protocol in SQL, shared by both stores: each answer is one
    statement, written once here for both dialects.  Subclasses set the dialect, the
    (qualified) table names, the row converter and :meth:`_connection` (a context manager
    lending a connection, raising :class:`~.store.StoreUnavailable` when none can be had),
    and may hint an index."""

    _dialect: Dialect
    _prefix: str  # "" or a quoted schema name and a dot

    @staticmethod
    def _row(r: Sequence[Any]) -> ProductionPlanStream:
        raise NotImplementedError

    def _connection(self) -> Any:
        raise NotImplementedError

    def _hint(self, conn: Any, query: Query) -> str:
        """An index hint for the list query (SQLite only)."""
        return ""

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchone()

    def authenticate(self, token: str) -> int | None:
        m = MARKS[self._dialect]
        r = self._one(f"SELECT id FROM {self._prefix}users WHERE token = {m}", (token,))
        return None if r is None else int(r[0])

    def company(self, slug: str) -> Company | None:
        m = MARKS[self._dialect]
        r = self._one(
            f"SELECT streams_enabled FROM {self._prefix}companies WHERE slug = {m}", (slug,)
        )
        return None if r is None else Company(slug, bool(r[0]))

    def permissions(self, user_id: int, slug: str) -> frozenset[str] | None:
        m = MARKS[self._dialect]
        with self._connection() as conn:
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
        with self._connection() as conn:
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
        r = self._one(*select_sql(
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
        with self._connection() as conn:
            return self._list_sql(conn, company, user_id, can_view_own, can_view_other, query)

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _list_sql(
        self, conn: Any, company: str, user_id: int, own: bool, other: bool, query: Query
    ) -> tuple[str, list[Any]]:
        return select_sql(
            self._dialect, self._prefix, company, user_id, own, other, query,
            index_hint=self._hint(conn, query),
        )


def __getattr__(name: str) -> Any:
    """``SQLiteStore`` and ``PostgresStore`` are importable from here too (loaded on first
    use: each dialect's module imports this one)."""
    if name == "SQLiteStore":
        from .sqlite_store import SQLiteStore

        return SQLiteStore
    if name == "PostgresStore":
        from .pg_store import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
