"""Query → an in-memory predicate ``row -> bool`` (SPEC §2 and §7): the oracle backend.

Compiled once: every condition becomes a small closure over precomputed operands (sets for
``in``/``nin``, day bounds for date operands on datetime fields), so calling the predicate
never looks at the AST again.  A row is a mapping or an object read by attribute; a
missing field is NULL.  Datetime values in rows may be naive (taken as UTC) or aware in
any zone: comparisons are by instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any, Literal

from ..nodes import Condition, Op, Value
from ..schema import Type
from ..values import day_bounds

__all__ = ["compile_condition", "to_predicate"]

UTC = timezone.utc
Test = Callable[[Any], bool]
"""A test of one field's value (``None`` is NULL)."""
Access = Literal["auto", "mapping", "attribute"] | Callable[[Any, str], Any]


def _never(v: Any) -> bool:
    return False


def _is_null(v: Any) -> bool:
    return v is None


def _not_null(v: Any) -> bool:
    return v is not None


def _eq_tests(operands: tuple[Value, ...]) -> tuple[frozenset[Any], list[tuple[datetime, datetime | None]]]:
    """Split ``eq`` items into exact values (a set, ``None`` for null) and whole days."""
    exact: set[Any] = set()
    days: list[tuple[datetime, datetime | None]] = []
    for x in operands:
        if type(x) is date:
            days.append(day_bounds(x))
        else:
            exact.add(x)
    return frozenset(exact), days


def _membership(operands: tuple[Value, ...], datetimes: bool) -> Test:
    """``v`` equals some item: an exact value, or within a day (datetime fields only)."""
    exact, days = _eq_tests(operands) if datetimes else (frozenset(operands), [])
    if not days:
        if len(exact) == 1:
            (x,) = exact
            if x is None:
                return _is_null
            return lambda v: v == x
        return exact.__contains__
    if not exact:
        if len(days) == 1:
            ((start, end),) = days
            if end is None:
                return lambda v: v is not None and start <= v
            return lambda v: v is not None and start <= v < end
        return lambda v: v is not None and any(
            s <= v and (e is None or v < e) for s, e in days
        )
    return lambda v: v in exact or (
        v is not None and any(s <= v and (e is None or v < e) for s, e in days)
    )


def _lower(x: Value, op: Op, datetimes: bool) -> Test:
    """``v > x`` / ``v >= x`` with a day operand read per SPEC §2 (gt: v ≥ D1)."""
    if datetimes and type(x) is date:
        start, end = day_bounds(x)
        bound = end if op is Op.GT else start
        if bound is None:
            return _never
        return lambda v: v is not None and v >= bound
    if op is Op.GT:
        return lambda v: v is not None and v > x
    return lambda v: v is not None and v >= x


def _upper(x: Value, op: Op, datetimes: bool) -> Test:
    """``v < x`` / ``v <= x`` with a day operand read per SPEC §2 (lte: v < D1)."""
    if datetimes and type(x) is date:
        start, end = day_bounds(x)
        if op is Op.LT:
            return lambda v: v is not None and v < start
        if end is None:
            return _not_null
        return lambda v: v is not None and v < end
    if op is Op.LT:
        return lambda v: v is not None and v < x
    return lambda v: v is not None and v <= x


def _between(lo: Value, hi: Value, datetimes: bool) -> Test:
    low, high = _lower(lo, Op.GTE, datetimes), _upper(hi, Op.LTE, datetimes)
    return lambda v: low(v) and high(v)


def _negate(test: Test) -> Test:
    return lambda v: not test(v)


def _value_test(c: Condition, datetimes: bool) -> Test:
    """The test one condition applies to its field's value."""
    op, xs = c.op, c.operands
    match op:
        case Op.EQ | Op.IN:
            return _membership(xs, datetimes)
        case Op.NEQ | Op.NIN:
            exact, days = _eq_tests(xs) if datetimes else (frozenset(xs), [])
            if days:
                return _negate(_membership(xs, datetimes))
            if exact == {None}:
                return _not_null
            if len(exact) == 1:
                (x,) = exact
                return lambda v: v != x
            return lambda v: v not in exact
        case Op.GT | Op.GTE:
            return _lower(xs[0], op, datetimes)
        case Op.LT | Op.LTE:
            return _upper(xs[0], op, datetimes)
        case Op.BT:
            return _between(xs[0], xs[1], datetimes)
    raise AssertionError(f"unhandled operator {op!r}")  # pragma: no cover


def _utc(v: Any) -> Any:
    if v is not None and v.tzinfo is None:
        return v.replace(tzinfo=UTC)
    return v


def compile_condition(c: Condition, kind: Type) -> Test:
    """One condition → a test of the field's value (naive datetimes read as UTC)."""
    datetimes = kind is Type.DATETIME
    test = _value_test(c, datetimes)
    if datetimes:
        inner = test
        return lambda v: inner(_utc(v))
    return test


def _fetcher(access: Access) -> Callable[[Any, str], Any]:
    if callable(access):
        return access
    if access == "mapping":
        return lambda row, key: row.get(key)
    if access == "attribute":
        return lambda row, key: getattr(row, key, None)

    def auto(row: Any, key: str) -> Any:
        if isinstance(row, Mapping):
            return row.get(key)
        return getattr(row, key, None)

    return auto


def _assemble(tests: tuple[tuple[str, Test], ...], access: Access) -> Callable[[Any], bool]:
    """One closure for the whole query; mapping rows read with ``row.get``."""
    fetch = _fetcher(access)
    if access == "auto":
        generic = _assemble(tests, fetch)

        def auto(row: Any) -> bool:
            if type(row) is dict:
                return mapping(row)
            return generic(row)

        mapping = _assemble(tests, "mapping")
        return auto
    if not tests:
        return lambda row: True
    if access == "mapping":
        if len(tests) == 1:
            ((key, test),) = tests
            return lambda row: test(row.get(key))
        if len(tests) == 2:
            (k1, t1), (k2, t2) = tests
            return lambda row: t1(row.get(k1)) and t2(row.get(k2))

        def all_mapping(row: Any) -> bool:
            get = row.get
            for key, test in tests:
                if not test(get(key)):
                    return False
            return True

        return all_mapping
    if len(tests) == 1:
        ((key, test),) = tests
        return lambda row: test(fetch(row, key))

    def all_generic(row: Any) -> bool:
        for key, test in tests:
            if not test(fetch(row, key)):
                return False
        return True

    return all_generic


def to_predicate(query: Any, *, access: Access = "auto") -> Callable[[Any], bool]:
    """Compile ``query`` (filters and implied conditions such as ``deleted``) to a
    predicate.  ``access``: ``"mapping"`` (``row.get(field)``), ``"attribute"``
    (``getattr(row, field, None)``), ``"auto"`` (mappings by key, anything else by
    attribute) or a function ``(row, field) -> value``.  Fields are read by their schema
    name."""
    schema = query.schema
    tests = tuple(
        (c.field, compile_condition(c, schema.field(c.field).kind)) for c in query.all_conditions()
    )
    return _assemble(tests, access)
