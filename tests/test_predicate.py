"""The in-memory predicate: SPEC §2's semantics table, row by row."""

from __future__ import annotations

import keyword
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import echo, oracle
from opfilter import Filter, Query, Schema, parse_query, to_predicate
from opfilter.nodes import Condition, Op
from opfilter.streams import SCHEMA
from opfilter.testing import queries, rows
from schemas import ALL_TYPES

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


@given(q=queries(ALL_TYPES), table=st.lists(rows(ALL_TYPES, missing=True), max_size=12))
def test_predicate_agrees_with_the_lowering_oracle(
    q: Query, table: list[dict[str, object]]
) -> None:
    """The fast closures render what lowering.evaluate (the plain interpreter) decides."""
    pred = to_predicate(q)
    for r in table:
        assert pred(r) == oracle(q, r), (q, r)


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


# -- the generated code: naive datetimes, row kinds, safety (SPEC §10, STYLE item 12) -------


def _naive(row: dict[str, Any]) -> dict[str, Any]:
    """The same row with every datetime as naive UTC wall time."""
    return {k: v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
            for k, v in row.items()}


@dataclass(slots=True)
class Slotted:
    i: int | None = None
    ts: datetime | None = None
    s: str | None = None


class PlainSlots:
    __slots__ = ("i", "s", "ts")

    def __init__(self, **values: Any) -> None:
        for k, v in values.items():
            setattr(self, k, v)


@given(q=queries(ALL_TYPES), table=st.lists(rows(ALL_TYPES, missing=True), max_size=12))
def test_naive_datetimes_and_every_row_kind_agree_with_the_oracle(
    q: Query, table: list[dict[str, Any]]
) -> None:
    table = table + echo(q)
    naive = [_naive(r) for r in table]
    expected = [oracle(q, r) for r in table]
    assert [oracle(q, r) for r in naive] == expected  # the oracle reads naive as UTC
    for access in ("auto", "mapping", "attribute"):
        pred = to_predicate(q, access=access)
        kinds: list[list[Any]] = []
        if access != "mapping":
            kinds += [[SimpleNamespace(**r) for r in table], [SimpleNamespace(**r) for r in naive]]
        if access != "attribute":
            kinds += [table, naive, [OrderedDict(r) for r in table]]
        for rows_ in kinds:
            assert [pred(r) for r in rows_] == expected, (access, pred.source)
            assert pred.select(rows_) == [r for r, e in zip(rows_, expected, strict=True) if e]
            assert pred.select(iter(rows_)) == pred.select(rows_)
    fetch = to_predicate(q, access=lambda row, name: row.get(name))
    assert [fetch(r) for r in naive] == expected
    assert fetch.select(table) == [r for r, e in zip(table, expected, strict=True) if e]


@given(q=queries(ALL_TYPES), table=st.lists(rows(ALL_TYPES, missing=True), max_size=12),
       flips=st.lists(st.booleans(), min_size=12, max_size=12))
def test_naive_and_aware_rows_interleaved(q: Query, table: list[dict[str, Any]],
                                          flips: list[bool]) -> None:
    """The predicate switches between its aware and naive fast code as rows come; any
    mix of naive and aware rows, as dicts and as objects, gets the oracle's answers."""
    table = table + echo(q)
    mixed = [_naive(r) if flips[k % len(flips)] else r for k, r in enumerate(table)]
    expected = [oracle(q, r) for r in table]
    objects = [SimpleNamespace(**r) for r in mixed]
    cases: list[tuple[str, list[list[Any]]]] = [
        ("auto", [mixed, objects, [*mixed, *objects]]), ("mapping", [mixed]),
        ("attribute", [objects])]
    for access, kinds in cases:
        pred = to_predicate(q, access=access)  # type: ignore[arg-type]
        for rows_ in kinds:
            want = expected * (len(rows_) // max(len(table), 1))
            assert [pred(r) for r in rows_] == want, pred.source
            assert pred.select(rows_) == [r for r, e in zip(rows_, want, strict=True) if e]


def test_naive_rows_take_the_fast_path() -> None:
    q = parse_query("updated_at=gte:2024-03-01&updated_at=lt:2024-04-01", SCHEMA)
    naive = {"updated_at": datetime(2024, 3, 5), "deleted_at": None}
    aware = {"updated_at": datetime(2024, 3, 5, tzinfo=UTC), "deleted_at": None}
    pred = _fresh(q)
    assert pred(naive) and pred.__code__.co_name == "_items_first_naive"
    exact = pred.__globals__["_exact"]
    pred.__globals__["_exact"] = None  # the naive fast code decides alone now
    try:
        assert pred(naive)
    finally:
        pred.__globals__["_exact"] = exact
    assert pred(aware) and pred.__code__.co_name == "predicate"
    assert pred(Obj(1, None)) is False and pred.__code__.co_name == "_attrs_first"
    mapping = _fresh(q, "mapping")
    assert mapping(naive) and mapping.__code__.co_name == "_naive_variant"
    assert "_a2 <= row['updated_at'] < _b3" in mapping.source  # bound to naive UTC
    assert mapping.__globals__["_a2"] == datetime(2024, 3, 1)
    assert mapping.__globals__["_a0"] == datetime(2024, 3, 1, tzinfo=UTC)


SMALL = Schema(Filter("i", "int", nullable=True), Filter("ts", "datetime", nullable=True),
               Filter("s", "string", nullable=True))


@given(q=queries(SMALL), table=st.lists(rows(SMALL, missing=True), max_size=8))
def test_slotted_objects_and_dataclasses_with_missing_attributes(
    q: Query, table: list[dict[str, Any]]
) -> None:
    table = table + echo(q)
    expected = [oracle(q, r) for r in table]
    makers: list[Any] = [lambda r: Slotted(**r), lambda r: PlainSlots(**r)]
    for make in makers:
        objects = [make(r) for r in table]  # PlainSlots: a missing field is an unset slot
        for access in ("auto", "attribute"):
            pred = to_predicate(q, access=access)
            assert [pred(o) for o in objects] == expected
            assert pred.select(objects) == [o for o, e in zip(objects, expected, strict=True)
                                            if e]


def test_mixed_row_kinds_in_one_select() -> None:
    pred = to_predicate(parse_query("project_id=in:1,2", SCHEMA))
    table: list[Any] = [{"project_id": 1, "deleted_at": None}, Obj(2), Obj(3),
                        {"project_id": 2}, OrderedDict(project_id=1), {}, Obj(1, D0)]
    assert pred.select(table) == [table[0], table[1], table[3], table[4]]
    assert pred.select(list(reversed(table))) == [table[4], table[3], table[1], table[0]]


def test_per_row_calls_over_interleaved_row_kinds() -> None:
    """The auto predicate tests the class it saw last first; any order of kinds agrees."""
    q = parse_query("project_id=in:1,2&deleted=include", SCHEMA)
    pred = to_predicate(q)
    kinds: list[Any] = [dict, OrderedDict, lambda **kw: SimpleNamespace(**kw),
                        lambda **kw: Obj(**kw)]
    table = [make(project_id=p, deleted_at=None) for p in (1, 3, 2, 4) for make in kinds]
    for order in (table, table[::-1], sorted(table, key=lambda r: type(r).__name__)):
        assert [pred(r) for r in order] == [oracle(q, _plain(r)) for r in order]
        assert [pred(r) for r in order] == [getattr(r, "project_id", None) in (1, 2)
                                            or (isinstance(r, dict)
                                                and r["project_id"] in (1, 2))
                                            for r in order]


def _plain(row: Any) -> dict[str, Any]:
    return dict(row) if isinstance(row, dict) else dict(vars(row))


def _fresh(q: Query, access: str = "auto") -> Any:
    """A predicate no other test has used: to_predicate's memo shares one per query, and
    its code (which variant runs) follows the rows it has seen."""
    from opfilter.backends.predicate import _build, _lowered

    return _build.__wrapped__(_lowered(q), access)


def test_auto_tests_the_last_seen_kind_first() -> None:
    pred = _fresh(parse_query("project_id=eq:7&stream_id=eq:1", SCHEMA))
    assert pred.__code__.co_name == "predicate"  # dict rows are tested first
    assert not pred(Obj(7))
    assert pred.__code__.co_name == "_attrs_first"  # now Obj is, until a mapping is seen
    assert pred(OrderedDict(project_id=7, stream_id=1, deleted_at=None))
    assert pred.__code__.co_name == "predicate"  # a new mapping class, decided exactly


@dataclass
class Full:
    project_id: int
    stream_id: int
    deleted_at: datetime | None = None


def test_auto_tests_first_the_class_of_the_current_run_of_rows() -> None:
    """Once both classes are known, a row of the class tested second is read on the fast
    path and makes its class the one tested first (the second test costs ~20% a row, and
    rows come in runs of one class); no row goes through the exact code to do it."""
    pred = _fresh(parse_query("project_id=eq:7&stream_id=in:1,2", SCHEMA))
    assert pred(Full(7, 1)) and pred.__code__.co_name == "_attrs_first"
    exact = pred.__globals__["_exact"]
    pred.__globals__["_exact"] = None  # only the fast code may answer now
    try:
        for _ in range(2):
            assert pred({"project_id": 7, "stream_id": 2, "deleted_at": None})
            assert pred.__code__.co_name == "predicate"
            assert not pred(Full(7, 3)) and pred.__code__.co_name == "_attrs_first"
    finally:
        pred.__globals__["_exact"] = exact


def test_threads_sharing_one_predicate_over_every_kind_of_row() -> None:
    """Threads switch the shared predicate's code under each other (dicts and objects,
    naive and aware datetimes, missing fields); every answer stays the oracle's."""
    import sys
    import threading

    q = parse_query("updated_at=gte:2024-01-01T06:00:00Z&project_id=in:1,2&deleted=include",
                    SCHEMA)
    pred = to_predicate(q)
    base = [{"updated_at": D0 + timedelta(hours=h), "project_id": p, "deleted_at": None}
            for h in (0, 6, 12) for p in (1, 3)] + [{"project_id": 1}]
    kinds = [base, [_naive(r) for r in base], [SimpleNamespace(**r) for r in base],
             [SimpleNamespace(**_naive(r)) for r in base]]
    expected = [oracle(q, r) for r in base]
    wrong: list[object] = []

    def work(rows_: list[Any]) -> None:
        for _ in range(300):
            got = [pred(r) for r in rows_]
            if got != expected or pred.select(rows_) != [
                    r for r, e in zip(rows_, expected, strict=True) if e]:
                wrong.append(rows_)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in kinds * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not wrong


@pytest.mark.parametrize("op", ["eq", "neq", "in", "nin"])
def test_datetime_points_in_a_repeated_dst_hour(op: str) -> None:
    """01:30 happens twice in New York on 2024-11-03; Python's ``==`` between zones is
    false for such a time (PEP 495), so a point test must not rely on it."""
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    walls = [datetime(2024, 11, 3, 1, 30, tzinfo=ny), datetime(2024, 11, 3, 1, 30, fold=1,
                                                                tzinfo=ny)]
    for k, wall in enumerate(walls):
        instant = wall.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        other = "2020-01-01T00:00:00Z"
        value = f"{op}:{instant}" + (f",{other}" if op in ("in", "nin") else "")
        q = parse_query(f"updated_at={value}&deleted=include", SCHEMA)
        table = [{"updated_at": wall, "deleted_at": None},
                 {"updated_at": walls[1 - k], "deleted_at": None}]  # an hour apart
        expected = [oracle(q, r) for r in table]
        assert expected[0] == (op in ("eq", "in")) != expected[1]
        for access in ("auto", "mapping"):
            pred = to_predicate(q, access=access)
            assert [pred(r) for r in table] == expected, (op, wall.fold, access)
            assert pred.select(table) == [r for r, e in zip(table, expected, strict=True) if e]


def test_select_reads_each_row_by_its_own_kind() -> None:
    """A field named like a dict method: the first row, an object, must not make select
    read the dict rows by attribute (``{}.values`` is a method, not the field)."""
    schema = Schema(Filter("values", "int", nullable=True))
    for value in ("eq:1", "neq:1"):
        q = parse_query({"values": value}, schema)
        pred = to_predicate(q)
        table: list[Any] = [SimpleNamespace(values=1), {"values": 1}, {"values": 2},
                            SimpleNamespace(values=2)]
        assert pred.select(table) == [r for r in table if pred(r)]
        assert [pred(r) for r in table] == [oracle(q, _plain(r)) for r in table]


def test_one_odd_row_is_decided_alone() -> None:
    """A missing field in one row sends that row to the exact code, not every row."""
    q = parse_query("project_id=in:1,2", SCHEMA)
    for access in ("auto", "mapping"):
        pred: Any = to_predicate(q, access=access)
        table = [{"project_id": k % 3, "deleted_at": None} for k in range(100)]
        table[50] = {"deleted_at": None}
        exact = pred.__globals__["_exact"]
        calls: list[Any] = []

        def counted(row: Any, exact: Any = exact, calls: list[Any] = calls) -> Any:
            calls.append(row)
            return exact(row)

        pred.__globals__["_exact"] = counted
        try:
            assert pred.select(table) == [r for r in table if r.get("project_id") in (1, 2)]
        finally:
            pred.__globals__["_exact"] = exact
        assert calls == [table[50]], access


def test_a_function_access_is_not_memoized() -> None:
    from opfilter.backends.predicate import _build

    q = parse_query("project_id=eq:1", SCHEMA)
    before = _build.cache_info()
    def fetch(row: Any, name: str) -> Any:
        return row.get(name)

    preds = [to_predicate(q, access=lambda row, name: fetch(row, name)) for _ in range(3)]
    after = _build.cache_info()  # (currsize stays put once the LRU is full: count calls)
    assert (after.hits, after.misses) == (before.hits, before.misses)
    assert len({id(p) for p in preds}) == 3
    assert all(p({"project_id": 1, "deleted_at": None}) for p in preds)


def test_sqlite_rows_are_read_by_key() -> None:
    """``sqlite3.Row`` is no Mapping, but has ``keys()``: auto reads it by key, and its
    ``IndexError`` for an unknown name is a missing field."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    rows_ = db.execute("SELECT 7 AS project_id, NULL AS deleted_at UNION ALL "
                       "SELECT 8, NULL UNION ALL SELECT 7, '2024-01-01'").fetchall()
    pred = to_predicate(parse_query("project_id=eq:7", SCHEMA))
    assert [pred(r) for r in rows_] == [True, False, False]
    assert pred.select(rows_) == rows_[:1]
    no_deleted_at = db.execute("SELECT 7 AS project_id").fetchone()
    assert pred(no_deleted_at)  # a missing field is NULL
    assert to_predicate(parse_query("project_id=gte:8", SCHEMA)).select(rows_) == [rows_[1]]


def test_ranges_on_one_field_become_one_chained_comparison() -> None:
    q = parse_query("i=gt:1&i=lte:9&i=bt:0,5&ts=gte:2024-01-01&ts=lt:2024-02-01", ALL_TYPES)
    pred = to_predicate(q, access="mapping")
    assert "_a0 < row['i'] <= _b1" in pred.source.replace("(_f0 := row['i'])", "row['i']")
    fast = pred.source.split("def predicate(row):")[1].split("\n\n")[0]
    assert fast.count("row['i']") == 1 and fast.count("row['ts']") == 1  # one read each
    for i in range(-1, 11):
        row = {"i": i, "ts": D0}
        assert pred(row) == oracle(q, row) == (1 < i <= 5), i


def test_the_day_rule_on_naive_rows() -> None:
    pred = to_predicate(parse_query("updated_at=eq:2024-01-01", SCHEMA))
    inside = [datetime(2024, 1, 1), datetime(2024, 1, 1, 23, 59, 59, 999999)]
    outside = [datetime(2023, 12, 31, 23, 59, 59, 999999), datetime(2024, 1, 2)]
    assert [pred({"updated_at": v}) for v in inside + outside] == [True, True, False, False]
    rows_ = [{"updated_at": v, "deleted_at": None} for v in inside + outside]
    assert pred.select(rows_) == rows_[:2]


# Strings that would break or subvert naively generated source.
HOSTILE = st.one_of(
    st.sampled_from([
        "'", '"', "\\", "\\'", "'''", '"""', "\n", "\r\n", "a\nb", "{x}", "{0}", "%s",
        "') or True or ('", '" or True #', "__import__('os').system('false')",
        "\\x00", "\\N{BULLET}", "\u2028", "_p0", "_f0 := 1", "row", ")]", "#", "\t",
        "lambda: 1", "raise SystemExit", "\x00x"[1:],
    ]),
    st.text(st.sampled_from(list("'\"\\\n\r\t#(){}[]:=_ raow1")), max_size=10),
)


@st.composite
def hostile_queries(draw: st.DrawFn) -> Query:
    ops = [Op.EQ, Op.NEQ, Op.IN, Op.NIN]
    conds = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(ops))
        n = draw(st.integers(1, 4)) if op in (Op.IN, Op.NIN) else 1
        operands = tuple(draw(st.one_of(HOSTILE, st.none()) if draw(st.booleans())
                              else HOSTILE) for _ in range(n))
        conds.append(Condition("s", op, operands))
    return Query(ALL_TYPES, conds)


@given(q=hostile_queries(), values=st.lists(st.one_of(st.none(), HOSTILE), max_size=8))
def test_hostile_string_operands_stay_data(q: Query, values: list[str | None]) -> None:
    pred = to_predicate(q)
    table: list[dict[str, object]] = [{"s": v} for v in values]
    table += [{"s": c.operands[0]} for c in q.conditions]
    expected = [r for r in table if oracle(q, r)]
    assert [r for r in table if pred(r)] == expected, pred.source
    assert pred.select(table) == expected
    # no value in the source: the same shape with other values gives the same source
    twin = {v: f"v{k}" for k, v in enumerate(
        dict.fromkeys(x for c in q.conditions for x in c.operands if x is not None))}
    bland = Query(ALL_TYPES, [
        Condition("s", c.op, tuple(None if x is None else twin[x] for x in c.operands))
        for c in q.conditions])
    assert to_predicate(bland).source == pred.source
    # the memo serves both from one plan; the writer that sees the values must agree,
    # and a function access (written from the values, never memoized) must too
    from opfilter.backends.predicate import _generate, _lowered

    assert _generate(_lowered(q), "auto")[0] == pred.source
    def get(row: Any, name: str) -> Any:
        return row.get(name)

    fetched = to_predicate(q, access=get)
    assert to_predicate(bland, access=get).source == fetched.source
    assert [r for r in table if fetched(r)] == expected, fetched.source


def test_source_is_readable_and_holds_no_value() -> None:
    payload = "__import__('os').system('false')"
    q = parse_query({"s": f'in:"{payload}",x', "i": "gte:5", "ts": "lt:2024-01-01"},
                    ALL_TYPES)
    pred = to_predicate(q, access="mapping")
    assert "__import__" not in pred.source and "2024" not in pred.source
    fast = pred.source.split("def predicate(row):")[1].split("\n\n")[0]
    assert re.search(r"\b_a\d+ <= row\['i'\]", fast), fast  # the bound is a name
    assert "def predicate(row):" in pred.source and "def select(rows):" in pred.source
    # select's comprehension has one condition a line, as a person writes a long one
    # (CPython then jumps as it does for the hand-written form: see _stacked)
    comprehension = pred.source.split("return [row for row in rows if ")[1]
    comprehension = comprehension.split("except _MISS")[0].rstrip()
    lines = comprehension.splitlines()
    assert len(lines) == 3 and all(line.lstrip().startswith("and ") for line in lines[1:])
    assert len({len(line) - len(line.lstrip()) for line in lines[1:]}) == 1  # aligned
    assert pred({"s": payload, "i": 5, "ts": datetime(2023, 1, 1)})
    assert not pred({"s": "y", "i": 5, "ts": datetime(2023, 1, 1)})


ODD_NAMES = ["class", "naïve", "ﬁeld", "a b", "x']; import os; #", "0start", "__class__",
             "row", "_p0", "_f0"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_field_names_are_never_pasted(name: str) -> None:
    schema = Schema(Filter(name, "int", nullable=True), Filter("ok", "int"))
    q = Query(schema, [Condition(name, Op.IN, (1, 2)), Condition("ok", Op.GTE, (0,))])
    safe = name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
    for access in ("auto", "mapping", "attribute"):
        pred = to_predicate(q, access=access)
        assert (repr(name) in pred.source or f".{name}" in pred.source) == safe, pred.source
        if access != "attribute":
            assert pred({name: 2, "ok": 1}) and not pred({name: 3, "ok": 1})
            assert not pred({"ok": 1})
            assert pred.select([{name: 1, "ok": 0}, {"ok": 0}]) == [{name: 1, "ok": 0}]
        if access != "mapping" and name != "__class__":
            obj, miss = SimpleNamespace(ok=1), SimpleNamespace(ok=1)
            setattr(obj, name, 2)
            assert pred(obj) and not pred(miss)
            assert pred.select([miss, obj]) == [obj]


def test_access_is_checked() -> None:
    with pytest.raises(ValueError, match="access must be 'auto', 'mapping', 'attribute'"):
        to_predicate(parse_query("", SCHEMA), access="rows")  # type: ignore[arg-type]


def test_a_bad_row_value_raises_a_clear_type_error() -> None:
    pred = to_predicate(parse_query("project_id=gt:5", SCHEMA))
    with pytest.raises(TypeError, match="not supported between"):
        pred({"project_id": "7", "deleted_at": None})


def test_same_shape_queries_share_compiled_code() -> None:
    from opfilter.backends.predicate import _shape

    a = to_predicate(parse_query("project_id=in:1,2&updated_at=gt:2024-01-01", SCHEMA))
    before = _shape.cache_info().hits
    b = to_predicate(parse_query("project_id=in:7,8&updated_at=gt:2020-05-01", SCHEMA))
    assert a.source == b.source and _shape.cache_info().hits == before + 1
    assert cast(Any, a).__code__ is cast(Any, b).__code__  # one code object
    row = {"project_id": 7, "updated_at": datetime(2021, 1, 1, tzinfo=UTC), "deleted_at": None}
    assert b(row) and not a(row)


def test_module_doctest() -> None:
    import doctest

    from opfilter.backends import predicate as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
