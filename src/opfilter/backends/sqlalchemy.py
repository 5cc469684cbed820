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

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias, assert_never

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from ..lowering import Interval, Meaning, Member, Never, NotMember, Within, lower
from ..schema import Filter, Type
from ..values import to_utc
from .sql import narrow_real, real_domain, sqlite_datetime

if TYPE_CHECKING:
    from sqlalchemy.sql.expression import FromClause

    from ..query import Query

__all__ = ["RealDecimal", "UTCDateTime", "column_type", "render", "to_sqlalchemy"]


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
        return to_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return to_utc(value)


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


# -- rendering one meaning (lowering.py) -------------------------------------------------

Column: TypeAlias = ColumnElement[Any]
Expr: TypeAlias = ColumnElement[bool]


def _interval(col: Column, i: Interval) -> Expr:
    parts: list[Expr] = [test(col, v) for test, v in i.comparisons()]
    if not parts:
        return col.is_not(None)
    return parts[0] if len(parts) == 1 else sa.and_(*parts)


def _outside(col: Column, i: Interval) -> Expr:
    parts: list[Expr] = [test(col, value) for test, value in i.outside()]
    if not parts:
        return sa.false()
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def render(meaning: Meaning, col: Column) -> Expr:
    """One lowered condition → a boolean expression over ``col``."""
    match meaning:
        case Member(points=points, intervals=intervals, null=null):
            parts: list[Expr] = []
            if points:
                parts.append(col == points[0] if len(points) == 1 else col.in_(points))
            parts += [_interval(col, i) for i in intervals]
            if null:
                parts.append(col.is_(None))
            if not parts:
                return sa.false()
            return parts[0] if len(parts) == 1 else sa.or_(*parts)
        case NotMember(points=points, intervals=intervals, null=null):
            if not null and len(points) == 1 and not intervals:
                return col.is_distinct_from(points[0])
            negations: list[Expr] = []
            if points:
                negations.append(col != points[0] if len(points) == 1 else col.not_in(points))
            negations += [_outside(col, i) for i in intervals]
            if null:
                return sa.and_(*negations) if negations else col.is_not(None)
            if not negations:
                return sa.true()
            return sa.or_(col.is_(None), sa.and_(*negations))
        case Within(interval=interval):
            return _interval(col, interval)
        case Never():
            return sa.false()
        case _:  # pragma: no cover
            assert_never(meaning)


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
        meaning = lower(f, c).meaning
        if isinstance(col.type, RealDecimal):
            meaning = narrow_real(meaning)  # the column only ever holds REAL-domain values
        clauses.append(render(meaning, col))
    if not clauses:
        return sa.true()
    return clauses[0] if len(clauses) == 1 else sa.and_(*clauses)
