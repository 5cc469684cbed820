"""SPEC §2 written once: a condition → a small, typed description of what it accepts.

Every backend (predicate, SQL, SQLAlchemy, and the integrations) renders these
descriptions and nothing else, so the NULL rule, the whole-UTC-day rule and the range
logic exist in this module only::

    text ──grammar──▶ Condition ──schema check──▶ lower() ──▶ Meaning ──render──▶ SQL, …

A :class:`Meaning` is one of four shapes (renderers ``match`` on them and end with
``assert_never``, so mypy checks that each handles every shape):

=================  ======================================================================
:class:`Member`    ``eq``/``in``: the value equals one of ``points`` or lies in one of
                   ``intervals``; NULL is accepted exactly when ``null``
:class:`NotMember` ``neq``/``nin``: the exact negation of the :class:`Member` with the same
                   fields — so NULL is accepted exactly when ``null`` is *false*
:class:`Within`    ``gt gte lt lte bt``: a non-NULL value inside ``interval``
                   (an interval with no bounds: any non-NULL value)
:class:`Never`     nothing, not even NULL (``gt:9999-12-31`` on a datetime field)
=================  ======================================================================

Values are normalised for comparison: on a datetime field every value is an aware
datetime in UTC, and a date operand has become its UTC day ``[D0, D1)`` — an
:class:`Interval` (with no upper bound for the last representable day).  Other types keep
their Python values (``int``, ``Decimal``, ``date``, ``str``, ``bool``).

:func:`evaluate` is the plain, obviously correct interpreter of a meaning; it is the
oracle the fast backends are tested against.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias, assert_never

from .nodes import Condition, Op, Type, Value
from .values import day_bounds, to_utc

if TYPE_CHECKING:
    from .schema import Filter

__all__ = [
    "LOWERINGS",
    "Bound",
    "Constraint",
    "Interval",
    "Meaning",
    "Member",
    "Never",
    "NotMember",
    "Within",
    "between_is_empty",
    "evaluate",
    "holds_for_null",
    "is_empty_range",
    "lower",
    "lower_condition",
    "satisfiable",
]

Scalar: TypeAlias = int | Decimal | date | datetime | str | bool
"""A normalised non-NULL value (datetimes aware, in UTC)."""


@dataclass(frozen=True, slots=True)
class Bound:
    """One end of an interval: ``value`` itself included or not."""

    value: Any
    inclusive: bool

    def admits_above(self, v: Any) -> bool:
        """As a lower bound: ``v`` is not below it."""
        return bool(v >= self.value if self.inclusive else v > self.value)

    def admits_below(self, v: Any) -> bool:
        """As an upper bound: ``v`` is not above it."""
        return bool(v <= self.value if self.inclusive else v < self.value)


@dataclass(frozen=True, slots=True)
class Interval:
    """Non-NULL values between ``lower`` and ``upper`` (``None``: unbounded that side)."""

    lower: Bound | None
    upper: Bound | None

    def contains(self, v: Any) -> bool:
        return (self.lower is None or self.lower.admits_above(v)) and (
            self.upper is None or self.upper.admits_below(v)
        )

    @property
    def empty(self) -> bool:
        """No value lies inside (over a dense order; ints may be empty sooner)."""
        lo, hi = self.lower, self.upper
        if lo is None or hi is None:
            return False
        if lo.value != hi.value:
            return bool(lo.value > hi.value)
        return not (lo.inclusive and hi.inclusive)

    def comparisons(self) -> list[tuple[Callable[[Any, Any], Any], Any]]:
        """The tests of a value against the ends, ``[(operator.ge, a), (operator.lt, b)]``
        (empty when unbounded) — for renderers whose columns overload the comparison
        operators (Polars, Spark, SQLAlchemy)."""
        out: list[tuple[Callable[[Any, Any], Any], Any]] = []
        if self.lower is not None:
            out.append((operator.ge if self.lower.inclusive else operator.gt, self.lower.value))
        if self.upper is not None:
            out.append((operator.le if self.upper.inclusive else operator.lt, self.upper.value))
        return out

    def outside(self) -> list[tuple[Callable[[Any, Any], Any], Any]]:
        """The tests that put a value outside the ends, any one of which suffices,
        ``[(operator.lt, a), (operator.ge, b)]`` for ``[a, b)`` (empty when unbounded:
        nothing is outside)."""
        out: list[tuple[Callable[[Any, Any], Any], Any]] = []
        if self.lower is not None:
            out.append((operator.lt if self.lower.inclusive else operator.le, self.lower.value))
        if self.upper is not None:
            out.append((operator.gt if self.upper.inclusive else operator.ge, self.upper.value))
        return out

    def intersect(self, other: Interval) -> Interval:
        return Interval(_tighter(self.lower, other.lower, True),
                        _tighter(self.upper, other.upper, False))


def _tighter(a: Bound | None, b: Bound | None, lower: bool) -> Bound | None:
    if a is None:
        return b
    if b is None:
        return a
    if a.value == b.value:
        return a if not a.inclusive else b
    return (a if a.value > b.value else b) if lower else (a if a.value < b.value else b)


@dataclass(frozen=True, slots=True)
class Member:
    """``eq``/``in``: equal to a point, inside an interval, or NULL when ``null``."""

    points: tuple[Scalar, ...]
    intervals: tuple[Interval, ...] = ()
    null: bool = False


@dataclass(frozen=True, slots=True)
class NotMember:
    """``neq``/``nin``: exactly the values the :class:`Member` of the same fields refuses
    (NULL included unless ``null``)."""

    points: tuple[Scalar, ...]
    intervals: tuple[Interval, ...] = ()
    null: bool = False


@dataclass(frozen=True, slots=True)
class Within:
    """``gt gte lt lte bt``: a non-NULL value inside ``interval``."""

    interval: Interval


@dataclass(frozen=True, slots=True)
class Never:
    """Matches nothing, NULL included."""


Meaning: TypeAlias = Member | NotMember | Within | Never


@dataclass(frozen=True, slots=True)
class Constraint:
    """A lowered condition: the field it reads and what it accepts."""

    field: Filter
    meaning: Meaning


# -- lowering ----------------------------------------------------------------------------


def _day(v: date) -> Interval:
    start, end = day_bounds(v)
    return Interval(Bound(start, True), None if end is None else Bound(end, False))


def _items(
    operands: Iterable[Value], datetimes: bool
) -> tuple[tuple[Scalar, ...], tuple[Interval, ...], bool]:
    if not datetimes and None not in operands:  # the common case: nothing to normalise
        return tuple(operands), (), False  # type: ignore[arg-type]
    points: list[Scalar] = []
    intervals: list[Interval] = []
    null = False
    for v in operands:
        if v is None:
            null = True
        elif datetimes and isinstance(v, datetime):
            points.append(to_utc(v))
        elif datetimes and isinstance(v, date):
            intervals.append(_day(v))
        else:
            points.append(v)
    return tuple(points), tuple(intervals), null


def _lower_end(v: Value, datetimes: bool, strict: bool) -> Bound | Never | None:
    """The lower bound of ``gt`` (strict) / ``gte``; ``Never`` when nothing is above."""
    if datetimes and not isinstance(v, datetime):
        assert isinstance(v, date)
        day = _day(v)
        if not strict:
            return day.lower  # v ≥ D0
        return Never() if day.upper is None else Bound(day.upper.value, True)  # v ≥ D1
    if datetimes:
        assert isinstance(v, datetime)
        v = to_utc(v)
    return Bound(v, not strict)


def _upper_end(v: Value, datetimes: bool, strict: bool) -> Bound | None:
    """The upper bound of ``lt`` (strict) / ``lte``; ``None`` when everything is below."""
    if datetimes and not isinstance(v, datetime):
        assert isinstance(v, date)
        day = _day(v)
        if strict:
            assert day.lower is not None
            return Bound(day.lower.value, False)  # v < D0
        return day.upper  # v < D1 (unbounded for the last day)
    if datetimes:
        assert isinstance(v, datetime)
        v = to_utc(v)
    return Bound(v, not strict)


def _member(operands: Sequence[Value], datetimes: bool) -> Meaning:
    return Member(*_items(operands, datetimes))


def _not_member(operands: Sequence[Value], datetimes: bool) -> Meaning:
    return NotMember(*_items(operands, datetimes))


def _above(strict: bool) -> Callable[[Sequence[Value], bool], Meaning]:
    def lower_gt(operands: Sequence[Value], datetimes: bool) -> Meaning:
        low = _lower_end(operands[0], datetimes, strict)
        return low if isinstance(low, Never) else Within(Interval(low, None))

    return lower_gt


def _below(strict: bool) -> Callable[[Sequence[Value], bool], Meaning]:
    def lower_lt(operands: Sequence[Value], datetimes: bool) -> Meaning:
        return Within(Interval(None, _upper_end(operands[0], datetimes, strict)))

    return lower_lt


def _between(operands: Sequence[Value], datetimes: bool) -> Meaning:
    low = _lower_end(operands[0], datetimes, False)
    assert not isinstance(low, Never)
    return Within(Interval(low, _upper_end(operands[1], datetimes, False)))


LOWERINGS: Mapping[Op, Callable[[Sequence[Value], bool], Meaning]] = MappingProxyType({
    Op.EQ: _member,
    Op.IN: _member,
    Op.NEQ: _not_member,
    Op.NIN: _not_member,
    Op.GT: _above(True),
    Op.GTE: _above(False),
    Op.LT: _below(True),
    Op.LTE: _below(False),
    Op.BT: _between,
})
"""SPEC §2's table, one row per operator (a test checks that every ``Op`` has one):
``(operands, datetime field?) → Meaning``.  (A table rather than a ``match`` on ``Op``:
each ``Op.X`` in a pattern is an attribute look-up on the enum class.)"""


def lower_condition(op: Op, operands: Sequence[Value], datetimes: bool) -> Meaning:
    """SPEC §2's table for one condition.  ``datetimes``: the field is a datetime field
    (where a ``date`` operand is a whole UTC day).  Operands are assumed valid for the
    field (see :meth:`opfilter.schema.Filter.problem`)."""
    return LOWERINGS[op](operands, datetimes)


def lower(field: Filter, condition: Condition) -> Constraint:
    """One condition on ``field`` → its :class:`Constraint`."""
    datetimes = field.kind is Type.DATETIME
    return Constraint(field, lower_condition(condition.op, condition.operands, datetimes))


# -- questions every backend would otherwise answer for itself ------------------------------


def holds_for_null(meaning: Meaning) -> bool:
    """Whether a NULL value satisfies ``meaning`` (SPEC §2's NULL column)."""
    match meaning:
        case Member(null=null):
            return null
        case NotMember(null=null):
            return not null
        case Within() | Never():
            return False
        case _:  # pragma: no cover
            assert_never(meaning)


def evaluate(meaning: Meaning, value: Any) -> bool:
    """The plain interpreter of a meaning — the oracle.  ``value`` is the row's value
    (``None`` for NULL; a naive datetime is taken as UTC)."""
    if value is None:
        return holds_for_null(meaning)
    if isinstance(value, datetime):
        value = to_utc(value)
    match meaning:
        case Member(points=points, intervals=intervals):
            return any(value == p for p in points) or any(i.contains(value) for i in intervals)
        case NotMember(points=points, intervals=intervals):
            return not (any(value == p for p in points)
                        or any(i.contains(value) for i in intervals))
        case Within(interval=interval):
            return interval.contains(value)
        case Never():
            return False
        case _:  # pragma: no cover
            assert_never(meaning)


def is_empty_range(meaning: Meaning) -> bool:
    """Whether ``meaning`` is a range no value can lie in (``bt`` with its lower bound
    after its upper bound is a failure, SPEC §2)."""
    return isinstance(meaning, Never) or (
        isinstance(meaning, Within) and meaning.interval.empty
    )


def between_is_empty(low: Value, high: Value, datetimes: bool) -> bool:
    """Whether ``bt:low,high`` denotes an empty interval (a failure, SPEC §2): exactly
    ``is_empty_range(lower_condition(Op.BT, (low, high), datetimes))``, answered without
    building the meaning when no whole day is involved (parsing asks it per ``bt``)."""
    if not datetimes or (isinstance(low, datetime) and isinstance(high, datetime)):
        return bool(low > high)  # type: ignore[operator]
    return is_empty_range(_between((low, high), datetimes))


def satisfiable(meanings: Sequence[Meaning]) -> bool:
    """Whether some value (NULL included) satisfies every meaning — answered soundly:
    ``False`` only when that is certain.  (Used to warn about filters that can never
    match together, SPEC §8.)"""
    if not meanings or all(holds_for_null(m) for m in meanings):
        return True
    if any(isinstance(m, Never) for m in meanings):
        return False
    # Every candidate point of a pure point list must fail somewhere for certainty.
    for m in meanings:
        if (isinstance(m, Member) and not m.intervals
                and not any(all(evaluate(o, p) for o in meanings) for p in m.points)):
            return False
    # The ranges (and single-interval memberships) must overlap.
    common = Interval(None, None)
    for m in meanings:
        if isinstance(m, Within):
            common = common.intersect(m.interval)
        elif isinstance(m, Member) and not m.points and len(m.intervals) == 1:
            common = common.intersect(m.intervals[0])
    return not common.empty
