"""Query → a SQLAlchemy Core boolean expression over a table (extra ``opfilter[sqlalchemy]``).

>>> import sqlalchemy as sa
>>> from sqlalchemy.dialects import postgresql
>>> from opfilter import parse_query
>>> from opfilter.streams import SCHEMA
>>> t = sa.Table("streams", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
...              sa.Column("project_id", sa.BigInteger), sa.Column("updated_at", UTCDateTime),
...              sa.Column("deleted_at", UTCDateTime, nullable=True))
>>> expr = to_sqlalchemy(parse_query("project_id=neq:3", SCHEMA), t)
>>> print(expr.compile(dialect=postgresql.dialect()))
streams.project_id IS DISTINCT FROM %(project_id_1)s::BIGINT AND streams.deleted_at IS NULL

Same semantics as :func:`opfilter.to_sql` (SPEC §2: NULL rules, a date operand on a
datetime field meaning that whole UTC day), built from SQLAlchemy operators, so it renders
for any dialect SQLAlchemy knows.  Columns are found by each field's ``Filter.column`` in
``table.c`` (a ``Table``, an alias of one, or any selectable).  As with :func:`to_sql`,
the expression is for a ``WHERE`` clause: a NULL row may make parts of it ``UNKNOWN``, so
``~expr`` is not the complement.

Two column types make SQLite store values the way :mod:`opfilter.backends.sql` reads them,
so that SQLAlchemy-on-SQLite, raw SQLite and PostgreSQL all agree (:func:`column_type`
picks them for a field):

* :class:`UTCDateTime` — ``timestamptz`` on PostgreSQL (``DateTime(timezone=True)``
  elsewhere); on SQLite ``TEXT`` holding fixed-width UTC ``YYYY-MM-DD HH:MM:SS.ffffff``.
  Binds convert any aware datetime to UTC (a naive one is taken as UTC); results are aware,
  in UTC.  (SQLAlchemy's own SQLite ``DateTime`` writes the same text but ignores the time
  zone: an aware non-UTC value would be stored as its local wall time.)
* :class:`RealDecimal` — ``numeric`` elsewhere; on SQLite ``REAL``, exact for decimals with
  at most 15 significant digits (see :mod:`opfilter.backends.sql`).  Binding a value
  outside that domain raises; results come back as ``Decimal``.  On a column of this type
  :func:`to_sqlalchemy` rewrites operands outside the domain exactly as :func:`to_sql` does
  for SQLite (on every dialect: the column only ever holds domain values).

Plain ``Date`` (SQLite: ``YYYY-MM-DD`` text), ``Boolean`` (SQLite: 0/1), ``BigInteger``
and ``String``/``Text`` columns need nothing special.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from ..nodes import Op, Value
from ..schema import Filter, Type
from ..values import day_bounds
from .sql import real_domain, real_neighbours, sqlite_datetime

if TYPE_CHECKING:
    from sqlalchemy.sql.expression import FromClause

    from ..query import Query

__all__ = ["OPERATORS", "RealDecimal", "UTCDateTime", "column_type", "to_sqlalchemy"]


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: ``timestamptz`` on PostgreSQL, fixed-width UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime takes a datetime, not {value!r}")
        if dialect.name == "sqlite":
            return sqlite_datetime(value)
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


class RealDecimal(TypeDecorator[Decimal]):
    """A decimal: ``numeric``, or ``REAL`` on SQLite (at most 15 significant digits)."""

    impl = sa.Numeric(asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.REAL())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"RealDecimal takes a Decimal, not {value!r}")
        d = Decimal(value)
        if not real_domain(d):
            raise ValueError(
                f"decimal {value} is outside RealDecimal's domain: at most 15 significant "
                "digits and a magnitude from 1e-307 to below 1e308"
            )
        return float(d) if dialect.name == "sqlite" else d

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            return Decimal(repr(value))  # the shortest repr is the stored 15-digit decimal
        return Decimal(value)


def column_type(f: Filter) -> TypeEngine[Any]:
    """The SQLAlchemy column type for a field, agreeing with :func:`opfilter.to_sql`."""
    kind = f.kind
    if kind is Type.INT:
        return sa.BigInteger()
    if kind is Type.DECIMAL:
        return RealDecimal()
    if kind is Type.DATE:
        return sa.Date()
    if kind is Type.DATETIME:
        return UTCDateTime()
    if kind is Type.BOOL:
        return sa.Boolean()
    return sa.Text()


# -- operands ----------------------------------------------------------------------------
# As in sql.py: an operand is a point (tag 0), a UTC day [start, end) with end None for the
# last day (tag 1), or a gap between two stored values lo < x < hi (tag 2; RealDecimal).

_POINT, _DAY, _GAP = 0, 1, 2
Norm: TypeAlias = tuple[int, Any, Any]
Column: TypeAlias = ColumnElement[Any]
Expr: TypeAlias = ColumnElement[bool]


def _norm(kind: Type, real: bool, v: Value) -> Norm:
    if kind is Type.DATETIME:
        if isinstance(v, datetime):
            utc = v.astimezone(UTC) if v.tzinfo is not None else v.replace(tzinfo=UTC)
            return _POINT, utc, None
        if type(v) is not date:
            raise TypeError(f"{v!r} is not an operand of a datetime field")
        start, end = day_bounds(v)
        return _DAY, start, end
    if real and isinstance(v, Decimal) and not real_domain(v):
        lo, hi = real_neighbours(v)
        return _GAP, lo, hi
    return _POINT, v, None


def _split(
    kind: Type, real: bool, operands: tuple[Value, ...]
) -> tuple[list[Any], list[tuple[Any, Any]], bool]:
    points: list[Any] = []
    days: list[tuple[Any, Any]] = []
    null = False
    for v in operands:
        if v is None:
            null = True
            continue
        tag, a, b = _norm(kind, real, v)
        if tag == _POINT:
            points.append(a)
        elif tag == _DAY:
            days.append((a, b))
    return points, days, null


def _membership(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    points, days, null = _split(kind, real, operands)
    parts: list[Expr] = []
    if points:
        parts.append(col == points[0] if len(points) == 1 else col.in_(points))
    for start, end in days:
        parts.append(col >= start if end is None else sa.and_(col >= start, col < end))
    if null:
        parts.append(col.is_(None))
    if not parts:
        return sa.false()
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def _exclusion(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    points, days, null = _split(kind, real, operands)
    if not null and len(points) == 1 and not days:
        return col.is_distinct_from(points[0])
    negations: list[Expr] = []
    if points:
        negations.append(col != points[0] if len(points) == 1 else col.not_in(points))
    for start, end in days:
        negations.append(col < start if end is None else sa.or_(col < start, col >= end))
    if null:
        return sa.and_(*negations) if negations else col.is_not(None)
    if not negations:
        return sa.true()
    return sa.or_(col.is_(None), sa.and_(*negations))


def _lower(col: Column, kind: Type, real: bool, v: Value, strict: bool) -> Expr:
    tag, a, b = _norm(kind, real, v)
    expr: Expr
    if tag == _POINT:
        expr = col > a if strict else col >= a
    elif tag == _DAY and not strict:
        expr = col >= a  # v >= D0
    else:
        expr = sa.false() if b is None else col >= b  # gt day: v >= D1; a gap: v >= hi
    return expr


def _upper(col: Column, kind: Type, real: bool, v: Value, strict: bool) -> Expr:
    tag, a, b = _norm(kind, real, v)
    expr: Expr
    if tag == _POINT:
        expr = col < a if strict else col <= a
    elif tag == _DAY:
        # lt day: v < D0; lte day: v < D1 (every non-NULL value for the last day)
        expr = col < a if strict else (col.is_not(None) if b is None else col < b)
    else:
        expr = sa.false() if a is None else col <= a  # a gap: v <= lo
    return expr


def _gt(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    return _lower(col, kind, real, operands[0], True)


def _gte(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    return _lower(col, kind, real, operands[0], False)


def _lt(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    return _upper(col, kind, real, operands[0], True)


def _lte(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    return _upper(col, kind, real, operands[0], False)


def _bt(col: Column, kind: Type, real: bool, operands: tuple[Value, ...]) -> Expr:
    low = _lower(col, kind, real, operands[0], False)
    high = _upper(col, kind, real, operands[1], False)
    return sa.and_(low, high)


Compiler: TypeAlias = Callable[[Column, Type, bool, tuple[Value, ...]], Expr]

OPERATORS: Mapping[Op, Compiler] = MappingProxyType({
    Op.EQ: _membership,
    Op.IN: _membership,
    Op.NEQ: _exclusion,
    Op.NIN: _exclusion,
    Op.GT: _gt,
    Op.GTE: _gte,
    Op.LT: _lt,
    Op.LTE: _lte,
    Op.BT: _bt,
})
"""The one operator table: ``Op`` → ``(column, field type, RealDecimal column?, operands)
→ expression``."""


def to_sqlalchemy(query: Query, table: FromClause) -> ColumnElement[bool]:
    """The conditions of ``query`` (filters and ``deleted``; never ``limit``/``offset``) as
    one boolean expression over ``table``'s columns (``sqlalchemy.true()`` for none)."""
    clauses: list[Expr] = []
    columns = table.c
    for c in query.all_conditions():
        f = query.schema.field(c.field)
        try:
            col: Column = columns[f.column]
        except KeyError:
            raise KeyError(
                f"table {getattr(table, 'name', table)!r} has no column {f.column!r} "
                f"(for field {f.name!r})"
            ) from None
        real = isinstance(col.type, RealDecimal)
        clauses.append(OPERATORS[c.op](col, f.kind, real, c.operands))
    if not clauses:
        return sa.true()
    return clauses[0] if len(clauses) == 1 else sa.and_(*clauses)
