"""Query → a Polars expression for ``DataFrame.filter`` / ``LazyFrame.filter``
(extra ``opfilter[polars]``; SPEC §10).

>>> from datetime import UTC, datetime
>>> import polars as pl
>>> from opfilter import parse_query
>>> from opfilter.streams import SCHEMA
>>> df = pl.DataFrame({
...     "project_id": [1, 2, 3],
...     "updated_at": [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)],
...     "deleted_at": [None, None, datetime(2024, 2, 1, tzinfo=UTC)],
... })
>>> expr = to_polars(parse_query("project_id=neq:2&updated_at=lte:2024-01-03", SCHEMA))
>>> df.filter(expr)["project_id"].to_list()
[1]
>>> df.lazy().filter(expr).select("project_id").collect()["project_id"].to_list()
[1]

A renderer of :mod:`opfilter.lowering`.  Columns are named as the schema's columns
(``Filter.column``), of these types: int ``Int64``, decimal ``Decimal`` (compared
exactly), date ``Date``, datetime ``Datetime`` in any unit and time zone — compared as
**instants**: the column is cast to ``Datetime("us", "UTC")`` (free for a ``us`` column;
a naive column is read as UTC, a zoned one keeps its instants; a ``ns`` column's values
are truncated to the microsecond, the operands' precision), string and enum ``String``, bool
``Boolean``.

Polars' own ``!=`` and ``is_in`` give null on a null value (and ``filter`` drops it), so
SPEC §2's NULL rule is written out: ``is_null() | …`` where NULL is accepted, and every
other comparison with a null value gives null exactly where §2's answer is false; the
whole expression is then made exact — never null, so ``~expr`` is its complement — by
one ``fill_null(False)`` (Kleene logic: ``false & null`` is false, ``true & null`` null),
which costs one pass instead of an ``is_not_null()`` guard per condition.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Any, assert_never

import polars as pl

from ..lowering import Interval, Meaning, Member, Never, NotMember, Within, lower
from ..schema import Type

if TYPE_CHECKING:
    from ..query import Query

__all__ = ["column", "to_polars"]

_INSTANT = pl.Datetime("us", "UTC")
"""What datetime columns and operands are compared as (the lowering's values are aware
and in UTC)."""


def column(name: str, kind: Type) -> pl.Expr:
    """The column as compared: datetimes as UTC instants (a naive column read as UTC),
    anything else as it is."""
    if name == "*" or (name.startswith("^") and name.endswith("$")):
        raise ValueError(
            f"column name {name!r} would be a wildcard or a regular expression in Polars; "
            "rename the column (Filter(..., column=...))"
        )
    col = pl.col(name)
    return col.cast(_INSTANT) if kind is Type.DATETIME else col


def _lit(v: Any, kind: Type) -> pl.Expr:
    dtype = _LITERAL_TYPES.get(kind)
    return pl.lit(v) if dtype is None else pl.lit(v, dtype=dtype)


def _interval(col: pl.Expr, i: Interval, kind: Type) -> pl.Expr:
    parts = [test(col, _lit(v, kind)) for test, v in i.comparisons()]
    return reduce(lambda x, y: x & y, parts) if parts else col.is_not_null()


def _any(col: pl.Expr, m: Member | NotMember, kind: Type) -> pl.Expr | None:
    """Whether a non-NULL value is one of ``m``'s points or in one of its intervals
    (``None``: ``m`` has neither)."""
    parts: list[pl.Expr] = []
    if len(m.points) == 1:
        parts.append(col == _lit(m.points[0], kind))
    elif m.points:
        parts.append(reduce(lambda x, y: x | y, (col == _lit(p, kind) for p in m.points))
                     if kind is Type.DECIMAL or kind is Type.DATE
                     else col.is_in(pl.Series(m.points, dtype=_LITERAL_TYPES[kind]).implode()))
    parts += [_interval(col, i, kind) for i in m.intervals]
    return reduce(lambda x, y: x | y, parts) if parts else None


_LITERAL_TYPES: dict[Type, Any] = {
    Type.INT: pl.Int64, Type.DATE: pl.Date, Type.DATETIME: _INSTANT, Type.STRING: pl.String,
    Type.ENUM: pl.String, Type.BOOL: pl.Boolean,
}


def _condition(meaning: Meaning, col: pl.Expr, kind: Type, nulls: pl.Expr) -> pl.Expr:
    """One lowered condition; the expression is null only where the answer is false (a
    comparison with a null value), so one ``fill_null(False)`` makes it exact.  ``nulls``:
    the column before conversion (NULL tests need no cast)."""
    match meaning:
        case Member(null=null):
            hit = _any(col, meaning, kind)  # null only on a null value
            if null:
                return nulls.is_null() if hit is None else nulls.is_null() | hit
            return pl.lit(False) if hit is None else hit
        case NotMember(null=null):
            hit = _any(col, meaning, kind)
            if null:  # on a null value ~hit is null: false, once filled
                return nulls.is_not_null() if hit is None else ~hit
            return pl.lit(True) if hit is None else nulls.is_null() | ~hit
        case Within(interval=interval):
            return _interval(col, interval, kind)
        case Never():
            return pl.lit(False)
        case _:  # pragma: no cover
            assert_never(meaning)


def to_polars(query: Query) -> pl.Expr:
    """The conditions of ``query`` (filters and implied ones such as ``deleted``; never
    ``limit``/``offset``) as one boolean ``polars.Expr`` that is never null
    (``pl.lit(True)`` for none)."""
    exprs: list[pl.Expr] = []
    for c in query.all_conditions():
        f = query.schema.field(c.field)
        exprs.append(_condition(lower(f, c).meaning, column(f.column, f.kind), f.kind,
                                pl.col(f.column)))
    if not exprs:
        return pl.lit(True)
    # Kleene logic: a null (a false answer) stays false or null through & — filled once
    return reduce(lambda x, y: x & y, exprs).fill_null(False)
