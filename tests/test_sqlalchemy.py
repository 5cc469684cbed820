"""The SQLAlchemy backend: rendered SQL per dialect, its column types, and lookups.  Its
results on real databases are checked in test_sql_differential.py."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from opfilter import parse_query
from test_sql import HUGE, OFF_REAL, SCHEMA

if not os.environ.get("CI"):  # CI must fail loudly without it
    pytest.importorskip("sqlalchemy")
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from opfilter.backends.sqlalchemy import (
    RealDecimal,
    UTCDateTime,
    column_type,
    to_sqlalchemy,
)

LITE = sqlite.dialect()
PG = postgresql.dialect()  # type: ignore[no-untyped-call]

TABLE = sa.Table(
    "t", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
    *(sa.Column(f.column, column_type(f)) for f in SCHEMA.filters),
)


def _render(qs: str, dialect: Any, table: Any = TABLE) -> str:
    expr = to_sqlalchemy(parse_query(qs, SCHEMA), table)
    return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": False}))


def _params(qs: str) -> dict[str, Any]:
    return dict(to_sqlalchemy(parse_query(qs, SCHEMA), TABLE).compile().params)


@pytest.mark.parametrize(
    ("qs", "sqlite_sql"),
    [
        ("", "1"),
        ("i=5", "t.i = ?"),
        ("i=neq:5", "t.i IS NOT ?"),
        ("i=nin:1,2", "t.i IS NULL OR (t.i NOT IN (__[POSTCOMPILE_i_1]))"),
        ("n=in:4,null", "t.n = ? OR t.n IS NULL"),
        ("n=nin:4,null", "t.n != ?"),
        ("n=nin:null", "t.n IS NOT NULL"),
        ("ts=eq:2024-02-29", "t.ts >= ? AND t.ts < ?"),
        ("ts=neq:2024-02-29", "t.ts IS NULL OR t.ts < ? OR t.ts >= ?"),
        ("ts=gt:9999-12-31", "0"),
        ("ts=lte:9999-12-31", "t.ts IS NOT NULL"),
        ("ts=bt:2024-01-01,2024-01-31T12:00:00Z", "t.ts >= ? AND t.ts <= ?"),
        (f"d=eq:{OFF_REAL}", "0"),
        (f"d=neq:{OFF_REAL}", "1"),
        (f"d=lt:{OFF_REAL}", "t.d <= ?"),
        (f"d=gt:{HUGE}", "0"),
        ("deleted=only&i=1", 't.i = ? AND t."ts null" IS NOT NULL'),
    ],
)
def test_rendered_sqlite(qs: str, sqlite_sql: str) -> None:
    assert _render(qs, LITE) == sqlite_sql


def test_rendered_postgresql_quotes_odd_columns() -> None:
    assert _render("i=neq:5&s=eq:x", PG) == (
        't.i IS DISTINCT FROM %(i_1)s::BIGINT AND t."we""ird%%col" = %(we"ird_col_1)s::VARCHAR'
    )


def test_bound_values() -> None:
    assert list(_params("ts=eq:2024-02-29").values()) == [
        datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    ]
    assert list(_params("ts=eq:2024-06-15T10:00:00%2B02:00").values()) == [
        datetime(2024, 6, 15, 8, tzinfo=UTC)
    ]
    assert list(_params(f"d=gt:{OFF_REAL}").values()) == [Decimal("0.100000000000001")]


def test_plain_numeric_columns_are_not_rewritten() -> None:
    plain = sa.Table("p", sa.MetaData(), sa.Column("d", sa.Numeric))
    expr = to_sqlalchemy(parse_query(f"d=eq:{OFF_REAL}", SCHEMA), plain)
    assert list(expr.compile().params.values()) == [Decimal(OFF_REAL)]


def test_alias_and_missing_column() -> None:
    alias = TABLE.alias("a")
    assert _render("i=1", LITE, alias) == "a.i = ?"
    other = sa.Table("o", sa.MetaData(), sa.Column("x", sa.Integer))
    with pytest.raises(KeyError, match="no column 'i'"):
        to_sqlalchemy(parse_query("i=1", SCHEMA), other)


def test_utc_datetime_type_on_sqlite_and_postgresql() -> None:
    t = UTCDateTime()
    lite, pg = LITE, PG
    plus2 = timezone(timedelta(hours=2))
    assert t.process_bind_param(datetime(2024, 1, 1, 1, tzinfo=plus2), lite) == (
        "2023-12-31 23:00:00.000000"
    )
    assert t.process_bind_param(datetime(2024, 1, 1), pg) == datetime(2024, 1, 1, tzinfo=UTC)
    assert t.process_result_value("0001-01-01 00:00:00.000001", lite) == datetime(
        1, 1, 1, 0, 0, 0, 1, tzinfo=UTC
    )
    back = t.process_result_value(datetime(2024, 1, 1, 1, tzinfo=plus2), pg)
    assert back == datetime(2023, 12, 31, 23, tzinfo=UTC)
    assert back is not None
    assert back.tzinfo is UTC
    assert t.process_bind_param(None, lite) is None
    with pytest.raises(TypeError):
        t.process_bind_param(date(2024, 1, 1), lite)  # type: ignore[arg-type]
    assert str(sa.schema.CreateTable(sa.Table("x", sa.MetaData(), sa.Column("c", t)))
               .compile(dialect=lite)).split("(")[1].strip().startswith("c TEXT")


def test_real_decimal_type() -> None:
    t = RealDecimal()
    lite, pg = LITE, PG
    assert t.process_bind_param(Decimal("15.60"), lite) == 15.6
    assert t.process_bind_param(Decimal("15.60"), pg) == Decimal("15.60")
    assert t.process_result_value(0.1, lite) == Decimal("0.1")
    assert t.process_result_value(123456789012345.0, lite) == Decimal("123456789012345")
    with pytest.raises(ValueError, match="15 significant"):
        t.process_bind_param(Decimal(OFF_REAL), lite)
    with pytest.raises(TypeError):
        t.process_bind_param(1.5, lite)  # type: ignore[arg-type]


def test_round_trip_through_sqlite() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        TABLE.metadata.create_all(conn)
        when = datetime(2024, 2, 29, 23, 30, tzinfo=timezone(timedelta(hours=-1)))
        conn.execute(TABLE.insert(), [{"id": 1, "ts": when, "d": Decimal("0.1"), "b": True}])
        raw = conn.execute(sa.text('SELECT ts, d, b FROM t')).one()
        assert tuple(raw) == ("2024-03-01 00:30:00.000000", 0.1, 1)
        got = conn.execute(sa.select(TABLE.c.ts, TABLE.c.d)).one()
        assert tuple(got) == (when, Decimal("0.1"))
        q = parse_query("ts=eq:2024-03-01&d=eq:0.1&b=true", SCHEMA)
        assert conn.execute(sa.select(TABLE.c.id).where(to_sqlalchemy(q, TABLE))).scalars().all() \
            == [1]
    engine.dispose()
