"""opfilter.to_polars: differential tests against the lowering's oracle on real Polars
frames (SPEC §10) — every field type, NULLs, day operands, the last representable day,
naive and zoned datetime columns, DataFrame and LazyFrame."""

from __future__ import annotations

import doctest
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import echo, oracle
from opfilter import Query, parse_query, to_polars
from opfilter.schema import Type
from opfilter.testing import queries, rows
from schemas import ALL_TYPES

if os.environ.get("CI"):
    import polars as pl  # CI must fail loudly without it
else:
    pl = pytest.importorskip("polars")

US = timedelta(microseconds=1)
DTYPES: dict[Type, Any] = {
    Type.INT: pl.Int64, Type.DECIMAL: pl.Decimal(38, 6), Type.DATE: pl.Date,
    Type.DATETIME: pl.Datetime("us", "UTC"), Type.STRING: pl.String, Type.ENUM: pl.String,
    Type.BOOL: pl.Boolean,
}


def frame(table: list[dict[str, Any]]) -> Any:
    """The rows as a frame; datetimes as their UTC instants (a column has one zone, and
    Polars refuses a wall time its zone skips)."""
    columns = {f.name: [_instant(r.get(f.name)) for r in table] for f in ALL_TYPES.filters}
    schema = {f.name: DTYPES[f.kind] for f in ALL_TYPES.filters}
    return pl.DataFrame(columns, schema=schema).with_row_index("_row")


def _instant(v: Any) -> Any:
    return v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo is not None else v


def matching(df: Any, expr: Any) -> list[int]:
    return sorted(df.filter(expr)["_row"].to_list())


@given(batch=st.lists(queries(ALL_TYPES), min_size=1, max_size=8),
       table=st.lists(rows(ALL_TYPES, missing=True), max_size=10))
def test_polars_agrees_with_the_oracle(batch: list[Query], table: list[dict[str, Any]]) -> None:
    for q in batch:
        t = table + echo(q)
        df = frame(t)
        expected = [i for i, r in enumerate(t) if oracle(q, r)]
        expr = to_polars(q)
        assert matching(df, expr) == expected, q
        # never null, so its negation is the exact complement
        assert matching(df, ~expr) == [i for i in range(len(t)) if i not in expected], q
        assert sorted(df.lazy().filter(expr).collect()["_row"].to_list()) == expected
        # the same instants in a naive (UTC wall time) and in a zoned column
        zoned = df.with_columns(pl.col("ts").dt.convert_time_zone("America/New_York"),
                                pl.col("ts_null").dt.convert_time_zone("Asia/Kolkata"))
        assert matching(zoned, expr) == expected, q
        naive = df.with_columns(pl.col("ts", "ts_null").dt.replace_time_zone(None))
        assert matching(naive, expr) == expected, q
        if all(1700 < v.astimezone(UTC).year < 2200 for r in t for v in r.values()
               if isinstance(v, datetime)):  # nanoseconds only span 1677-2262
            nanos = df.with_columns(pl.col("ts", "ts_null").cast(pl.Datetime("ns", "UTC")))
            assert matching(nanos, expr) == expected, q


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("eq:9999-12-31", [2]),
        ("gt:9999-12-31", []),
        ("gte:9999-12-31", [2]),
        ("lte:9999-12-31", [0, 1, 2]),
        ("neq:9999-12-31", [0, 1, 3]),
        ("nin:null,9999-12-31", [0, 1]),
        ("in:null", [3]),
        ("neq:2024-01-01T00:00:00Z", [1, 2, 3]),
    ],
)
def test_nulls_and_the_last_day(value: str, expected: list[int]) -> None:
    top = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    df = pl.DataFrame(
        {"ts_null": [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 0, 0, 1,
                                                                tzinfo=UTC), top, None]},
        schema={"ts_null": pl.Datetime("us", "UTC")},
    ).with_row_index("_row")
    assert matching(df, to_polars(parse_query({"ts_null": value}, ALL_TYPES))) == expected


def test_decimals_are_exact() -> None:
    df = pl.DataFrame({"d": [Decimal("-100.000001"), Decimal("0.000002"), None]},
                      schema={"d": pl.Decimal(38, 6)}).with_row_index("_row")
    for value, expected in [("gte:-100.0000015", [0, 1]), ("gte:-100.0000005", [1]),
                            ("eq:0.0000020", [1]), ("neq:0.000002", [0, 2]),
                            ("in:0.0000021,-100.000001", [0]), ("lt:0.0000019999", [0])]:
        assert matching(df, to_polars(parse_query({"d": value}, ALL_TYPES))) == expected, value


def test_regex_like_column_names_are_refused() -> None:
    from opfilter import Filter, Schema

    schema = Schema(Filter("x", "int", column="^x$"))
    with pytest.raises(ValueError, match="wildcard or a regular expression"):
        to_polars(parse_query("x=1", schema))


def test_no_condition_is_true() -> None:
    df = pl.DataFrame({"i": [1, None]}).with_row_index("_row")
    assert matching(df, to_polars(Query(ALL_TYPES))) == [0, 1]


def test_module_doctest() -> None:
    from opfilter.backends import polars as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
