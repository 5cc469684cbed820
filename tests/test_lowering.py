"""The lowering (SPEC §2 written once) and the core's own value rules: each shape, NULL
membership, whole days, emptiness, satisfiability; hand-built queries validated like
parsed ones; type-aware conditions; the schema's refusals (issue: bugs found by
adversarial testing)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opfilter import (
    Condition,
    EnumParam,
    Filter,
    InvalidQuery,
    Op,
    Query,
    Schema,
    parse_query,
    to_query_string,
    to_sql,
)
from opfilter.backends.querystring import format_condition
from opfilter.lowering import (
    Bound,
    Interval,
    Member,
    Never,
    NotMember,
    Within,
    evaluate,
    holds_for_null,
    is_empty_range,
    lower,
    satisfiable,
)
from opfilter.streams import SCHEMA as STREAMS
from opfilter.testing import queries, rows

DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY1 = datetime(2024, 1, 2, tzinfo=UTC)

S = Schema(
    Filter("i", "int", nullable=True),
    Filter("ts", "datetime", nullable=True),
    Filter("s", "string"),
    Filter("b", "bool"),
    Filter("d", "decimal", max_digits=15),
)


def lowered(qs: str) -> list[object]:
    q = parse_query(qs, S)
    return [lower(S.field(c.field), c).meaning for c in q.conditions]


@pytest.mark.parametrize(
    ("qs", "meaning"),
    [
        ("i=5", Member((5,))),
        ("i=in:1,null", Member((1,), (), True)),
        ("i=nin:1,null", NotMember((1,), (), True)),
        ("i=neq:3", NotMember((3,))),
        ("i=gt:3", Within(Interval(Bound(3, False), None))),
        ("i=lte:3", Within(Interval(None, Bound(3, True)))),
        ("i=bt:1,4", Within(Interval(Bound(1, True), Bound(4, True)))),
        ("ts=eq:2024-01-01", Member((), (Interval(Bound(DAY0, True), Bound(DAY1, False)),))),
        ("ts=gt:2024-01-01", Within(Interval(Bound(DAY1, True), None))),
        ("ts=lt:2024-01-01", Within(Interval(None, Bound(DAY0, False)))),
        ("ts=lte:2024-01-01", Within(Interval(None, Bound(DAY1, False)))),
        ("ts=gt:9999-12-31", Never()),
        ("ts=lte:9999-12-31", Within(Interval(None, None))),
        ("ts=eq:2024-01-01T02:00:00%2B02:00", Member((DAY0,))),
        ("ts=bt:2024-01-01,2024-01-01T12:00:00Z",
         Within(Interval(Bound(DAY0, True), Bound(DAY0 + timedelta(hours=12), True)))),
    ],
)
def test_lowering_table(qs: str, meaning: object) -> None:
    assert lowered(qs) == [meaning]


def test_null_column_of_spec_table() -> None:
    answers = {qs: holds_for_null(lowered(f"i={qs}")[0])  # type: ignore[arg-type]
               for qs in ("eq:null", "eq:1", "neq:null", "neq:1", "in:1,null", "nin:1,null",
                          "nin:1", "gt:1", "bt:1,2")}
    assert answers == {"eq:null": True, "eq:1": False, "neq:null": False, "neq:1": True,
                       "in:1,null": True, "nin:1,null": False, "nin:1": True, "gt:1": False,
                       "bt:1,2": False}


def test_bt_emptiness_is_the_lowerings() -> None:
    assert is_empty_range(Within(Interval(Bound(2, True), Bound(1, True))))
    assert not is_empty_range(Within(Interval(Bound(1, True), Bound(1, True))))
    assert is_empty_range(Within(Interval(Bound(1, True), Bound(1, False))))
    assert is_empty_range(Never())
    with pytest.raises(InvalidQuery, match="empty interval"):
        parse_query("ts=bt:2024-01-02T00:00:00Z,2024-01-01", S)
    parse_query("ts=bt:2024-01-01T23:59:59.999999Z,2024-01-01", S)  # the day's last instant


@pytest.mark.parametrize(
    ("qs", "ok"),
    [
        ("i=1&i=2", False),
        ("i=in:1,2&i=in:3", False),
        ("i=in:1,2&i=in:2,3", True),
        ("i=gt:5&i=lt:3", False),
        ("i=gt:5&i=lt:7", True),
        ("i=bt:1,3&i=bt:4,6", False),
        ("i=bt:1,3&i=bt:3,6", True),
        ("i=eq:null&i=in:1,null", True),  # NULL satisfies both
        ("i=1&i=neq:1", False),
        ("ts=eq:2024-01-01&ts=eq:2024-01-02", False),
        ("ts=eq:2024-01-01&ts=eq:2024-01-01T05:00:00Z", True),
        ("ts=gt:9999-12-31", False),
        ("i=nin:1&i=neq:2", True),
    ],
)
def test_satisfiable(qs: str, ok: bool) -> None:
    assert satisfiable(lowered(qs)) is ok  # type: ignore[arg-type]


@given(q=queries(S), table=st.lists(rows(S, missing=True), max_size=20))
def test_unsatisfiable_is_never_said_of_a_matching_row(
    q: Query, table: list[dict[str, object]]
) -> None:
    """satisfiable() is sound: when it says no, no row (NULL included) matches."""
    by_field: dict[str, list[object]] = {}
    for c in q.conditions:
        by_field.setdefault(c.field, []).append(lower(S.field(c.field), c).meaning)
    for name, meanings in by_field.items():
        if not satisfiable(meanings):  # type: ignore[arg-type]
            null_row: dict[str, object] = {name: None}
            for r in [*table, null_row]:
                assert not all(evaluate(m, r.get(name)) for m in meanings)  # type: ignore[arg-type]


# -- hand-built queries are checked like parsed ones -----------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (Condition("b", Op.BT, (True,)), "operator 'bt' is not allowed"),
        (Condition("b", Op.EQ, (1,)), "'1' at column 4 is not a boolean"),
        (Condition("i", Op.EQ, (True,)), "'true' at column 4 is not an integer"),
        (Condition("i", Op.GT, (None,)), "null works only with"),
        (Condition("s", Op.EQ, (None,)), "s is never null"),
        (Condition("i", Op.BT, (3, 1)), "empty interval"),
        (Condition("i", Op.EQ, (2**63,)), "out of range"),
        (Condition("i", Op.EQ, ()), "exactly one operand"),
        (Condition("d", Op.EQ, (Decimal("NaN"),)), "'NaN' at column 4 is not a decimal number"),
        (Condition("d", Op.EQ, (Decimal("1E+5000"),)), "5004 characters long; at most 4096"),
        (Condition("d", Op.EQ, (Decimal("1." + "0" * 20 + "1"),)), "significant digits"),
        (Condition("s", Op.EQ, ("a\ud800",)), "lone surrogate"),
        (Condition("ts", Op.EQ, ("2024-01-01",)), "not a value of a datetime field"),
        (Condition("i", Op.EQ, ("5",)), "'5' is not a value of a int field"),
        (Condition("ts", Op.GT, (Decimal(1),)), "'1' at column 4 is not a date-time"),
        (Condition("d", Op.EQ, (1.5,)),  # type: ignore[arg-type]  # (a float, on purpose)
         "operand 1.5 is not a value of a decimal field"),
        (Condition("i", Op.EQ, (10**5000,)), "thousands of digits is out of range"),
    ],
)
def test_hand_built_query_is_validated(condition: Condition, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message) as e:
        Query(S, [condition])
    assert e.value.failures[0]["field"] == condition.field


def test_hand_built_query_longer_than_the_limit_is_refused_as_its_string_is() -> None:
    conds = [Condition("i", Op.IN, tuple(range(10**9, 10**9 + 100))) for _ in range(20)]
    with pytest.raises(InvalidQuery) as built:
        Query(S, conds)
    text = "&".join(f"i={format_condition(S.field('i'), c)}" for c in conds)
    with pytest.raises(InvalidQuery) as parsed:
        parse_query(text, S)
    assert built.value.failures == parsed.value.failures
    assert built.value.failures[0]["field"] == "query"


def test_hand_built_datetimes_in_any_zone_are_kept_as_utc_instants() -> None:
    """A hand-built datetime is stored as its UTC instant (a naive one taken as UTC), as
    parse_query reads the canonical string: in a zone's repeated hour == and hash() are
    not instants (PEP 495: 1:30 and 1:30 fold=1 in New York are "equal", and neither
    equals its own instant in UTC), so a memo keyed by operands served one for the other."""
    new_york = ZoneInfo("America/New_York")
    repeated = datetime(2024, 11, 3, 1, 30, tzinfo=new_york)  # 1:30 came twice that night
    cases = [(repeated, datetime(2024, 11, 3, 5, 30, tzinfo=UTC)),
             (repeated.replace(fold=1), datetime(2024, 11, 3, 6, 30, tzinfo=UTC)),
             (datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC))]  # naive: UTC
    for v, instant in cases:
        q = Query(S, [Condition("ts", Op.EQ, (v,))])
        (stored,) = q.conditions[0].operands
        assert isinstance(stored, datetime) and stored == instant and stored.tzinfo is UTC
        back = parse_query(q.canonical, S)
        assert back == q and back.conditions == q.conditions
    # the SQL memo keys on operands: fold=1 after fold=0 must not get fold=0's fragment
    for v, instant in cases[:2]:
        _, params = to_sql(Query(S, [Condition("ts", Op.EQ, (v,))]), dialect="sqlite")
        assert params == [instant.strftime("%Y-%m-%d %H:%M:%S.%f")]


@pytest.mark.parametrize(
    "condition",
    [
        Condition("d", Op.EQ, (Decimal("1E+5000"),)),
        Condition("b", Op.IN, (True, 1)),
        Condition("i", Op.EQ, (2**63,)),
        Condition("i", Op.BT, (3, 1)),
        Condition("i", Op.GT, (None,)),
        Condition("s", Op.EQ, ("a\ud800",)),
        Condition("d", Op.GTE, (Decimal("1." + "0" * 20 + "1"),)),
    ],
)
def test_hand_built_condition_fails_as_its_query_string_does(condition: Condition) -> None:
    written = format_condition(S.field(condition.field), condition)
    with pytest.raises(InvalidQuery) as parsed:
        parse_query([(condition.field, written)], S)
    with pytest.raises(InvalidQuery) as built:
        Query(S, [condition])
    assert built.value.failures == parsed.value.failures


@pytest.mark.parametrize(
    "params", [{"limit": 10**6}, {"deleted": "bogus"}, {"offset": -1}, {"limit": True},
               {"deleted": "eq:include"}, {"limit": 0, "deleted": "gone"}],
)
def test_hand_built_plain_parameters_fail_as_their_query_string_does(
    params: dict[str, int | str],
) -> None:
    written = sorted(params.items(), key=lambda kv: STREAMS.positions[kv[0]])
    with pytest.raises(InvalidQuery) as parsed:
        parse_query("&".join(f"{k}={v}" for k, v in written), STREAMS)
    with pytest.raises(InvalidQuery) as built:
        Query(STREAMS, (), params)
    assert built.value.failures == parsed.value.failures


def test_hand_built_plain_parameter_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="limit: '5' is a str, not a bare integer from 1 to"):
        Query(STREAMS, (), {"limit": "5"})  # its query string `limit=5` is fine: not the value
    with pytest.raises(InvalidQuery, match="limit: an integer of thousands of digits is out"):
        Query(STREAMS, (), {"limit": 10**5000})
    assert Query(STREAMS, (), {"limit": 5, "deleted": "only"}).limit == 5


def test_condition_equality_is_type_aware() -> None:
    assert Condition("i", Op.EQ, (1,)) != Condition("i", Op.EQ, (True,))
    assert Condition("i", Op.EQ, (1,)) != Condition("i", Op.EQ, (Decimal(1),))
    assert Condition("t", Op.EQ, (date(2024, 1, 1),)) != Condition(
        "t", Op.EQ, (datetime(2024, 1, 1),))
    assert Condition("i", Op.IN, (1, 2)) == Condition("i", Op.IN, (1, 2))
    assert len({Condition("i", Op.EQ, (1,)), Condition("i", Op.EQ, (True,))}) == 2


# -- the schema's refusals ------------------------------------------------------------------


def test_lone_surrogate_in_a_string_operand_is_a_failure() -> None:
    with pytest.raises(InvalidQuery) as e:
        parse_query({"s": "\ud800"}, S)
    assert e.value.failures[0]["field"] == "s"
    assert "lone surrogate" in e.value.failures[0]["message"]
    assert to_query_string(parse_query({"s": "é\U0001f600"}, S)) == "s=eq:%C3%A9%F0%9F%98%80"


@pytest.mark.parametrize(
    "text", ["9" * 29, "1.00000000000000000000000000001", "0.1234567890123456"]
)
def test_max_digits_counts_without_rounding(text: str) -> None:
    with pytest.raises(InvalidQuery, match="more than 15 significant digits"):
        parse_query({"d": text}, S)


def test_max_digits_trailing_zeros_do_not_count() -> None:
    parse_query({"d": "123456789012345000000"}, S)
    parse_query({"d": "0.000123456789012345"}, S)


@pytest.mark.parametrize("word", ["x y", "null", "", "name:asc", 'a"b', "a,b", "\ud800"])
def test_enum_choices_that_cannot_round_trip_are_refused(word: str) -> None:
    with pytest.raises(ValueError, match="cannot be written bare"):
        Filter("e", "enum", choices=("ok", word))
    with pytest.raises(ValueError, match="cannot be written bare"):
        EnumParam("p", choices=("ok", word), default="ok")


def test_the_lowering_table_covers_every_operator() -> None:
    from opfilter.lowering import LOWERINGS

    assert set(LOWERINGS) == set(Op)


@given(data=st.data())
def test_between_is_empty_is_the_lowerings_answer(data: st.DataObject) -> None:
    """The parse-time shortcut answers exactly what the lowered bt meaning says."""
    from opfilter.lowering import between_is_empty, lower_condition
    from opfilter.testing import values

    f = data.draw(st.sampled_from([S.field("i"), S.field("ts"), S.field("d")]))
    a = data.draw(values(f, null=False))
    b = data.draw(values(f, null=False))
    datetimes = f.name == "ts"
    assert between_is_empty(a, b, datetimes) == is_empty_range(
        lower_condition(Op.BT, (a, b), datetimes)
    )


@given(st.integers(-3, 3), st.integers(-3, 3), st.booleans(), st.booleans(),
       st.booleans(), st.booleans(), st.integers(-5, 5))
def test_interval_tests_inside_and_outside_are_complements(
    a: int, b: int, a_inclusive: bool, b_inclusive: bool, has_lower: bool, has_upper: bool,
    x: int,
) -> None:
    """The renderers without a chained comparison (SQL, SQLAlchemy, Django, Polars, Spark)
    take their operators from Interval.comparisons()/outside(): a value passes every
    inside test exactly when it passes no outside test, as the interval's own rule says."""
    i = Interval(Bound(a, a_inclusive) if has_lower else None,
                 Bound(b, b_inclusive) if has_upper else None)
    inside = all(test(x, v) for test, v in i.comparisons())
    assert inside == (not any(test(x, v) for test, v in i.outside()))
    lo_ok = i.lower is None or (x >= a if a_inclusive else x > a)
    hi_ok = i.upper is None or (x <= b if b_inclusive else x < b)
    assert inside == (lo_ok and hi_ok)
