"""Differential tests: the rows SQLite, PostgreSQL and SQLAlchemy (on both) select with the
compiled fragment are exactly the rows the in-memory predicate — the oracle — selects.

Each Hypothesis example makes one row set (typed values with NULLs, edge values, and rows
that differ from each other by one microsecond, one day, one unit or only in their UTC
offset), writes it once into every database, and then checks many queries against it.
Query operands are mostly taken from or next to the rows' own values (equal to a bound,
one microsecond off, the row's UTC day or its local day, decimals beyond 15 digits), so
that boundaries are hit rather than missed; some come from ``opfilter.testing.queries``.

Rows are written to raw SQLite by this module's own encoder (the storage format SPEC §7
fixes), not by opfilter's, so a wrong conversion in the backend cannot hide behind the same
wrong conversion in the test.  SQLAlchemy writes through its column types
(``column_type``: ``UTCDateTime``, ``RealDecimal``), checking that they agree.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opfilter import Condition, Op, Query, to_predicate, to_sql
from opfilter.backends.sql import SQLITE_TYPES, quote_identifier
from opfilter.nodes import LIST_OPS, NULL_OPS, Value
from opfilter.schema import Filter, Type
from opfilter.testing import datetimes as library_datetimes
from opfilter.testing import queries as library_queries
from opfilter.testing import values as library_values
from test_sql import SCHEMA

if TYPE_CHECKING:
    import psycopg
    import sqlalchemy as sa

FILTERS = SCHEMA.filters
TABLE = "t"
Row = dict[str, Any]
_INDEX = st.integers(0, 2**16)


# -- writing rows ----------------------------------------------------------------------------


def _sqlite_cell(f: Filter, v: Any) -> Any:
    """The storage format of SPEC §7, written independently of opfilter.backends.sql."""
    if v is None:
        return None
    kind = f.kind
    if kind is Type.DATETIME:
        u = v.astimezone(UTC) if v.tzinfo is not None else v
        return (f"{u.year:04d}-{u.month:02d}-{u.day:02d} "
                f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}")
    if kind is Type.DATE:
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
    if kind is Type.DECIMAL:
        return float(v)
    if kind is Type.BOOL:
        return 1 if v else 0
    return v


_PG_TYPES = {Type.INT: "bigint", Type.DECIMAL: "numeric", Type.DATE: "date",
             Type.DATETIME: "timestamptz", Type.STRING: "text", Type.ENUM: "text",
             Type.BOOL: "boolean"}


def _columns_ddl(types: dict[Type, str]) -> str:
    cols = ", ".join(f"{quote_identifier(f.column)} {types[f.kind]}" for f in FILTERS)
    key = "id bigint PRIMARY KEY" if types is _PG_TYPES else "id INTEGER PRIMARY KEY"
    return f"{key}, {cols}"


def _select(where: str) -> str:
    return f"SELECT id FROM {TABLE} WHERE {where} ORDER BY id"


def _sa_rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{"id": i, **{f.column: r.get(f.name) for f in FILTERS}} for i, r in enumerate(rows)]


def _sa_table(metadata: sa.MetaData, temporary: bool) -> sa.Table:
    import sqlalchemy as sa

    from opfilter.backends.sqlalchemy import column_type

    return sa.Table(
        TABLE, metadata,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        *(sa.Column(f.column, column_type(f), nullable=True) for f in FILTERS),
        prefixes=["TEMPORARY"] if temporary else [],
    )


Run: TypeAlias = Callable[[Query], tuple[str, object, list[int]]]


@dataclass
class Backend:
    """One database the compiled queries run on: how to (re)fill its table, how to select."""

    name: str
    load: Callable[[Sequence[Row]], None]
    run: Run


def _sqlite_backend(stack: ExitStack) -> Backend:
    db = sqlite3.connect(":memory:")
    stack.callback(db.close)
    db.execute(f"CREATE TABLE {TABLE} ({_columns_ddl(dict(SQLITE_TYPES))})")
    marks = ", ".join("?" * (len(FILTERS) + 1))

    def load(rows: Sequence[Row]) -> None:
        db.execute(f"DELETE FROM {TABLE}")
        db.executemany(
            f"INSERT INTO {TABLE} VALUES ({marks})",
            [(i, *(_sqlite_cell(f, r.get(f.name)) for f in FILTERS)) for i, r in enumerate(rows)],
        )

    def run(q: Query) -> tuple[str, object, list[int]]:
        where, params = to_sql(q, "sqlite")
        return where, params, [r[0] for r in db.execute(_select(where), params)]

    return Backend("SQLite", load, run)


def _sqlalchemy_backend(stack: ExitStack, engine: sa.Engine, name: str) -> Backend:
    import sqlalchemy as sa

    from opfilter import to_sqlalchemy

    stack.callback(engine.dispose)
    conn = stack.enter_context(engine.connect())
    table = _sa_table(sa.MetaData(), temporary=engine.dialect.name == "postgresql")
    table.metadata.create_all(conn)

    def load(rows: Sequence[Row]) -> None:
        conn.execute(sa.delete(table))
        if rows:
            conn.execute(table.insert(), _sa_rows(rows))

    def run(q: Query) -> tuple[str, object, list[int]]:
        expr = to_sqlalchemy(q, table)
        stmt = sa.select(table.c.id).where(expr).order_by(table.c.id)
        return str(expr), None, [int(r[0]) for r in conn.execute(stmt)]

    return Backend(name, load, run)


def _postgresql_backend(conn: psycopg.Connection[tuple[object, ...]]) -> Backend:
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    conn.execute(f"CREATE TEMPORARY TABLE {TABLE} ({_columns_ddl(_PG_TYPES)})")
    marks = ", ".join(["%s"] * (len(FILTERS) + 1))

    def load(rows: Sequence[Row]) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DELETE FROM {TABLE}")
            cur.executemany(
                f"INSERT INTO {TABLE} VALUES ({marks})",
                [(i, *(r.get(f.name) for f in FILTERS)) for i, r in enumerate(rows)],
            )

    def run(q: Query) -> tuple[str, object, list[int]]:
        where, params = to_sql(q, "postgresql")
        with conn.cursor() as cur:
            cur.execute(_select(where), params)
            return where, params, [int(r[0]) for r in cur.fetchall()]  # type: ignore[call-overload]

    return Backend("PostgreSQL", load, run)


@pytest.fixture(scope="module")
def backends(request: pytest.FixtureRequest) -> Iterator[list[Backend]]:
    """SQLite and SQLAlchemy-on-SQLite always; PostgreSQL (the session's connection, a
    temporary table) and SQLAlchemy-on-PostgreSQL (one more connection) when a server is
    available — without one, test_postgresql_is_in_the_differential_run shows the skip
    (and under CI the pg_dsn fixture fails instead)."""
    if os.environ.get("CI"):
        import sqlalchemy as sa  # CI must fail loudly without it
    else:
        sa = pytest.importorskip("sqlalchemy")
    with ExitStack() as stack:
        found = [_sqlite_backend(stack),
                 _sqlalchemy_backend(stack, sa.create_engine("sqlite://"), "SQLAlchemy on SQLite")]
        try:
            pg_conn = request.getfixturevalue("pg_conn")
        except pytest.skip.Exception:
            pg_conn = None
        if pg_conn is not None:
            import psycopg

            dsn: str = request.getfixturevalue("pg_dsn")
            found.append(_postgresql_backend(pg_conn))
            engine = sa.create_engine(
                "postgresql+psycopg://",
                creator=lambda: psycopg.connect(dsn, options="-c TimeZone=UTC"),
                poolclass=sa.pool.StaticPool,
            )
            found.append(_sqlalchemy_backend(stack, engine, "SQLAlchemy on PostgreSQL"))
            stack.callback(pg_conn.execute, f"DROP TABLE IF EXISTS {TABLE}")
        yield found


# -- generated rows -----------------------------------------------------------------------


def _shift(f: Filter, v: Any) -> list[Any]:
    """Values next to ``v``: one unit, one microsecond, one day off; the same instant in
    another offset.  Only valid values of ``f``."""
    out: list[Any] = []
    kind = f.kind
    try:
        if kind is Type.INT:
            out = [x for x in (v - 1, v + 1) if f.min <= x <= f.max]
        elif kind is Type.DECIMAL:
            out = [v + Decimal("0.000001"), v - Decimal("0.01"), v * 10]
        elif kind is Type.DATE:
            out = [v + timedelta(days=1), v - timedelta(days=1)]
        elif kind is Type.DATETIME:
            for delta in (timedelta(microseconds=1), -timedelta(microseconds=1),
                          timedelta(days=1)):
                with suppress(OverflowError):
                    out.append(v + delta)
            midnight = datetime.combine(v.astimezone(UTC).date(), time(0), UTC)
            out.append(midnight)  # a UTC day boundary: D0 of the row's day, D1 of the day before
            with suppress(OverflowError):
                out.append(midnight + timedelta(days=1))
            out.append(v.astimezone(timezone(timedelta(hours=-7))))
            out.append(v.astimezone(timezone(timedelta(hours=13, minutes=45))))
    except (OverflowError, ValueError):
        pass
    valid = []
    for x in out:
        if isinstance(x, datetime):
            try:
                x.astimezone(UTC)
            except OverflowError:
                continue
        if isinstance(x, Decimal) and len(x.normalize().as_tuple().digits) > 15:
            continue
        valid.append(x)
    return valid


def _row_value(f: Filter) -> st.SearchStrategy[Any]:
    """As ``opfilter.testing.rows`` draws a value (built once here: reusing strategy objects
    is what keeps generation fast)."""
    if f.kind is Type.DATETIME:
        instants = st.one_of(library_datetimes(), st.sampled_from(_EDGE_INSTANTS))
        return st.one_of(st.none(), instants) if f.nullable else instants
    return library_values(f)


_EDGE_INSTANTS = [
    datetime.max.replace(tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC),
    datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC), datetime.min.replace(tzinfo=UTC),
    datetime(1, 1, 2, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC),
    datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 1, 1, tzinfo=timezone(timedelta(hours=1))),
]
"""Instants on UTC day boundaries and at the ends of the range."""


_MISSING = object()
_ROW = st.fixed_dictionaries({
    f.name: st.one_of(st.just(_MISSING), *[_row_value(f)] * 9) for f in FILTERS
}).map(lambda r: {k: v for k, v in r.items() if v is not _MISSING})
"""A typed row; a field is missing (NULL) one time in ten, like ``rows(missing=True)``."""


@st.composite
def row_sets(draw: st.DrawFn) -> list[Row]:
    """Rows plus near-copies of them (one field moved next to its old value), so that
    some rows sit right at a boundary of others."""
    rows = draw(st.lists(_ROW, max_size=8))
    extra = draw(st.integers(0, 8)) if rows else 0
    for _ in range(extra):
        base = dict(rows[draw(_INDEX) % len(rows)])
        f = FILTERS[draw(_INDEX) % len(FILTERS)]
        v = base.get(f.name)
        options = _shift(f, v) if v is not None else []
        if options:
            base[f.name] = options[draw(_INDEX) % len(options)]
        elif f.nullable or draw(st.booleans()):
            base[f.name] = None
        rows.append(base)
    return rows


# -- generated queries over those rows -------------------------------------------------------

_HUGE = Decimal("1" + "0" * 320)
_EXTREME_DECIMALS = [_HUGE, -_HUGE, Decimal("1e-400"), Decimal("-1e-400"),
                     Decimal("9.999999999999999e307")]


def _near_operands(f: Filter, v: Any) -> list[Value]:
    """Operands equal to, or next to, a row value ``v`` of ``f``."""
    out: list[Any] = [v, *_shift(f, v)]
    if f.kind is Type.DECIMAL:
        tiny = Decimal("1e-20")
        out += [v + tiny, v - tiny]  # more than 15 digits: between two REAL values
    if f.kind is Type.DATETIME:
        u = v.astimezone(UTC)
        out.append(u.date())  # the row's UTC day (a day operand)
        out.append(v.date())  # its local day, which may be another UTC day
        if u.date() < date.max:
            out.append(u.date() + timedelta(days=1))
        if u.date() > date.min:
            out.append(u.date() - timedelta(days=1))
    return out


def _candidates(f: Filter, rows: Sequence[Row]) -> list[Value]:
    out: list[Value] = []
    for r in rows:
        v = r.get(f.name)
        if v is not None:
            out += _near_operands(f, v)
    if f.kind is Type.DECIMAL:
        out += _EXTREME_DECIMALS
    if f.kind is Type.DATETIME:
        out += [date.max, date.min, datetime.max.replace(tzinfo=UTC),
                datetime.min.replace(tzinfo=UTC)]
    return out


_LIBRARY_VALUES = {f.name: library_values(f, null=False) for f in FILTERS}
_OPS = {f.name: [o for o in Op if o in f.ops] for f in FILTERS}
_FIELD = st.sampled_from(FILTERS)
_OP = {f.name: st.sampled_from(_OPS[f.name]) for f in FILTERS}
_SOURCE = st.integers(0, 4)  # 0-2: near a row value; 3: any value; 4: null where allowed
_COUNT = st.integers(1, 4)
_DELETED = st.sampled_from(["include", "include", "exclude", "only"])
_LIBRARY_QUERIES = library_queries(SCHEMA, max_conditions=3)


def _operand(draw: st.DrawFn, f: Filter, candidates: list[Value], null: bool) -> Value:
    source = draw(_SOURCE)
    if source == 4 and null and f.nullable:
        return None
    if source < 3 and candidates:
        return candidates[draw(_INDEX) % len(candidates)]
    return draw(_LIBRARY_VALUES[f.name])


def _condition(draw: st.DrawFn, candidates: dict[str, list[Value]]) -> Condition:
    """A valid condition: strategies are module-level, only indexes into the per-world
    candidate lists are drawn."""
    f = draw(_FIELD)
    op = draw(_OP[f.name])
    null = op in NULL_OPS
    cands = candidates[f.name]
    if op in LIST_OPS:
        operands: tuple[Value, ...] = tuple(
            _operand(draw, f, cands, null) for _ in range(draw(_COUNT))
        )
    elif op is Op.BT:
        a, b = _operand(draw, f, cands, False), _operand(draw, f, cands, False)
        if f.problem(op, (a, b)) is not None:
            a, b = b, a
        if f.problem(op, (a, b)) is not None:
            b = a  # [a, a] is never empty (a day stays a whole day)
        operands = (a, b)
    else:
        operands = (_operand(draw, f, cands, null),)
    return Condition(f.name, op, operands)


@st.composite
def query_lists(draw: st.DrawFn, rows: list[Row]) -> list[Query]:
    """8-20 queries of 1-3 conditions over ``rows``' values, and at most one from
    ``opfilter.testing.queries``."""
    candidates = {f.name: _candidates(f, rows) for f in FILTERS}
    out = []
    for _ in range(draw(st.integers(8, 20))):
        conds = [_condition(draw, candidates) for _ in range(draw(st.integers(1, 3)))]
        out.append(Query(SCHEMA, conds, {"deleted": draw(_DELETED)}))
    if draw(st.booleans()):
        out.append(draw(_LIBRARY_QUERIES))
    return out


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Row], list[Query]]:
    rows = draw(row_sets())
    return rows, draw(query_lists(rows))


# -- the checks -------------------------------------------------------------------------


def _expected(q: Query, rows: Sequence[Row]) -> list[int]:
    predicate = to_predicate(q)
    return [i for i, r in enumerate(rows) if predicate(r)]


def _explain(name: str, q: Query, where: str, params: object, rows: Sequence[Row],
             expected: list[int], got: list[int]) -> str:
    diff = sorted(set(expected) ^ set(got))
    shown = "\n".join(f"  row {i}: {rows[i]!r}" for i in diff)
    return (f"{name} disagrees with the predicate for {q!r}\n  SQL: {where}\n  params: {params!r}"
            f"\n  expected ids {expected}, got {got}; rows that differ:\n{shown}")


def _check_all(
    rows: list[Row], qs: list[Query],
    backends: list[tuple[str, Run]],
) -> int:
    checked = 0
    for q in qs:
        expected = _expected(q, rows)
        for name, run in backends:
            where, params, got = run(q)
            assert got == expected, _explain(name, q, where, params, rows, expected, got)
            checked += 1
    return checked


@pytest.mark.postgresql  # its backends fixture reaches PostgreSQL via getfixturevalue
@given(worlds())
def test_every_backend_agrees_with_the_predicate(
    backends: list[Backend], world: tuple[list[Row], list[Query]]
) -> None:
    rows, qs = world
    for b in backends:
        b.load(rows)
    checked = _check_all(rows, qs, [(b.name, b.run) for b in backends])
    assert checked == len(backends) * len(qs)


@pytest.mark.postgresql
def test_postgresql_is_in_the_differential_run(
    backends: list[Backend], pg_conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    names = [b.name for b in backends]
    assert names == ["SQLite", "SQLAlchemy on SQLite", "PostgreSQL", "SQLAlchemy on PostgreSQL"]
    row = pg_conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    assert int(str(row[0])) >= 150000


@pytest.mark.postgresql  # its backends fixture reaches PostgreSQL via getfixturevalue
def test_the_differential_check_can_fail(backends: list[Backend]) -> None:
    """A deliberately wrong fragment is caught: the harness compares, not just runs."""
    rows: list[Row] = [{"i": 1, "tsn": None}, {"i": 2}]
    sqlite = backends[0]
    sqlite.load(rows)
    q = Query(SCHEMA, [Condition("i", Op.NEQ, (1,))])
    assert sqlite.run(q)[2] == [1]

    def wrong(q: Query) -> tuple[str, object, list[int]]:
        return "1 = 1", [], [0, 1]

    with pytest.raises(AssertionError, match="disagrees with the predicate"):
        _check_all(rows, [q], [("broken", wrong)])
