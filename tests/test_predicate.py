"""The in-memory predicate: SPEC §2's semantics table, row by row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from opfilter import parse_query, to_predicate
from opfilter.streams import SCHEMA
from schemas import ALL_TYPES

UTC = UTC
US = timedelta(microseconds=1)
D0 = datetime(2024, 1, 1, tzinfo=UTC)
D1 = datetime(2024, 1, 2, tzinfo=UTC)
# A ladder of values around the day 2024-01-01, and NULL.
LADDER = {
    "null": None,
    "before": D0 - US,
    "start": D0,
    "inside": D0 + US,
    "last": D1 - US,
    "end": D1,
    "after": D1 + US,
}


def matching(value: str, field: str = "deleted_at") -> set[str]:
    pred = to_predicate(parse_query(f"{field}={value}&deleted=include", SCHEMA))
    return {name for name, v in LADDER.items() if pred({field: v})}


ALL = set(LADDER)
DAY = {"start", "inside", "last"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("eq:2024-01-01", DAY),
        ("neq:2024-01-01", ALL - DAY),
        ("in:2024-01-01", DAY),
        ("nin:2024-01-01", ALL - DAY),
        ("gt:2024-01-01", {"end", "after"}),
        ("gte:2024-01-01", {"start", "inside", "last", "end", "after"}),
        ("lt:2024-01-01", {"before"}),
        ("lte:2024-01-01", {"before", "start", "inside", "last"}),
        ("bt:2024-01-01,2024-01-01", DAY),
        ("eq:2024-01-01T00:00:00Z", {"start"}),
        ("neq:2024-01-01T00:00:00Z", ALL - {"start"}),
        ("gt:2024-01-01T00:00:00Z", {"inside", "last", "end", "after"}),
        ("gte:2024-01-01T00:00:00Z", {"start", "inside", "last", "end", "after"}),
        ("lt:2024-01-02T00:00:00Z", {"before", "start", "inside", "last"}),
        ("lte:2024-01-02T00:00:00Z", {"before", "start", "inside", "last", "end"}),
        ("bt:2024-01-01T00:00:00.000001Z,2024-01-02", {"inside", "last", "end", "after"}),
        ("bt:2024-01-01T00:00:00.000001Z,2024-01-01T23:59:59.999999Z", {"inside", "last"}),
        ("bt:2023-12-31,2024-01-01T00:00:00Z", {"before", "start"}),
        ("bt:2024-01-01T01:00:00%2B01:00,2024-01-02T01:00:00%2B01:00", DAY | {"end"}),
        ("eq:null", {"null"}),
        ("neq:null", ALL - {"null"}),
        ("in:null", {"null"}),
        ("in:null,2024-01-01", DAY | {"null"}),
        ("in:2024-01-01T00:00:00Z,2024-01-02", {"start", "end", "after"}),
        ("nin:null", ALL - {"null"}),
        ("nin:null,2024-01-01", ALL - DAY - {"null"}),
        ("nin:2024-01-01,2024-01-02T00:00:00Z", ALL - DAY - {"end"}),
    ],
)
def test_semantics_table(value: str, expected: set[str]) -> None:
    assert matching(value) == expected


def test_last_representable_day_is_unbounded() -> None:
    top = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    row = {"updated_at": top}
    assert not to_predicate(parse_query("updated_at=gt:9999-12-31", SCHEMA))(row)
    assert to_predicate(parse_query("updated_at=lte:9999-12-31", SCHEMA))(row)
    assert to_predicate(parse_query("updated_at=eq:9999-12-31", SCHEMA))(row)
    assert to_predicate(parse_query("updated_at=bt:9999-12-31,9999-12-31", SCHEMA))(row)
    assert not to_predicate(parse_query("updated_at=neq:9999-12-31", SCHEMA))(row)


def test_naive_row_datetimes_are_utc_and_other_zones_compare_by_instant() -> None:
    pred = to_predicate(parse_query("updated_at=eq:2024-06-15T10:00:00%2B02:00", SCHEMA))
    assert pred({"updated_at": datetime(2024, 6, 15, 8, 0)})
    assert pred({"updated_at": datetime(2024, 6, 15, 3, 0, tzinfo=timezone(timedelta(hours=-5)))})
    assert not pred({"updated_at": datetime(2024, 6, 15, 10, 0)})


def test_deleted_is_a_condition_on_deleted_at() -> None:
    live, gone = {"deleted_at": None}, {"deleted_at": D0}
    for deleted, expected in [("exclude", [True, False]), ("include", [True, True]),
                              ("only", [False, True])]:
        pred = to_predicate(parse_query(f"deleted={deleted}", SCHEMA))
        assert [pred(live), pred(gone)] == expected, deleted
    # with the default exclude, a deleted_at filter other than eq:null matches nothing
    pred = to_predicate(parse_query("deleted_at=lte:2030-01-01", SCHEMA))
    assert not pred(live) and not pred(gone)


@dataclass
class Obj:
    project_id: int
    deleted_at: datetime | None = None


def test_rows_by_attribute_mapping_or_function_and_missing_is_null() -> None:
    q = parse_query("project_id=in:1,2&project_id=neq:2", SCHEMA)
    assert to_predicate(q)(Obj(1)) and not to_predicate(q)(Obj(2))
    assert to_predicate(q)({"project_id": 1}) and not to_predicate(q)({"project_id": 3})
    assert to_predicate(q, access="attribute")(Obj(1))
    columns = ("project_id", "deleted_at")
    by_position = to_predicate(q, access=lambda row, name: row[columns.index(name)])
    assert by_position((1, None)) and not by_position((1, D0)) and not by_position((2, None))
    assert not to_predicate(q)({})  # missing = NULL, and in:1,2 is false on NULL
    assert to_predicate(parse_query("project_id=nin:5", SCHEMA))({"deleted_at": None})


@pytest.mark.parametrize(
    ("value", "row_values", "expected"),
    [
        ("i=gt:5", [4, 5, 6], [False, False, True]),
        ("i=bt:-1,1", [-2, -1, 0, 1, 2], [False, True, True, True, False]),
        ("d=eq:1.50", [Decimal("1.5"), Decimal("1.500"), Decimal("1.51")], [True, True, False]),
        ("d=lt:0", [Decimal("-0.001"), Decimal(0)], [True, False]),
        ("day=lte:2024-02-29", [date(2024, 2, 29), date(2024, 3, 1)], [True, False]),
        ("b=eq:true", [True, False], [True, False]),
        ("b=neq:true", [True, False], [False, True]),
        ("e=in:red,blue", ["red", "green", "blue"], [True, False, True]),
        ('s=in:"a,b",null', ["a,b", "a", None], [True, False, True]),
        ('s=eq:"null"', ["null", None], [True, False]),
        ("s=neq:x", ["x", "y", None], [False, True, True]),
        ("small=nin:1,null", [1, 2, None], [False, True, False]),
    ],
)
def test_every_type(value: str, row_values: list[object], expected: list[bool]) -> None:
    field = value.partition("=")[0]
    pred = to_predicate(parse_query(value, ALL_TYPES))
    assert [pred({field: v}) for v in row_values] == expected


# -- select(): the bulk path agrees with calling the predicate row by row -------------------

from types import SimpleNamespace  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from opfilter import Query  # noqa: E402
from opfilter.lowering import evaluate, lower  # noqa: E402
from opfilter.testing import queries, rows  # noqa: E402


@given(q=queries(ALL_TYPES), table=st.lists(rows(ALL_TYPES, missing=True), max_size=12))
def test_predicate_agrees_with_the_lowering_oracle(
    q: Query, table: list[dict[str, object]]
) -> None:
    """The fast closures render what lowering.evaluate (the plain interpreter) decides."""
    pred = to_predicate(q)
    lowered = [lower(q.schema.field(c.field), c) for c in q.all_conditions()]
    for r in table:
        expected = all(evaluate(k.meaning, r.get(k.field.name)) for k in lowered)
        assert pred(r) == expected, (q, r)


@given(q=queries(ALL_TYPES), table=st.lists(rows(ALL_TYPES, missing=True), max_size=12))
def test_select_agrees_with_per_row_calls(q: Query, table: list[dict[str, object]]) -> None:
    pred = to_predicate(q)
    expected = [r for r in table if pred(r)]
    assert pred.select(table) == expected
    objects = [SimpleNamespace(**r) for r in table]
    assert to_predicate(q, access="attribute").select(objects) == [
        o for o, r in zip(objects, table, strict=True) if pred(r)
    ]
    assert pred.select(objects) == [o for o, r in zip(objects, table, strict=True) if pred(r)]
