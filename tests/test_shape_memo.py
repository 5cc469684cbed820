"""The shape memo of the predicate backend: a query of a shape compiled before gets the
source and the names its own values would have been written with, from scratch.

A plan (``_planned``) is the key of the memo and all its writer sees; what a plan leaves
out must not change the source.  So every query here is compiled twice: through the memo,
right after a *twin* — the same operators with the operand values redrawn, each of the
type it had and often equal to another operand, now and then on another field of the same
kind — and from scratch by ``_generate``, which writes from the values as ``to_predicate``
did before plans.  Both must give the same source, bind equal values of the same types to
the same names, and answer every row as the oracle does; when the twins' plans are equal,
the memo must have served the second.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from hypothesis import event, given, note, reject
from hypothesis import strategies as st

from helpers import echo, oracle
from opfilter import Filter, InvalidQuery, Query, Schema, to_predicate
from opfilter.backends.predicate import (
    _built,
    _generate,
    _helpers,
    _lowered,
    _planned,
    _prepared,
    _shape,
)
from opfilter.lowering import Bound, Interval, Member, NotMember, Within
from opfilter.nodes import Condition, Op, Value
from opfilter.schema import Type
from opfilter.streams import SCHEMA
from opfilter.testing import dates, datetimes, queries, rows, values
from schemas import ALL_TYPES

ODD = Schema(
    Filter("class", "int", nullable=True),
    Filter("a b", "datetime", nullable=True),
    Filter("naïve", "string", nullable=True),
    Filter("x']; #", "date"),
    Filter("0", "decimal", max_digits=9),
    Filter("ok", "bool"),
    name="odd-names",
)
"""Field names that may not be written into source (they are bound names, ``_k…``)."""

FEW = Schema(Filter("i", "int", nullable=True), Filter("j", "int"), Filter("b", "bool"),
             Filter("t", "datetime", nullable=True), name="few")
"""Few fields, so that a query often has several conditions on one (merged ranges, equal
point sets) and values equal across types (``{0, 1} == {False, True}``)."""

SCHEMAS = [ALL_TYPES, SCHEMA, ODD, FEW]
MODES = ["auto", "mapping", "attribute"]
HELPERS = set(_helpers())


D0 = datetime(2024, 1, 1, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))


def _ties(f: Filter, value: Value) -> list[Value]:
    """Operands of ``value``'s type likely to equal another operand of the query: equal
    operands share a name, equal bounds on a field make the strict one win, and some
    values are equal across types (``1 == True == Decimal(1)``)."""
    if isinstance(value, bool):
        return [False, True]
    if isinstance(value, int):
        return [0, 1]
    if isinstance(value, Decimal):
        return [Decimal(0), Decimal(1)]
    if isinstance(value, datetime):
        return [D0, D0.astimezone(PLUS2)]  # one instant (a query keeps it in UTC)
    if isinstance(value, date):
        return [D0.date()]
    return [f.choices[0]] if f.kind is Type.ENUM else ["a"]


def _like(f: Filter, value: Value, drawn: list[Value]) -> st.SearchStrategy[Value]:
    """Another operand for ``f`` of the type ``value`` has (``None`` stays ``None``: NULL
    is part of the shape; a datetime field's ``date`` stays a whole day): a new one, one
    drawn before for the query, or one of :func:`_ties`."""
    if value is None:
        return st.none()
    fresh: st.SearchStrategy[Value]
    if f.kind is Type.DATETIME:
        fresh = datetimes() if isinstance(value, datetime) else dates()
    else:
        fresh = values(f, null=False)  # one type for any other kind of field
    ties = [v for v in drawn if type(v) is type(value)] + _ties(f, value)
    return st.one_of(fresh, st.sampled_from(ties))


@st.composite
def twins(draw: st.DrawFn, schema: Schema) -> tuple[Query, Query]:
    """A query and its twin: the same operators and operand types, other values, and
    now and then a condition on another field of the same kind.  They share a plan unless
    the values decide part of it — which of two bounds on a field wins their
    intersection, which operands are equal, an empty range — or a field changed."""
    first = draw(queries(schema, max_conditions=6))
    drawn: list[Value] = []
    conds = []
    for c in first.conditions:
        f = schema.field(c.field)
        if draw(st.integers(0, 5)) == 0:
            f = draw(st.sampled_from([g for g in schema.filters if g.kind is f.kind]))
        operands = tuple(draw(_like(f, v, drawn)) for v in c.operands)
        if c.op is Op.BT and f.problem(Op.BT, operands) is not None:
            operands = operands[::-1]  # as opfilter.testing.conditions draws bt
            if f.problem(Op.BT, operands) is not None:
                operands = (operands[0], operands[0])
        drawn += operands
        conds.append(Condition(f.name, c.op, operands))
    try:
        return first, Query(schema, conds, first.params)
    except InvalidQuery:  # another field may refuse the operator, NULL, or the count
        reject()


def _bound(namespace: dict[str, Any]) -> dict[str, Any]:
    """The namespace's operands and odd field names (what the source names)."""
    return {k: v for k, v in namespace.items() if k not in HELPERS}


def _same_bindings(memo: dict[str, Any], scratch: dict[str, Any]) -> None:
    memo, scratch = _bound(memo), _bound(scratch)
    assert memo.keys() == scratch.keys()
    for name, value in scratch.items():
        assert type(memo[name]) is type(value) and memo[name] == value, name


def _objects(table: list[dict[str, Any]]) -> list[Any]:
    return [SimpleNamespace(**r) for r in table]


@given(schema=st.sampled_from(SCHEMAS), access=st.sampled_from(MODES), data=st.data())
def test_a_shape_memo_hit_writes_what_the_values_would(
        schema: Schema, access: str, data: st.DataObject) -> None:
    first, q = data.draw(twins(schema), label="first, twin")
    conds = _lowered(q)
    plan = _planned(conds)[0]
    _prepared(_lowered(first), access)  # the first twin's plan is in the memo now
    hits = _shape.cache_info().hits
    source, code, namespace = _prepared(conds, access)
    if _planned(_lowered(first))[0] == plan:
        event("the twins share a plan")
        assert _shape.cache_info().hits == hits + 1  # served by the memo
    else:
        event("the twins' plans differ")
        note(f"plan: {plan}")

    scratch_source, scratch_namespace = _generate(conds, access)
    assert source == scratch_source
    _same_bindings(namespace, scratch_namespace)

    pred = _built(source, code, namespace)
    assert pred.source == to_predicate(q, access=access).source  # type: ignore[arg-type]
    rows_ = data.draw(st.lists(rows(schema, missing=True), max_size=8), label="rows")
    rows_ += echo(q)
    expected = [oracle(q, r) for r in rows_]
    kinds = {"mapping": [rows_], "attribute": [_objects(rows_)],
             "auto": [rows_, _objects(rows_)]}[access]
    for kind in kinds:
        assert [pred(r) for r in kind] == expected, source
        assert pred.select(kind) == [r for r, e in zip(kind, expected, strict=True) if e]


# -- what a plan must tell apart: each pair below shares a shape but not its source ------

ALL_KINDS = Schema(
    Filter("i", "int"), Filter("j", "int"), Filter("s", "string", nullable=True),
    Filter("b", "bool"), Filter("d", "decimal", max_digits=9),
    Filter("t", "datetime", nullable=True), Filter("u", "datetime"), name="kinds",
)


def _pair(*conditions: list[tuple[str, Op, tuple[Value, ...]]]) -> list[Query]:
    return [Query(ALL_KINDS, [Condition(f, op, v) for f, op, v in c]) for c in conditions]


PAIRS = {
    "the bound that wins an intersection is inclusive or not": _pair(
        [("i", Op.GT, (3,)), ("i", Op.GTE, (5,))], [("i", Op.GT, (5,)), ("i", Op.GTE, (3,))]),
    "equal bounds: the strict one wins": _pair(
        [("i", Op.GT, (5,)), ("i", Op.GTE, (5,))], [("i", Op.GT, (5,)), ("i", Op.GTE, (6,))]),
    "equal operands share a name": _pair(
        [("i", Op.GTE, (5,)), ("j", Op.GTE, (5,))], [("i", Op.GTE, (5,)), ("j", Op.GTE, (6,))]),
    "equal point sets share a name, in any order": _pair(
        [("i", Op.IN, (1, 2)), ("j", Op.IN, (2, 1))], [("i", Op.IN, (1, 2)), ("j", Op.IN, (2, 3))]),
    "a point set equal across types shares a name": _pair(
        [("i", Op.IN, (1, 0)), ("b", Op.IN, (True, False))],
        [("i", Op.IN, (1, 2)), ("b", Op.IN, (True, False))]),
    "a whole day against an instant": _pair(
        [("t", Op.EQ, (D0.date(),))], [("t", Op.EQ, (D0,))]),
    "the last day has no end": _pair(
        [("t", Op.LTE, (datetime.max.date(),))], [("t", Op.LTE, (D0.date(),))]),
    "nothing is after the last day": _pair(
        [("t", Op.GT, (datetime.max.date(),))], [("t", Op.GT, (D0.date(),))]),
}


def test_plans_tell_apart_what_changes_the_source() -> None:
    """Pairs of queries whose sources differ though their conditions look alike: their
    plans must differ too (a coarser key would serve the first one's source)."""
    for label, (a, b) in PAIRS.items():
        for access in MODES:
            source_a = _generate(_lowered(a), access)[0]
            source_b = _generate(_lowered(b), access)[0]
            plan_a, plan_b = _planned(_lowered(a))[0], _planned(_lowered(b))[0]
            assert plan_a != plan_b or source_a == source_b, label
            assert _prepared(_lowered(a), access)[0] == source_a, label
            assert _prepared(_lowered(b), access)[0] == source_b, label


def test_the_pairs_write_different_sources() -> None:
    """Each pair above does differ in its source for some access mode (else it tests
    nothing)."""
    for label, (a, b) in PAIRS.items():
        assert any(_generate(_lowered(a), m)[0] != _generate(_lowered(b), m)[0]
                   for m in MODES), label


EDGES: dict[str, tuple[Any, ...]] = {
    "equal values of two types are two operands": _lowered(Query(ALL_KINDS, [
        Condition("i", Op.GTE, (1,)), Condition("d", Op.GTE, (Decimal(1),)),
        Condition("b", Op.EQ, (True,)), Condition("j", Op.NEQ, (1,))])),
    # not from a query (the lowering's datetimes are UTC): equal instants in two zones are
    # one operand, but their naive copies are two
    "equal instants in two zones": (
        ("t", Type.DATETIME, True, Member((D0, D0.astimezone(PLUS2)))),
        ("u", Type.DATETIME, False, Within(Interval(Bound(D0.astimezone(PLUS2), True), None))),
        ("t", Type.DATETIME, True, NotMember((D0 + timedelta(hours=1),)))),
}


def test_operands_are_named_as_their_values_would_be() -> None:
    for label, conds in EDGES.items():
        for access in MODES:
            source, _, namespace = _prepared(conds, access)
            scratch_source, scratch_namespace = _generate(conds, access)
            assert source == scratch_source, label
            _same_bindings(namespace, scratch_namespace)


def test_a_plan_holds_no_value() -> None:
    """The memo keeps plans, not values: a payload in an operand is nowhere in its key."""
    payload = "__import__('os').system('false')"
    q = Query(ALL_KINDS, [Condition("s", Op.IN, (payload, None)), Condition("i", Op.GT, (7,)),
                          Condition("t", Op.LT, (D0,))])
    plan, values_ = _planned(_lowered(q))
    assert payload in values_ and payload not in repr(plan) and "2024" not in repr(plan)


def test_an_access_function_writes_from_the_values() -> None:
    """A function ``access`` is never memoized (test_predicate checks the predicate memo):
    its source does not go through the shape memo either."""
    q = Query(ALL_KINDS, [Condition("i", Op.IN, (1, 2))])
    before = _shape.cache_info()
    pred = to_predicate(q, access=lambda row, name: row.get(name))
    after = _shape.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)
    assert pred({"i": 2}) and not pred({"i": 3})
