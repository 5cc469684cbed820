"""Query → an in-memory predicate ``row -> bool`` (SPEC §2 and §7): the oracle backend.

Compiled once: every condition becomes one small closure over precomputed operands (sets
for ``eq``/``in``, day bounds for date operands on datetime fields), and the conditions
are joined into one row function, so calling the predicate never looks at the AST again.

A row is a mapping or an object read by attribute; a missing field is NULL.  Datetime
values in rows may be naive (taken as UTC) or aware in any zone: comparisons are by
instant.

Besides being called per row, a predicate has ``select(rows)``, which filters a whole
list condition by condition; for equality-type conditions on non-datetime fields each
pass runs entirely in C (``itertools.compress`` over ``map(set.__contains__, map(getter,
rows))``), which is what makes scanning a million rows about as fast as a hand-written
list comprehension.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from itertools import compress
from operator import attrgetter, is_, is_not, methodcaller
from typing import Any, Literal, Protocol, cast

from ..nodes import Condition, Op, Value
from ..schema import Type
from ..values import day_bounds

__all__ = ["Predicate", "compile_condition", "to_predicate"]

UTC = UTC
Test = Callable[[Any], bool]
"""A test of one field's value (``None`` is NULL)."""
Access = Literal["auto", "mapping", "attribute"] | Callable[[Any, str], Any]


class Predicate(Protocol):
    """What :func:`to_predicate` returns: call it on a row, or ``select`` from rows."""

    def __call__(self, row: Any) -> bool: ...

    def select(self, rows: Iterable[Any]) -> list[Any]:
        """The rows that match, in their order."""
        ...


def _never(v: Any) -> bool:
    return False


_is_null: Test = partial(is_, None)  # C-level callables: select() keeps them in C
_not_null: Test = partial(is_not, None)


def _aware(v: datetime) -> datetime:
    return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


# -- one condition --------------------------------------------------------------------------


def _split(operands: tuple[Value, ...], datetimes: bool) -> tuple[frozenset[Any], list[Any]]:
    """``eq`` items as exact values (a set; ``None`` for null) and whole UTC days."""
    if not datetimes:
        return frozenset(operands), []
    exact = frozenset(x for x in operands if type(x) is not date)
    days = [day_bounds(x) for x in operands if isinstance(x, date) and type(x) is date]
    return exact, days


def _membership(exact: frozenset[Any], days: list[Any], datetimes: bool) -> Test:
    """``v`` equals some item: an exact value, or a time within one of the days."""
    if not days:
        if exact == {None}:
            return _is_null
        if not datetimes:
            return exact.__contains__
        return lambda v: (v if v is None or v.tzinfo is not None else _aware(v)) in exact

    def test(v: Any) -> bool:
        if v is None:
            return None in exact
        if v.tzinfo is None:
            v = _aware(v)
        if v in exact:
            return True
        return any(s <= v and (e is None or v < e) for s, e in days)

    return test


def _bound(op: Op, x: Any, datetimes: bool) -> Test:
    """``gt gte lt lte`` against one operand; a day operand reads as SPEC §2 says."""
    if datetimes:
        if type(x) is date:
            start, end = day_bounds(x)
            # gt: v ≥ D1, gte: v ≥ D0, lt: v < D0, lte: v < D1 (D1 None: unbounded)
            if op is Op.GT or op is Op.LTE:
                if end is None:
                    return _never if op is Op.GT else _not_null
                x, op = end, (Op.GTE if op is Op.GT else Op.LT)
            else:
                x = start
        if op is Op.GT:
            return lambda v: v is not None and _aware(v) > x
        if op is Op.GTE:
            return lambda v: v is not None and _aware(v) >= x
        if op is Op.LT:
            return lambda v: v is not None and _aware(v) < x
        return lambda v: v is not None and _aware(v) <= x
    if op is Op.GT:
        return lambda v: v is not None and v > x
    if op is Op.GTE:
        return lambda v: v is not None and v >= x
    if op is Op.LT:
        return lambda v: v is not None and v < x
    return lambda v: v is not None and v <= x


def compile_condition(c: Condition, kind: Type) -> Test:
    """One condition → a test of its field's value (naive datetimes read as UTC)."""
    datetimes = kind is Type.DATETIME
    op, xs = c.op, c.operands
    match op:
        case Op.EQ | Op.IN:
            return _membership(*_split(xs, datetimes), datetimes)
        case Op.NEQ | Op.NIN:
            exact, days = _split(xs, datetimes)
            if exact == {None} and not days:
                return _not_null
            if not datetimes:
                return lambda v: v not in exact
            inner = _membership(exact, days, datetimes)
            return lambda v: not inner(v)
        case Op.GT | Op.GTE | Op.LT | Op.LTE:
            return _bound(op, xs[0], datetimes)
        case Op.BT:
            low, high = _bound(Op.GTE, xs[0], datetimes), _bound(Op.LTE, xs[1], datetimes)
            return lambda v: low(v) and high(v)
    raise AssertionError(f"unhandled operator {op!r}")  # pragma: no cover


# -- a whole query ------------------------------------------------------------------------


def _row_function(tests: tuple[tuple[str, Test], ...], read: str | Callable[[Any, str], Any]
                  ) -> Callable[[Any], bool]:
    """One closure for all conditions; ``read`` is "mapping", "attribute" or a function."""
    if not tests:
        return lambda row: True
    if read == "mapping":
        if len(tests) == 1:
            ((key, test),) = tests
            return lambda row: test(row.get(key))
        if len(tests) == 2:
            (k1, t1), (k2, t2) = tests
            return lambda row: t1(row.get(k1)) and t2(row.get(k2))

        def every_key(row: Any) -> bool:
            get = row.get
            for key, test in tests:
                if not test(get(key)):
                    return False
            return True

        return every_key
    if read == "attribute":
        if len(tests) == 1:
            ((key, test),) = tests
            return lambda row: test(getattr(row, key, None))
        if len(tests) == 2:
            (k1, t1), (k2, t2) = tests
            return lambda row: t1(getattr(row, k1, None)) and t2(getattr(row, k2, None))

        def every_attribute(row: Any) -> bool:
            for key, test in tests:
                if not test(getattr(row, key, None)):
                    return False
            return True

        return every_attribute
    assert callable(read)
    fetch = read

    def every_fetched(row: Any) -> bool:
        for key, test in tests:
            if not test(fetch(row, key)):
                return False
        return True

    return every_fetched


def _row_predicate(tests: tuple[tuple[str, Test], ...], access: Access) -> Callable[[Any], bool]:
    if access != "auto":
        return _row_function(tests, access)
    by_key = _row_function(tests, "mapping")
    by_attr = _row_function(tests, "attribute")

    seen: dict[type, bool] = {dict: True}

    def auto(row: Any) -> bool:
        mapping = seen.get(type(row))
        if mapping is None:
            mapping = seen[type(row)] = isinstance(row, Mapping)
        return by_key(row) if mapping else by_attr(row)

    return auto


def _select(conds: tuple[tuple[str, Test, bool], ...], access: Access,
            row_predicate: Callable[[Any], bool], rows: Iterable[Any]) -> list[Any]:
    """Filter a whole list condition by condition (C-level passes where possible)."""
    out = rows if isinstance(rows, list) else list(rows)
    if not out or callable(access):
        return [row for row in out if row_predicate(row)]
    read = access
    if read == "auto":
        read = "mapping" if type(out[0]) is dict or isinstance(out[0], Mapping) else "attribute"
    try:
        return _passes(conds, read, out)
    except (AttributeError, TypeError):
        # mixed row kinds, or a field missing on some object: the general path decides
        return [row for row in out if row_predicate(row)]


def _passes(conds: tuple[tuple[str, Test, bool], ...], read: str, out: list[Any]) -> list[Any]:
    for key, test, c_level in conds:
        if c_level:
            getter = attrgetter(key) if read == "attribute" else methodcaller("get", key)
            out = list(compress(out, map(test, map(getter, out))))
        elif read == "attribute":
            out = [row for row in out if test(getattr(row, key, None))]
        else:
            out = [row for row in out if test(row.get(key))]
        if not out:
            break
    return out


def to_predicate(query: Any, *, access: Access = "auto") -> Predicate:
    """Compile ``query`` (its filters and implied conditions such as ``deleted``) to a
    predicate: ``pred(row) -> bool`` and ``pred.select(rows) -> list``.

    ``access``: ``"mapping"`` (``row.get(field)``), ``"attribute"`` (``getattr(row, field,
    None)``), ``"auto"`` (mappings by key, anything else by attribute) or a function
    ``(row, field) -> value``.  Fields are read by their schema name."""
    schema = query.schema
    conds = []
    for c in query.all_conditions():
        kind = schema.field(c.field).kind
        test = compile_condition(c, kind)
        # set.__contains__ and the like are C functions: select() can stay in C for them
        c_level = not hasattr(test, "__code__")
        conds.append((c.field, test, c_level))
    frozen = tuple(conds)
    row_predicate = _row_predicate(tuple((key, test) for key, test, _ in frozen), access)

    fn: Any = row_predicate  # a fresh closure: attaching select() to it is safe
    fn.select = partial(_select, frozen, access, row_predicate)
    return cast(Predicate, fn)
