"""The SQL backend's output: the exact fragments and parameters per operator and dialect
(NULL forms, whole-UTC-day operands, decimals outside SQLite's REAL domain), quoting,
paramstyles and SQLite datetime storage styles, render plans and the condition memo, and
that no operand value ever reaches the SQL text.  The differential tests against real
databases are in test_sql_differential.py."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opfilter import (
    Condition,
    EnumParam,
    Filter,
    Op,
    Query,
    Schema,
    parse_query,
    to_predicate,
    to_sql,
)
from opfilter.backends import sql as sqlmod
from opfilter.backends.sql import (
    POSTGRESQL_TYPES,
    SQLITE_TYPES,
    Dialect,
    quote_identifier,
    real_domain,
    real_neighbours,
    sqlite_datetime,
    sqlite_value,
)
from opfilter.lowering import lower
from opfilter.schema import Type
from opfilter.testing import queries

SCHEMA = Schema(
    Filter("i", "int"),
    Filter("d", "decimal"),
    Filter("day", "date"),
    Filter("ts", "datetime"),
    Filter("tsn", "datetime", nullable=True, column="ts null"),
    Filter("s", "string", nullable=True, column='we"ird%col'),
    Filter("b", "bool"),
    Filter("e", "enum", choices=("red", "green", "blue")),
    Filter("n", "int", nullable=True),
    EnumParam(
        "deleted",
        ("exclude", "include", "only"),
        default="include",
        implies={
            "exclude": (Condition("tsn", Op.EQ, (None,)),),
            "only": (Condition("tsn", Op.NEQ, (None,)),),
        },
    ),
    name="sql-test",
)
"""Every field type; odd column names (a space, a quote, a percent sign)."""

S = '"we""ird%col"'
T = '"ts null"'
HUGE = "1" + "0" * 400
TINY = "0." + "0" * 400 + "1"
OFF_REAL = "0.10000000000000000001"  # 21 significant digits: between two REAL-domain values


def _ts(text: str) -> str:
    return text + " 00:00:00.000000" if len(text) == 10 else text


# (query string, SQLite fragment, SQLite params)
CASES: list[tuple[str, str, list[object]]] = [
    ("", "1 = 1", []),
    ("i=5", '"i" = ?', [5]),
    ("i=eq:-9223372036854775808", '"i" = ?', [-(2**63)]),
    ("i=neq:5", '"i" IS NOT ?', [5]),
    ("i=gt:5", '"i" > ?', [5]),
    ("i=gte:5", '"i" >= ?', [5]),
    ("i=lt:5", '"i" < ?', [5]),
    ("i=lte:9223372036854775807", '"i" <= ?', [2**63 - 1]),
    ("i=in:3,1,3", '"i" IN (?, ?, ?)', [3, 1, 3]),
    ("i=in:7", '"i" = ?', [7]),
    ("i=nin:1,2", '("i" IS NULL OR "i" NOT IN (?, ?))', [1, 2]),
    ("i=nin:1", '"i" IS NOT ?', [1]),
    ("i=bt:1,9", '"i" BETWEEN ? AND ?', [1, 9]),
    ("i=bt:4,4", '"i" BETWEEN ? AND ?', [4, 4]),
    ("i=1&i=gt:0", '"i" = ? AND "i" > ?', [1, 0]),
    ("n=eq:null", '"n" IS NULL', []),
    ("n=neq:null", '"n" IS NOT NULL', []),
    ("n=in:null", '"n" IS NULL', []),
    ("n=nin:null", '"n" IS NOT NULL', []),
    ("n=in:4,null,5", '("n" IN (?, ?) OR "n" IS NULL)', [4, 5]),
    ("n=in:null,4", '("n" = ? OR "n" IS NULL)', [4]),
    ("n=nin:4,null", '"n" <> ?', [4]),
    ("n=nin:4,5,null", '"n" NOT IN (?, ?)', [4, 5]),
    # instants: converted to UTC, fixed-width text
    ("ts=eq:2024-06-15T10:00:00%2B02:00", '"ts" = ?', ["2024-06-15 08:00:00.000000"]),
    ("ts=gt:2024-06-15T00:00:00.5-00:30", '"ts" > ?', ["2024-06-15 00:30:00.500000"]),
    ("ts=lt:0001-01-01T00:00:00Z", '"ts" < ?', ["0001-01-01 00:00:00.000000"]),
    # a date on a datetime field: the whole UTC day [D0, D1)
    ("ts=eq:2024-02-29", '"ts" >= ? AND "ts" < ?', [_ts("2024-02-29"), _ts("2024-03-01")]),
    ("ts=neq:2024-02-29", '("ts" IS NULL OR "ts" < ? OR "ts" >= ?)',
     [_ts("2024-02-29"), _ts("2024-03-01")]),
    ("ts=gt:2024-02-29", '"ts" >= ?', [_ts("2024-03-01")]),
    ("ts=gte:2024-02-29", '"ts" >= ?', [_ts("2024-02-29")]),
    ("ts=lt:2024-02-29", '"ts" < ?', [_ts("2024-02-29")]),
    ("ts=lte:2024-02-29", '"ts" < ?', [_ts("2024-03-01")]),
    ("ts=bt:2023-12-31,2024-01-31", '"ts" >= ? AND "ts" < ?',
     [_ts("2023-12-31"), _ts("2024-02-01")]),
    ("ts=bt:2024-01-01T12:00:00Z,2024-01-31", '"ts" >= ? AND "ts" < ?',
     ["2024-01-01 12:00:00.000000", _ts("2024-02-01")]),
    ("ts=bt:2024-01-01,2024-01-31T12:00:00Z", '"ts" BETWEEN ? AND ?',
     [_ts("2024-01-01"), "2024-01-31 12:00:00.000000"]),
    ("ts=bt:2024-01-01T00:00:00.000001Z,2024-01-01T00:00:00.000001Z", '"ts" BETWEEN ? AND ?',
     ["2024-01-01 00:00:00.000001", "2024-01-01 00:00:00.000001"]),
    ("ts=in:2024-01-01,2024-01-05T10:00:00Z,2024-01-07T10:00:00Z",
     '("ts" IN (?, ?) OR ("ts" >= ? AND "ts" < ?))',
     ["2024-01-05 10:00:00.000000", "2024-01-07 10:00:00.000000", _ts("2024-01-01"),
      _ts("2024-01-02")]),
    ("ts=in:2024-01-01,2024-01-03", '(("ts" >= ? AND "ts" < ?) OR ("ts" >= ? AND "ts" < ?))',
     [_ts("2024-01-01"), _ts("2024-01-02"), _ts("2024-01-03"), _ts("2024-01-04")]),
    ("ts=nin:2024-01-01,2024-01-05T10:00:00Z",
     '("ts" IS NULL OR ("ts" <> ? AND ("ts" < ? OR "ts" >= ?)))',
     ["2024-01-05 10:00:00.000000", _ts("2024-01-01"), _ts("2024-01-02")]),
    ("tsn=nin:null,2024-01-01", f"({T} < ? OR {T} >= ?)", [_ts("2024-01-01"), _ts("2024-01-02")]),
    ("tsn=nin:null,2024-01-01,2024-01-01T05:00:00Z",
     f"{T} <> ? AND ({T} < ? OR {T} >= ?)",
     ["2024-01-01 05:00:00.000000", _ts("2024-01-01"), _ts("2024-01-02")]),
    ("tsn=in:null,2024-01-01", f"(({T} >= ? AND {T} < ?) OR {T} IS NULL)",
     [_ts("2024-01-01"), _ts("2024-01-02")]),
    # the last day has no end
    ("ts=eq:9999-12-31", '"ts" >= ?', [_ts("9999-12-31")]),
    ("ts=neq:9999-12-31", '("ts" IS NULL OR "ts" < ?)', [_ts("9999-12-31")]),
    ("tsn=in:9999-12-31,null", f"({T} >= ? OR {T} IS NULL)", [_ts("9999-12-31")]),
    ("tsn=nin:9999-12-31,null", f"{T} < ?", [_ts("9999-12-31")]),
    ("ts=gt:9999-12-31", "1 = 0", []),
    ("ts=gte:9999-12-31", '"ts" >= ?', [_ts("9999-12-31")]),
    ("ts=lt:9999-12-31", '"ts" < ?', [_ts("9999-12-31")]),
    ("ts=lte:9999-12-31", '"ts" IS NOT NULL', []),
    ("ts=bt:2024-01-01,9999-12-31", '"ts" >= ?', [_ts("2024-01-01")]),
    ("ts=bt:9999-12-31T23:59:59.999999Z,9999-12-31", '"ts" >= ?',
     ["9999-12-31 23:59:59.999999"]),
    ("ts=gt:0001-01-01", '"ts" >= ?', [_ts("0001-01-02")]),
    # dates
    ("day=eq:2024-02-29", '"day" = ?', ["2024-02-29"]),
    ("day=gt:9999-12-31", '"day" > ?', ["9999-12-31"]),
    ("day=bt:0001-01-01,9999-12-31", '"day" BETWEEN ? AND ?', ["0001-01-01", "9999-12-31"]),
    # decimals: REAL, exact within 15 significant digits; other operands rewritten
    ("d=eq:15.60", '"d" = ?', [15.6]),
    ("d=eq:-0.000", '"d" = ?', [0.0]),
    ("d=gt:999999999999999", '"d" > ?', [999999999999999.0]),
    (f"d=eq:{OFF_REAL}", "1 = 0", []),
    (f"d=neq:{OFF_REAL}", "1 = 1", []),
    (f"d=in:1.5,{OFF_REAL}", '"d" = ?', [1.5]),
    (f"d=in:{OFF_REAL}", "1 = 0", []),
    (f"d=nin:{OFF_REAL}", "1 = 1", []),
    (f"d=nin:1.5,{OFF_REAL},2.5", '("d" IS NULL OR "d" NOT IN (?, ?))', [1.5, 2.5]),
    (f"d=gt:{OFF_REAL}", '"d" >= ?', [0.100000000000001]),
    (f"d=gte:{OFF_REAL}", '"d" >= ?', [0.100000000000001]),
    (f"d=lt:{OFF_REAL}", '"d" <= ?', [0.1]),
    (f"d=lte:{OFF_REAL}", '"d" <= ?', [0.1]),
    (f"d=lt:-{OFF_REAL}", '"d" <= ?', [-0.100000000000001]),
    (f"d=bt:{OFF_REAL},0.10000000000000000002", '"d" BETWEEN ? AND ?', [0.100000000000001, 0.1]),
    (f"d=bt:0.1,{OFF_REAL}", '"d" BETWEEN ? AND ?', [0.1, 0.1]),
    ("d=gt:1234567890.1234567", '"d" >= ?', [1234567890.12346]),
    (f"d=gt:{HUGE}", "1 = 0", []),
    (f"d=gte:{HUGE}", "1 = 0", []),
    (f"d=lt:{HUGE}", '"d" <= ?', [9.99999999999999e307]),
    (f"d=lt:-{HUGE}", "1 = 0", []),
    (f"d=gt:-{HUGE}", '"d" >= ?', [-9.99999999999999e307]),
    (f"d=gt:{TINY}", '"d" >= ?', [1e-307]),
    (f"d=lte:{TINY}", '"d" <= ?', [0.0]),
    (f"d=lt:-{TINY}", '"d" <= ?', [-1e-307]),
    (f"d=gte:-{TINY}", '"d" >= ?', [0.0]),
    (f"d=bt:-{HUGE},{HUGE}", '"d" BETWEEN ? AND ?', [-9.99999999999999e307, 9.99999999999999e307]),
    # bool, enum, string
    ("b=true", '"b" = ?', [1]),
    ("b=neq:false", '"b" IS NOT ?', [0]),
    ("b=in:true,false", '"b" IN (?, ?)', [1, 0]),
    ("e=in:red,blue", '"e" IN (?, ?)', ["red", "blue"]),
    ("e=nin:green", '"e" IS NOT ?', ["green"]),
    ('s=eq:"null"', f"{S} = ?", ["null"]),
    ("s=eq:null", f"{S} IS NULL", []),
    ('s=in:"a,b",""', f"{S} IN (?, ?)", ["a,b", ""]),
    # plain parameters imply conditions; limit/offset never appear
    ("deleted=exclude", f"{T} IS NULL", []),
    ("deleted=only&i=1", f'"i" = ? AND {T} IS NOT NULL', [1]),
    ("deleted=exclude&tsn=gt:2024-01-01T00:00:00Z", f"{T} > ? AND {T} IS NULL",
     ["2024-01-01 00:00:00.000000"]),
]


def _pg_sql(sqlite_sql: str) -> str:
    """The PostgreSQL spelling of a SQLite fragment of CASES."""
    out = sqlite_sql.replace("IS NOT ?", "IS DISTINCT FROM ?").replace("%", "%%")
    return out.replace("?", "%s")


def _pg_param(f: Filter, v: object) -> object:
    """What the PostgreSQL dialect binds for a SQLite param of CASES (inverse mapping)."""
    if f.kind is Type.DATETIME:
        assert isinstance(v, str)
        return datetime.fromisoformat(v).replace(tzinfo=UTC)
    if f.kind is Type.DATE:
        assert isinstance(v, str)
        return date.fromisoformat(v)
    if f.kind is Type.DECIMAL:
        return float(v)  # type: ignore[arg-type]
    if f.kind is Type.BOOL:
        return bool(v)
    return v


@pytest.mark.parametrize(("qs", "where", "params"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_sqlite_fragment(qs: str, where: str, params: list[object]) -> None:
    q = parse_query(qs, SCHEMA)
    got_sql, got_params = to_sql(q, "sqlite")
    assert got_sql == where
    assert got_params == params
    assert [type(p) for p in got_params] == [type(p) for p in params]


PG_CASES = [c for c in CASES if not c[0].startswith("d=")]  # decimals: numeric, no rewrite


@pytest.mark.parametrize(
    ("qs", "where", "params"), PG_CASES, ids=[c[0] or "<empty>" for c in PG_CASES]
)
def test_postgresql_fragment(qs: str, where: str, params: list[object]) -> None:
    q = parse_query(qs, SCHEMA)
    got_sql, got_params = to_sql(q, "postgresql")
    assert got_sql == _pg_sql(where)
    assert isinstance(got_params, list)
    bound = {SCHEMA.field(c.field) for c in q.all_conditions() if c.operands != (None,)}
    if got_params:
        (f,) = bound  # in every case, a single field has bound values
        assert got_params == [_pg_param(f, p) for p in params]
        assert [type(p) for p in got_params] == [type(_pg_param(f, p)) for p in params]


def test_postgresql_params_are_typed() -> None:
    q = parse_query(
        "i=1&d=eq:15.60&day=2024-02-29&ts=eq:2024-06-15T10:00:00%2B02:00&b=true&e=red"
        "&ts=lte:2024-02-29&s=eq:x",
        SCHEMA,
    )
    where, params = to_sql(q, "postgresql", table="t")
    assert where == (
        '"t"."i" = %s AND "t"."d" = %s AND "t"."day" = %s AND "t"."ts" = %s AND "t"."ts" < %s'
        ' AND "t"."we""ird%%col" = %s AND "t"."b" = %s AND "t"."e" = %s'
    )
    assert params == [1, Decimal("15.60"), date(2024, 2, 29),
                      datetime(2024, 6, 15, 8, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC), "x",
                      True, "red"]
    assert [type(p) for p in params] == [int, Decimal, date, datetime, datetime, str, bool, str]
    ts = params[3]
    assert isinstance(ts, datetime)
    assert ts.utcoffset() is not None


def test_postgresql_decimals_stay_exact() -> None:
    q = parse_query(f"d=gt:{OFF_REAL}&d=lt:{HUGE}&d=neq:{TINY}", SCHEMA)
    assert to_sql(q, "postgresql") == (
        '"d" > %s AND "d" < %s AND "d" IS DISTINCT FROM %s',
        [Decimal(OFF_REAL), Decimal(HUGE), Decimal(TINY)],
    )


def test_table_alias_is_quoted() -> None:
    q = parse_query("i=1&tsn=eq:null", SCHEMA)
    assert to_sql(q, "sqlite", table='my "t"') == (
        '"my ""t"""."i" = ? AND "my ""t"""."ts null" IS NULL', [1]
    )
    assert to_sql(q, "postgresql", table="50%")[0] == '"50%%"."i" = %s AND "50%%"."ts null" IS NULL'


def test_limit_and_offset_are_never_compiled() -> None:
    from opfilter.streams import SCHEMA as STREAMS

    q = parse_query("limit=5&offset=10&deleted=include", STREAMS)
    assert to_sql(q, "sqlite") == ("1 = 1", [])
    assert to_sql(q, "postgresql") == ("1 = 1", [])
    q = parse_query("limit=5&offset=10", STREAMS)
    assert to_sql(q, "sqlite") == ('"deleted_at" IS NULL', [])


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unknown SQL dialect 'mysql'"):
        to_sql(parse_query("", SCHEMA), "mysql")  # type: ignore[arg-type]


def test_params_is_a_fresh_list() -> None:
    q = parse_query("i=in:1,2", SCHEMA)
    first = to_sql(q, "sqlite")[1]
    first.append(99)
    assert to_sql(q, "sqlite")[1] == [1, 2]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    ("first", "then", "shared"),
    [
        ("d=eq:1.0", "d=eq:1", True),  # Decimal("1.0") == Decimal("1"): one memo key
        ("d=in:0.50,2", "d=in:0.5,2.000", True),
        ("ts=eq:2024-06-05T10:00:00+02:00", "ts=eq:2024-06-05T08:00:00Z", True),  # one instant
        ("ts=eq:2024-06-05T00:00:00Z", "ts=eq:2024-06-05", False),  # an instant, a whole day
        ("ts=lte:2024-06-05T00:00:00Z", "ts=lte:2024-06-05", False),
        ("ts=bt:2024-06-05T00:00:00Z,2024-06-06T00:00:00Z", "ts=bt:2024-06-05,2024-06-06",
         False),
    ],
)
def test_a_warm_condition_memo_gives_the_cold_answer(
    first: str, then: str, shared: bool, dialect: Dialect
) -> None:
    """``to_sql``'s condition memo (an ``lru_cache``) keys on the operands' equality, not
    their type or spelling.  Operands of another type than the field's never reach it
    (``Query`` refuses them, so ``(1,) == (True,)`` cannot meet there: see
    test_lowering.test_hand_built_query_is_validated); equal operands of the field's
    type share an entry and must render alike, and a day never meets its midnight."""

    def cold_caches() -> None:
        sqlmod._condition.cache_clear()
        sqlmod._PLANS.clear()

    q = parse_query(then, SCHEMA)
    cold_caches()
    cold = to_sql(q, dialect)
    cold_caches()
    to_sql(parse_query(first, SCHEMA), dialect)
    hits = sqlmod._condition.cache_info().hits
    warm = to_sql(q, dialect)
    assert (sqlmod._condition.cache_info().hits > hits) is shared
    assert warm[0] == cold[0]
    assert warm[1] == cold[1]
    assert [type(p) for p in warm[1]] == [type(p) for p in cold[1]]


@given(qs=st.lists(queries(SCHEMA), min_size=2, max_size=6), dialect=st.sampled_from(
    ["sqlite", "postgresql"]))
def test_sql_render_plans_give_what_rendering_the_lowering_gives(
    qs: list[Query], dialect: str
) -> None:
    """Conditions of a shape seen before are rendered from that shape's plan: the text and
    the parameters must be exactly what lowering and rendering them afresh gives."""
    d = sqlmod._dialect(dialect, None, "fixed")
    for q in qs:
        for c in q.all_conditions():
            f = SCHEMA.field(c.field)
            column = sqlmod._column(d, f, None)
            fresh = sqlmod._render(d, f.kind, column, lower(f, c).meaning)
            for _ in range(2):  # the first call may make the plan, the second uses it
                assert sqlmod._condition.__wrapped__(d, f, c.op, c.operands, None) == fresh


def test_sql_and_predicate_render_every_shape_of_the_lowering() -> None:
    """mypy checks the ``match``es exhaustively (assert_never); this renders one meaning
    of each shape through the SQL and the predicate renderers and compares with the
    oracle on a value ladder (the other backends: their own differential tests)."""
    import typing

    from opfilter import lowering as lw
    from opfilter.backends import predicate as pmod

    samples: list[lw.Meaning] = [
        lw.Member((1, 5), (lw.Interval(lw.Bound(7, True), lw.Bound(9, False)),), True),
        lw.NotMember((1, 5), (lw.Interval(lw.Bound(7, True), lw.Bound(9, False)),), False),
        lw.Within(lw.Interval(lw.Bound(2, False), None)),
        lw.Never(),
    ]
    shapes = {type(m) for m in samples}
    assert shapes == set(typing.get_args(lw.Meaning))
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE t (id INTEGER, "c" INTEGER)')
    ladder = [None, 0, 1, 2, 3, 5, 7, 8, 9, 10]
    db.executemany("INSERT INTO t VALUES (?, ?)", enumerate(ladder))
    for m in samples:
        expected = {i for i, v in enumerate(ladder) if lw.evaluate(m, v)}
        where, params = sqlmod.render(m, Type.INT, '"c"')
        got = {r[0] for r in db.execute(f"SELECT id FROM t WHERE {where}", params)}
        assert got == expected, (m, where)
        test = pmod.render(m, Type.INT)
        assert {i for i, v in enumerate(ladder) if test(v)} == expected, m


# -- identifiers and values ------------------------------------------------------------


def test_quote_identifier() -> None:
    assert quote_identifier("a") == '"a"'
    assert quote_identifier('a"b') == '"a""b"'
    assert quote_identifier("x%y", "postgresql") == '"x%%y"'
    assert quote_identifier("x%y", "sqlite") == '"x%y"'
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="not a usable SQL identifier"):
            quote_identifier(bad)


def test_sqlite_datetime_format() -> None:
    assert sqlite_datetime(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01 00:00:00.000000"
    plus2, plus1 = timezone(timedelta(hours=2)), timezone(timedelta(hours=1))
    assert sqlite_datetime(datetime(2024, 6, 15, 10, 0, 0, 5, tzinfo=plus2)) == (
        "2024-06-15 08:00:00.000005"
    )
    assert sqlite_datetime(datetime(2024, 1, 1, 0, 30, tzinfo=plus1)) == (
        "2023-12-31 23:30:00.000000"
    )
    assert sqlite_datetime(datetime(9999, 12, 31, 23, 59, 59, 999999)) == (
        "9999-12-31 23:59:59.999999"
    )


def test_sqlite_date_functions_read_the_stored_text() -> None:
    db = sqlite3.connect(":memory:")
    stored = sqlite_datetime(datetime(2024, 2, 29, 23, 59, 59, 250000, tzinfo=UTC))
    row = db.execute("SELECT datetime(?), date(?), strftime('%f', ?)", (stored,) * 3).fetchone()
    assert row == ("2024-02-29 23:59:59", "2024-02-29", "59.250")
    db.close()


def test_sqlite_value() -> None:
    assert sqlite_value(Type.INT, 5) == 5
    assert sqlite_value(SCHEMA.field("d"), Decimal("15.60")) == 15.6
    assert sqlite_value(Type.DATE, date(2024, 2, 29)) == "2024-02-29"
    assert sqlite_value(Type.DATETIME, datetime(2024, 1, 1, tzinfo=UTC)) == (
        "2024-01-01 00:00:00.000000"
    )
    assert sqlite_value(Type.BOOL, True) == 1
    assert sqlite_value(Type.ENUM, "red") == "red"
    assert sqlite_value(Type.STRING, None) is None
    with pytest.raises(ValueError, match="15"):
        sqlite_value(Type.DECIMAL, Decimal(OFF_REAL))
    with pytest.raises(TypeError):
        sqlite_value(Type.DATE, datetime(2024, 1, 1))
    with pytest.raises(TypeError):
        sqlite_value(Type.INT, True)


def test_type_tables_cover_every_type() -> None:
    assert set(SQLITE_TYPES) == set(Type) == set(POSTGRESQL_TYPES)


@pytest.mark.parametrize(
    ("text", "inside"),
    [("0", True), ("-0.0", True), ("15.6", True), ("999999999999999", True),
     ("9999999999999999", False), ("0.123456789012345", True), ("0.1234567890123456", False),
     ("1" + "0" * 307, True), ("1" + "0" * 308, False), ("9.99999999999999e307", True),
     ("1e-307", True), ("9.99999999999999e-308", False), ("-1e-307", True)],
)
def test_real_domain(text: str, inside: bool) -> None:
    assert real_domain(Decimal(text)) is inside


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_real_neighbours_bracket_the_value(d: Decimal) -> None:
    if real_domain(d):
        assert float(d) == float(Decimal(repr(float(d))))
        return
    lo, hi = real_neighbours(d)
    assert lo is not None or hi is not None
    if lo is not None:
        assert real_domain(lo)
        assert lo < d
    if hi is not None:
        assert real_domain(hi)
        assert d < hi
    if lo is not None and hi is not None:
        # neighbours: no domain value strictly between them, and their doubles are apart
        assert float(lo) < float(hi)


@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(real_domain),
                min_size=2, max_size=2))
def test_real_domain_is_ordered_exactly_by_doubles(pair: list[Decimal]) -> None:
    a, b = pair
    assert (float(a) < float(b)) == (a < b)
    assert (float(a) == float(b)) == (a == b)


# -- SQL for embedders: paramstyle and SQLite datetime storage styles ------------------------

PLAIN = Schema(Filter("i", "int"), Filter("s", "string"), Filter("ts", "datetime", nullable=True))
"""Plain column names."""


def test_format_paramstyle_for_sqlite() -> None:
    q = parse_query("i=in:1,2&s=a", PLAIN)
    where, params = to_sql(q, "sqlite", paramstyle="format")
    assert where == '"i" IN (%s, %s) AND "s" = %s'
    assert params == [1, 2, "a"]
    pct = Schema(Filter("p", "int", column="a%b"))
    assert to_sql(parse_query("p=1", pct), "sqlite", paramstyle="format")[0] == '"a%%b" = %s'
    assert to_sql(parse_query("p=1", pct), "sqlite")[0] == '"a%b" = ?'
    with pytest.raises(ValueError, match="paramstyle"):
        to_sql(q, "sqlite", paramstyle="named")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="paramstyle"):
        to_sql(q, "postgresql", paramstyle="qmark")
    with pytest.raises(ValueError, match="datetime storage"):
        to_sql(q, "postgresql", datetimes="isoformat")


INSTANTS = [
    datetime(2024, 6, 5, 0, 0, 0, tzinfo=UTC),  # midnight
    datetime(2024, 6, 5, 8, 0, 0, tzinfo=UTC),  # a whole second
    datetime(2024, 6, 5, 8, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 6, 5, 8, 0, 1, tzinfo=UTC),
    datetime(2024, 6, 5, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 6, 6, 0, 0, 0, tzinfo=UTC),
    None,
]


def _isoformat_db() -> sqlite3.Connection:
    """Datetimes as Django and sqlite3's default adapter write them (naive UTC,
    ``YYYY-MM-DD HH:MM:SS[.ffffff]``)."""
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE t (id INTEGER, "ts" TEXT)')
    for i, v in enumerate(INSTANTS):
        naive = None if v is None else v.replace(tzinfo=None)
        db.execute("INSERT INTO t VALUES (?, ?)", (i, None if naive is None else str(naive)))
    return db


@pytest.mark.parametrize(
    "value",
    ["eq:2024-06-05", "gte:2024-06-05T08:00:00Z", "gt:2024-06-05T08:00:00Z",
     "lte:2024-06-05T08:00:00Z", "lt:2024-06-05T08:00:01Z", "eq:2024-06-05T08:00:00Z",
     "neq:2024-06-05T00:00:00Z", "bt:2024-06-05T08:00:00Z,2024-06-05T08:00:01Z",
     "gt:2024-06-05", "lte:2024-06-05", "in:2024-06-06,2024-06-05T08:00:00.000001Z",
     "nin:null,2024-06-05T08:00:00Z", "gte:2024-06-05T08:00:00.000001Z"],
)
def test_isoformat_datetimes_compare_correctly(value: str) -> None:
    q = parse_query({"ts": value}, PLAIN)
    pred = to_predicate(q)
    expected = [i for i, v in enumerate(INSTANTS) if pred({"ts": v})]
    where, params = to_sql(q, "sqlite", datetimes="isoformat", paramstyle="qmark")
    got = [r[0] for r in _isoformat_db().execute(f"SELECT id FROM t WHERE {where} ORDER BY id",
                                                  params)]
    assert got == expected


# -- no value in the SQL text ------------------------------------------------------------

HOSTILE = [
    "'", "''", "' OR '1'='1", "x'); DROP TABLE t; --", "; SELECT 1; --", "-- comment",
    "/* c */", "\\", "\\'", '\\"', "%s", "%(x)s", "?", "?1", ":name", "$1", "\u2028\u2029",
    "ünï©ødé", "𝔘", "a" * 2000, "\t\r\n", "\x1b[0m", "NULL", "null",
]

_IDENT = re.compile(r'"(?:[^"]|"")*"')


def _skeleton(where: str, mark: str) -> tuple[str, int]:
    """The SQL text with identifiers removed, and the number of placeholders in it."""
    rest = _IDENT.sub("I", where)
    count = rest.count(mark)
    return rest.replace(mark, "M"), count


def _assert_no_values(where: str, params: Sequence[object], mark: str) -> None:
    rest, count = _skeleton(where, mark)
    assert count == len(params), (where, params)
    # only keywords, the markers, identifiers and the constants 1 = 1 / 1 = 0 remain
    assert re.fullmatch(r"[A-Z ()=<>,01]*", rest), rest
    assert re.sub(r"\b(AND|OR|NOT|IN|IS|NULL|BETWEEN|DISTINCT|FROM|I|M)\b|[ ()=<>,]|1 = [01]",
                  "", rest) == ""


def _string_query(op: str, text: str) -> Query:
    return Query(SCHEMA, [Condition("s", Op(op), (text,) if op in ("eq", "neq") else (text, "k"))])


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("op", ["eq", "neq", "in", "nin"])
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_are_bound(dialect: str, op: str, text: str) -> None:
    q = _string_query(op, text)
    where, params = to_sql(q, dialect)  # type: ignore[arg-type]
    assert text in params
    if text not in ("NULL", "?", "%s"):  # these are also SQL keywords or markers
        assert text not in _IDENT.sub("", where)
    _assert_no_values(where, params, "?" if dialect == "sqlite" else "%s")


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_round_trip_through_sqlite(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute(f'CREATE TABLE t (id INTEGER, {quote_identifier(SCHEMA.field("s").column)} TEXT)')
    db.executemany("INSERT INTO t VALUES (?, ?)", [(1, text), (2, text + "x"), (3, None)])
    for op, expected in (("eq", [1]), ("neq", [2, 3]), ("in", [1]), ("nin", [2, 3])):
        where, params = to_sql(_string_query(op, text), "sqlite")
        got = [r[0] for r in db.execute(f"SELECT id FROM t WHERE {where} ORDER BY id", params)]
        assert got == expected, (op, where)
    db.close()


def test_huge_and_extreme_numbers_are_bound() -> None:
    big = "9" * 4000
    q = parse_query(f"d=gt:{big}&d=lt:-{big}.{big[:50]}&i=nin:-9223372036854775808,"
                    "9223372036854775807&d=neq:12345678901234567890.5", SCHEMA)
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s")):
        where, params = to_sql(q, dialect)  # type: ignore[arg-type]
        assert "999" not in where
        assert "9223372036854775807" not in where
        assert "12345" not in where
        _assert_no_values(where, params, mark)


@given(queries(SCHEMA, max_conditions=6))
def test_no_value_ever_in_sql_text(q: Query) -> None:
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s")):
        where, params = to_sql(q, dialect)  # type: ignore[arg-type]
        _assert_no_values(where, params, mark)
        for c in q.all_conditions():
            for v in c.operands:
                if isinstance(v, str) and not re.fullmatch(r"[A-Z ()=<>,?%s01]*", v):
                    assert v not in _IDENT.sub("", where)
