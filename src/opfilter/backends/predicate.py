"""Query → an in-memory predicate ``row -> bool`` (SPEC §2 and §7).

A renderer of :mod:`opfilter.lowering`: every lowered condition becomes one small closure
over precomputed values (sets for points, bounds for intervals), and the conditions are
joined into one row function, so calling the predicate never looks at the AST again.
(The oracle the backends are tested against is :func:`opfilter.lowering.evaluate`.)

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
from datetime import UTC, datetime
from functools import partial
from itertools import compress
from operator import attrgetter, is_, is_not, methodcaller
from typing import TYPE_CHECKING, Any, Literal, Protocol, assert_never, cast

from ..lowering import Interval, Meaning, Member, Never, NotMember, Within, lower
from ..schema import Type

if TYPE_CHECKING:
    from ..query import Query

__all__ = ["Predicate", "render", "to_predicate"]

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


# -- rendering one meaning (lowering.py) to a test ---------------------------------------------


def _member(m: Member | NotMember, datetimes: bool) -> Test:
    """``v`` equals a point, lies in an interval, or is NULL when ``m.null``."""
    exact = frozenset(m.points) | ({None} if m.null else frozenset())
    intervals = tuple(_within(i, datetimes) for i in m.intervals)
    if not intervals:
        if exact == {None}:
            return _is_null
        if not datetimes:
            return exact.__contains__
        return lambda v: (v if v is None or v.tzinfo is not None else _aware(v)) in exact

    def test(v: Any) -> bool:
        if v is None:
            return None in exact
        if datetimes and v.tzinfo is None:
            v = _aware(v)
        if v in exact:  # an aware datetime equals any other for the same instant
            return True
        return any(inside(v) for inside in intervals)

    return test


def _within(interval: Interval, datetimes: bool) -> Test:
    """A non-NULL value inside ``interval`` (naive datetimes read as UTC)."""
    lo, hi = interval.lower, interval.upper
    if lo is None and hi is None:
        return _not_null
    a: Any = None if lo is None else lo.value
    b: Any = None if hi is None else hi.value
    fix = _aware if datetimes else None
    if fix is not None:
        if hi is None:
            assert lo is not None
            if lo.inclusive:
                return lambda v: v is not None and fix(v) >= a
            return lambda v: v is not None and fix(v) > a
        if lo is None:
            if hi.inclusive:
                return lambda v: v is not None and fix(v) <= b
            return lambda v: v is not None and fix(v) < b
        if lo.inclusive and not hi.inclusive:  # a whole day
            return lambda v: v is not None and a <= fix(v) < b
        low_ok, high_ok = lo.admits_above, hi.admits_below
        return lambda v: v is not None and low_ok(fix(v)) and high_ok(fix(v))
    if hi is None:
        assert lo is not None
        if lo.inclusive:
            return lambda v: v is not None and v >= a
        return lambda v: v is not None and v > a
    if lo is None:
        if hi.inclusive:
            return lambda v: v is not None and v <= b
        return lambda v: v is not None and v < b
    if lo.inclusive and hi.inclusive:
        return lambda v: v is not None and a <= v <= b
    low_ok, high_ok = lo.admits_above, hi.admits_below
    return lambda v: v is not None and low_ok(v) and high_ok(v)


def render(meaning: Meaning, kind: Type) -> Test:
    """One lowered condition → a test of its field's value."""
    datetimes = kind is Type.DATETIME
    match meaning:
        case Member():
            return _member(meaning, datetimes)
        case NotMember(points=points, intervals=intervals, null=null):
            if not intervals and not datetimes:
                refused = frozenset(points) | ({None} if null else frozenset())
                return lambda v: v not in refused
            if not points and not intervals and null:
                return _not_null
            inner = _member(meaning, datetimes)
            return lambda v: not inner(v)
        case Within(interval=interval):
            return _within(interval, datetimes)
        case Never():
            return _never
        case _:  # pragma: no cover
            assert_never(meaning)


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


def to_predicate(query: Query, *, access: Access = "auto") -> Predicate:
    """Compile ``query`` (its filters and implied conditions such as ``deleted``) to a
    predicate: ``pred(row) -> bool`` and ``pred.select(rows) -> list``.

    ``access``: ``"mapping"`` (``row.get(field)``), ``"attribute"`` (``getattr(row, field,
    None)``), ``"auto"`` (mappings by key, anything else by attribute) or a function
    ``(row, field) -> value``.  Fields are read by their schema name."""
    schema = query.schema
    conds = []
    for c in query.all_conditions():
        f = schema.field(c.field)
        test = render(lower(f, c).meaning, f.kind)
        # set.__contains__ and the like are C functions: select() can stay in C for them
        c_level = not hasattr(test, "__code__")
        conds.append((c.field, test, c_level))
    frozen = tuple(conds)
    row_predicate = _row_predicate(tuple((key, test) for key, test, _ in frozen), access)

    fn: Any = row_predicate  # a fresh closure: attaching select() to it is safe
    fn.select = partial(_select, frozen, access, row_predicate)
    return cast(Predicate, fn)
