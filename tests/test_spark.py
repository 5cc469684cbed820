"""opfilter.to_spark: differential tests against the lowering's oracle on a real Spark
(local mode, started here; Java 17 is needed).  Many generated queries are evaluated in
one Spark job — one boolean column per query, collected once — under two session time
zones (SPEC §10).  Under CI (env CI set) a missing PySpark or Java is a failure, never a
skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from helpers import echo, oracle
from opfilter import Query, parse_query, to_spark
from opfilter.schema import Type
from opfilter.testing import queries, rows
from schemas import ALL_TYPES

if os.environ.get("CI"):
    import pyspark  # noqa: F401  (CI must fail loudly without it)
else:
    pytest.importorskip("pyspark")

from pyspark.sql import SparkSession
from pyspark.sql import types as T

US = timedelta(microseconds=1)
SPARK_TYPES: dict[Type, Any] = {
    Type.INT: T.LongType(), Type.DECIMAL: T.DecimalType(24, 6), Type.DATE: T.DateType(),
    Type.DATETIME: T.TimestampType(), Type.STRING: T.StringType(),
    Type.ENUM: T.StringType(), Type.BOOL: T.BooleanType(),
}
SCHEMA = T.StructType([T.StructField("_row", T.LongType(), False)] + [
    T.StructField(f.name, SPARK_TYPES[f.kind], True) for f in ALL_TYPES.filters
])
ZONES = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local Spark for the module: 2 cores, no UI, loopback only, few partitions."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("opfilter-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def evaluate_in_one_job(spark: SparkSession, batch: list[Query],
                        table: list[dict[str, Any]]) -> list[list[bool | None]]:
    """Every query of ``batch`` on every row, as one Spark job: result[row][query]."""
    data = [(i, *(r.get(f.name) for f in ALL_TYPES.filters)) for i, r in enumerate(table)]
    df = spark.createDataFrame(data, SCHEMA)
    got = df.select("_row", *(to_spark(q).alias(f"q{k}") for k, q in enumerate(batch)))
    result = sorted(got.collect(), key=lambda r: int(r["_row"]))
    return [[r[f"q{k}"] for k in range(len(batch))] for r in result]


# Each example is one Spark job per time zone, 30 queries each.  No shrinking: it would run
# hundreds of jobs; the assertion names the disagreeing queries and row instead.
@settings(max_examples=8, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(batch=st.lists(queries(ALL_TYPES), min_size=30, max_size=30),
       table=st.lists(rows(ALL_TYPES, missing=True), min_size=5, max_size=15))
def test_spark_agrees_with_the_oracle(spark: SparkSession, batch: list[Query],
                                      table: list[dict[str, Any]]) -> None:
    table = table + [r for q in batch for r in echo(q)]
    expected = [[oracle(q, r) for q in batch] for r in table]
    for zone in ZONES[:2]:
        spark.conf.set("spark.sql.session.timeZone", zone)
        got = evaluate_in_one_job(spark, batch, table)
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert g == e, (zone, table[i], [
                (q, gv, ev) for q, gv, ev in zip(batch, g, e, strict=True) if gv != ev])
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_fixed_cases_under_three_session_time_zones(spark: SparkSession) -> None:
    top = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    d0 = datetime(2024, 1, 1, tzinfo=UTC)
    table: list[dict[str, Any]] = [
        {"ts_null": d0, "d": Decimal("-100.000001"), "s": "it's \"q\"", "small": None},
        {"ts_null": d0 + US, "d": Decimal("0.000002"), "s": None, "small": 1},
        {"ts_null": top, "d": None, "s": "a,b", "small": 2},
        {"ts_null": None, "d": Decimal(5), "s": "x", "small": -10},
    ]
    cases = {
        "ts_null=eq:9999-12-31": [False, False, True, False],
        "ts_null=gt:9999-12-31": [False, False, False, False],
        "ts_null=neq:9999-12-31": [True, True, False, True],
        "ts_null=nin:null,2024-01-01": [False, False, True, False],
        "ts_null=neq:2024-01-01T00:00:00Z": [False, True, True, True],
        "ts_null=lte:2024-01-01T09:00:00%2B09:00": [True, False, False, False],
        "d=gte:-100.0000015": [True, True, False, True],
        "d=gte:-100.0000005": [False, True, False, True],
        "d=neq:0.0000020": [True, False, True, True],
        "s=in:\"it's \\\"q\\\"\",null": [True, True, False, False],
        "s=neq:x": [True, True, True, False],
        "small=nin:1,null": [False, False, True, True],
        "small=in:null,2": [True, False, True, False],
    }
    batch = [parse_query(q, ALL_TYPES) for q in cases]
    for q, (text, expected) in zip(batch, cases.items(), strict=True):
        assert [oracle(q, r) for r in table] == expected, text  # the cases are right
    for zone in ZONES:
        spark.conf.set("spark.sql.session.timeZone", zone)
        got = evaluate_in_one_job(spark, batch, table)
        assert [[row[k] for row in got] for k in range(len(batch))] == list(cases.values())
    spark.conf.set("spark.sql.session.timeZone", "UTC")
