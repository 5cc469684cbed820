"""The endpoint's store in PostgreSQL (psycopg 3): :class:`PostgresStore`.

Storage: ``timestamptz``, ``date``, ``numeric`` and ``bigint``; sessions run with
``TimeZone=UTC`` in autocommit mode (each ``SELECT`` is its own snapshot).  Rows come
back as :class:`~.model.ProductionPlanStream` objects equal to the ones loaded.

**Connections** come from a :class:`psycopg_pool.ConnectionPool` (extra
``opfilter[postgresql]``): at most ``max_size`` at once, a request waits at most
``timeout`` seconds for one.  A request that gets none in time, or whose connection
fails (the server is down, restarting, or ended the session), raises
:class:`~.store.StoreUnavailable` — the endpoint's 503.  A broken connection is dropped by
the pool when it comes back, and the pool reconnects in the background; its
``reconnect_timeout`` is short (2 s), so that after an outage a waiting request starts a
fresh attempt at least every couple of seconds instead of the pool's default exponential
backoff of up to minutes.

**Fork safety.**  The pool (its connections and worker threads) belongs to the process
that opened it.  In a forked child (gunicorn ``--preload``) the store opens a new pool on
first use and keeps the inherited one referenced but untouched: closing it would send the
parent's sessions a terminate message through the shared sockets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..backends.sql import Dialect, sqlite_datetime
from .model import ProductionPlanStream, format_value
from .sqlstore import STREAMS, TABLE_NAMES, TABLES, ForkGuard, SQLStore, identifier, world_tuples
from .store import StoreUnavailable
from .world import World

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore"]

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


class PostgresStore(SQLStore):
    """The endpoint's store in PostgreSQL (psycopg 3), in the tables of one schema.

    ``PostgresStore(dsn, schema="public")`` uses tables that exist (create them with
    :meth:`create_tables`, or build everything with :meth:`from_world`).  ``schema``
    names the PostgreSQL schema holding the tables (``[A-Za-z_][A-Za-z0-9_]*``), so tests
    and several worlds can share one database.  Thread-safe and fork-safe: each request
    borrows an autocommit connection (session ``TimeZone=UTC``) from a
    ``psycopg_pool.ConnectionPool`` of ``min_size``..``max_size`` connections, waiting at
    most ``timeout`` seconds (then :class:`~.store.StoreUnavailable`).
    """

    _dialect: Dialect = "postgresql"
    _row = staticmethod(_from_pg)

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 5.0,
        reconnect_timeout: float = 2.0,
    ) -> None:
        try:
            identifier(schema)
        except ValueError:
            raise ValueError(
                f"schema must match [A-Za-z_][A-Za-z0-9_]* (at most 63 characters), "
                f"got {schema!r}"
            ) from None
        import psycopg  # noqa: F401 - fail here, with the real ImportError, when missing
        import psycopg_pool  # noqa: F401

        self.dsn = dsn
        self.schema = schema
        self.timeout = timeout
        self._sizes = (min_size, max_size)
        self._reconnect_timeout = reconnect_timeout
        self._s = f'"{schema}"'
        self._prefix = f"{self._s}."
        self._streams = f"{self._s}.production_plan_streams"
        self._inherited: list[ConnectionPool[Any]] = []
        self._closed = False
        self._pool = self._open_pool()
        self._guard = ForkGuard(self._renew_pool)

    def _renew_pool(self) -> None:
        self._inherited.append(self._pool)  # the parent's: never used or closed
        self._pool = self._open_pool()

    def _open_pool(self) -> ConnectionPool[Any]:
        from psycopg_pool import ConnectionPool

        min_size, max_size = self._sizes
        pool: ConnectionPool[Any] = ConnectionPool(
            self.dsn,
            kwargs={"autocommit": True, "options": "-c TimeZone=UTC"},
            min_size=min_size,
            max_size=max_size,
            timeout=self.timeout,
            reconnect_timeout=self._reconnect_timeout,
            name=f"opfilter-{self.schema}",
            open=False,
        )
        pool.open(wait=False)
        return pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        import psycopg
        from psycopg_pool import PoolClosed, PoolTimeout

        self._guard.check()
        if self._closed:
            raise RuntimeError("the store is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolClosed:
            raise RuntimeError("the store is closed") from None
        except PoolTimeout as e:
            raise StoreUnavailable(
                f"no PostgreSQL connection within {self.timeout:g} s "
                f"(at most {self._sizes[1]} at once, or the server is unreachable)"
            ) from e
        except psycopg.OperationalError as e:
            raise StoreUnavailable(f"PostgreSQL is unavailable: {e}") from e

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait (up to ``timeout`` seconds, whatever the per-request ``timeout``) until the
        pool holds its first connections; raises :class:`StoreUnavailable` if it does not."""
        from psycopg_pool import PoolTimeout

        try:
            self._pool.wait(timeout=max(timeout, self.timeout))
        except PoolTimeout as e:
            raise StoreUnavailable(
                f"no PostgreSQL connection within {max(timeout, self.timeout):g} s "
                "(is the server running, and the DSN right?)"
            ) from e

    def close(self) -> None:
        """Close the pool and its connections."""
        self._closed = True
        if self._guard.here:
            self._pool.close()

    @classmethod
    def from_world(
        cls, world: World, dsn: str, *, schema: str = "public", **kwargs: Any
    ) -> PostgresStore:
        """A store whose tables in ``schema`` (created when missing) are replaced by new
        ones holding exactly ``world``."""
        store = cls(dsn, schema=schema, **kwargs)
        try:
            store.wait_ready()  # set-up is not a request: it does not get the short timeout
            store.create_tables(replace=True)
            store.load(world)
        except BaseException:
            store.close()
            raise
        return store

    def create_tables(self, *, replace: bool = False) -> None:
        """Create the schema (if missing) and the tables with their indexes; with
        ``replace``, drop the store's tables first (``CASCADE``)."""
        with self._connection() as conn, conn.transaction():
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self._s}")
            if replace:
                for table in reversed(TABLE_NAMES):
                    conn.execute(f"DROP TABLE IF EXISTS {self._s}.{table} CASCADE")
            for t in TABLES:
                conn.execute(t.create("postgresql", self._prefix))
                for ddl in t.create_indexes(self._prefix):
                    conn.execute(ddl)

    def drop_tables(self) -> None:
        """Drop the store's tables (not the schema)."""
        with self._connection() as conn, conn.transaction():
            for table in reversed(TABLE_NAMES):
                conn.execute(f"DROP TABLE IF EXISTS {self._s}.{table} CASCADE")

    def load(self, world: World) -> None:
        """Replace the tables' contents with ``world``, in one transaction: ``TRUNCATE``,
        then ``COPY ... FROM STDIN`` per table, then ``ANALYZE``."""
        s = self._s
        tuples = world_tuples(world)
        with self._connection() as conn:
            with conn.transaction():
                conn.execute("TRUNCATE " + ", ".join(f"{s}.{t}" for t in TABLE_NAMES))
                with conn.cursor() as cur:
                    for t in TABLES[:-1]:
                        _copy(cur, f"{s}.{t.name} ({', '.join(t.column_names)})",
                              tuples[t.name])
                    _copy_streams(cur, f"{s}.{STREAMS.name} ({', '.join(STREAMS.column_names)})",
                                  world.rows)
            for table in TABLE_NAMES:
                conn.execute(f"ANALYZE {s}.{table}")

    def count(self) -> int:
        """How many production plan stream rows the tables hold (0 when they are
        missing)."""
        if not self._tables_exist():
            return 0
        r = self._one(f"SELECT count(*) FROM {self._streams}", ())
        return int(r[0])

    def has_data(self) -> bool:
        """Whether the tables exist and any of them holds anything."""
        if not self._tables_exist():
            return False
        with self._connection() as conn:
            for t in TABLE_NAMES:
                r = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {self._s}.{t})").fetchone()
                if r is not None and r[0]:
                    return True
        return False

    def _tables_exist(self) -> bool:
        r = self._one(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = ANY(%s)",
            (self.schema, list(TABLE_NAMES)),
        )
        return r is not None and r[0] == len(TABLE_NAMES)

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self.schema!r})"


def _copy(cur: psycopg.Cursor[tuple[Any, ...]], target: str, rows: Iterable[Sequence[Any]]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _pg_datetime(value: Any) -> str:
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
