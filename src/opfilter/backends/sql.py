"""Query → a parameterized SQL ``WHERE`` fragment for SQLite and PostgreSQL (SPEC §2, §7).

>>> from opfilter import parse_query
>>> from opfilter.streams import SCHEMA
>>> q = parse_query("project_id=in:3,1&updated_at=lt:2024-06-15", SCHEMA)
>>> where, params = to_sql(q, "sqlite")
>>> where
'"project_id" IN (?, ?) AND "updated_at" < ? AND "deleted_at" IS NULL'
>>> params
[3, 1, '2024-06-15 00:00:00.000000']
>>> to_sql(q, "postgresql", table="s")[0]
'"s"."project_id" IN (%s, %s) AND "s"."updated_at" < %s AND "s"."deleted_at" IS NULL'

What is compiled: the filter conditions **and** the conditions plain parameters imply
(``deleted=exclude`` → ``deleted_at IS NULL``), never ``limit``/``offset``.  Identifiers
are double-quoted (a ``"`` inside is doubled; for PostgreSQL a ``%`` is written ``%%``, as
psycopg's ``execute(sql, params)`` expects) and come only from the schema's
field → column mapping; values are always bound parameters, never SQL text.  No condition
at all compiles to ``1 = 1``.

NULL rules (SPEC §2): ``neq``/``nin`` are true on a NULL row unless ``null`` is listed;
``eq``/``in`` are true on it only when it is; ordered operators and ``bt`` are false on it.
The fragment is meant for a ``WHERE`` clause: a comparison with a NULL row may be SQL
``UNKNOWN`` rather than ``FALSE``, which ``WHERE`` treats alike — do not wrap the fragment
in ``NOT (...)`` to get the complement.

Storage each dialect expects (the column types a store declares; see :data:`SQLITE_TYPES`,
:data:`POSTGRESQL_TYPES`, and :func:`sqlite_value` to write rows):

==========  ==============================================  =========================
field type  SQLite                                          PostgreSQL
==========  ==============================================  =========================
int         ``INTEGER``                                     ``bigint``
decimal     ``REAL`` (see below)                            ``numeric``
date        ``TEXT`` ``YYYY-MM-DD``                         ``date``
datetime    ``TEXT`` ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC  ``timestamptz``
string      ``TEXT``                                        ``text``
enum        ``TEXT``                                        ``text`` (or an enum type)
bool        ``INTEGER`` 0/1                                 ``boolean``
==========  ==============================================  =========================

SQLite datetimes are fixed-width UTC text (SPEC §7): text order is time order and SQLite's
date functions read it; operands are bound in that same form, converted to UTC.  A date
operand on a datetime field is the whole UTC day ``[D0, D1)`` and compiles to comparisons
with ``D0``/``D1`` (``gt:D`` → ``c >= D1``, ``lte:D`` → ``c < D1``, ``eq:D`` →
``c >= D0 AND c < D1``); for ``9999-12-31`` the day has no end, so ``D1`` comparisons
become "always" / "never" as SPEC §2 says.  PostgreSQL binds aware datetimes and dates.

**Decimals on SQLite.**  SQLite has no exact decimal type: ``NUMERIC`` affinity silently
turns values into 8-byte floats, and text would compare as text.  We store decimals as
``REAL`` and make comparisons *exact* for every row value with **at most 15 significant
digits** and a magnitude of 0 or between ``1e-307`` and ``1e308`` (the "REAL domain"): on
that domain the correctly rounded conversion to a double is strictly increasing (15 digits
survive a round trip through a double — DBL_DIG), so comparing the doubles gives the
decimal answer.  Operands are not limited that way (``Filter.max_digits`` may be ``None``):
an operand ``x`` outside the domain lies strictly between two neighbouring domain values
``lo < x < hi``, and the condition is rewritten on them — ``eq:x`` matches no row,
``gt:x``/``gte:x`` become ``c >= hi``, ``lt:x``/``lte:x`` become ``c <= lo`` (or "never"
when there is no such neighbour).  So the SQL result equals the exact decimal answer for
any operand, provided the stored rows are in the domain; :func:`sqlite_value` refuses rows
that are not.  (An alternative, scaled integers, would need a per-field scale the schema does
not declare; an order-preserving text encoding would be unreadable to SQL and to people.)
PostgreSQL's ``numeric`` is exact and needs none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeAlias

from ..nodes import Op, Value
from ..schema import Filter, Type
from ..values import day_bounds

if TYPE_CHECKING:
    from ..query import Query

__all__ = [
    "OPERATORS",
    "POSTGRESQL_TYPES",
    "SQLITE_TYPES",
    "Dialect",
    "SqlParam",
    "quote_identifier",
    "real_domain",
    "sqlite_datetime",
    "sqlite_value",
    "to_sql",
]

Dialect: TypeAlias = Literal["sqlite", "postgresql"]
SqlParam: TypeAlias = int | float | str | Decimal | date | datetime | bool
"""What ends up in ``params``: SQLite gets int, float, str; PostgreSQL int, Decimal, date,
aware datetime, str, bool."""

SQLITE_TYPES: Mapping[Type, str] = MappingProxyType({
    Type.INT: "INTEGER",
    Type.DECIMAL: "REAL",
    Type.DATE: "TEXT",
    Type.DATETIME: "TEXT",
    Type.STRING: "TEXT",
    Type.ENUM: "TEXT",
    Type.BOOL: "INTEGER",
})
"""The SQLite column type each field type is compiled for."""

POSTGRESQL_TYPES: Mapping[Type, str] = MappingProxyType({
    Type.INT: "bigint",
    Type.DECIMAL: "numeric",
    Type.DATE: "date",
    Type.DATETIME: "timestamptz",
    Type.STRING: "text",
    Type.ENUM: "text",
    Type.BOOL: "boolean",
})
"""The PostgreSQL column type each field type is compiled for."""


# -- values ------------------------------------------------------------------------------


def sqlite_datetime(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (a naive datetime is taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


_FLOOR15 = Context(prec=15, rounding=ROUND_FLOOR)
_CEIL15 = Context(prec=15, rounding=ROUND_CEILING)
_REAL_MIN = Decimal("1e-307")
_REAL_MAX = Decimal("1e308")  # exclusive
_REAL_TOP = Decimal("9.99999999999999e307")


def real_domain(value: Decimal) -> bool:
    """Whether SQLite's ``REAL`` holds ``value`` exactly enough to compare it exactly: at
    most 15 significant digits, and 0 or a magnitude in ``[1e-307, 1e308)``."""
    if not value:
        return True
    size = abs(value)
    return _REAL_MIN <= size < _REAL_MAX and _FLOOR15.plus(value) == value


def real_neighbours(value: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """For ``value`` outside the REAL domain: the greatest domain value below it and the
    least above it (``None`` where there is none)."""
    size = abs(value)
    if size >= _REAL_MAX:
        return (_REAL_TOP, None) if value > 0 else (None, -_REAL_TOP)
    if size < _REAL_MIN:
        return (Decimal(0), _REAL_MIN) if value > 0 else (-_REAL_MIN, Decimal(0))
    lo, hi = _FLOOR15.plus(value), _CEIL15.plus(value)
    return (lo if lo > -_REAL_MAX else None), (hi if hi < _REAL_MAX else None)


def sqlite_value(kind: Type | Filter, value: Value) -> int | float | str | None:
    """A row value as SQLite stores it for :func:`to_sql` (``None`` stays NULL).

    Raises :class:`ValueError` for a decimal outside the REAL domain (see the module
    docstring) and :class:`TypeError` for a value of the wrong type."""
    if isinstance(kind, Filter):
        kind = kind.kind
    if value is None:
        return None
    match kind:
        case Type.INT if type(value) is int:
            return value
        case Type.DECIMAL if isinstance(value, Decimal | int) and not isinstance(value, bool):
            d = Decimal(value)
            if not real_domain(d):
                raise ValueError(
                    f"decimal {value} cannot be stored exactly in SQLite REAL: at most 15 "
                    "significant digits and a magnitude from 1e-307 to below 1e308"
                )
            return float(d)
        case Type.DATE if type(value) is date:
            return value.isoformat()
        case Type.DATETIME if isinstance(value, datetime):
            return sqlite_datetime(value)
        case Type.STRING | Type.ENUM if isinstance(value, str):
            return value
        case Type.BOOL if isinstance(value, bool):
            return int(value)
    raise TypeError(f"{value!r} is not a value of a {kind.value} field")


# Normalized operands.  An operand denotes a set of column values:
#   (_POINT, p)        exactly the value bound as p
#   (_DAY, p0, p1)     [p0, p1), p1 None when unbounded (the last day)
#   (_GAP, lo, hi)     no stored value, strictly between the bound values lo and hi
#                      (None: no such neighbour) — decimals outside SQLite's REAL domain
_POINT, _DAY, _GAP = 0, 1, 2


def _bad(kind: Type, value: Value) -> TypeError:
    return TypeError(f"{value!r} is not an operand of a {kind.value} field")


def _norm_sqlite(kind: Type, v: Value) -> tuple[int, SqlParam | None, SqlParam | None]:
    if kind is Type.INT:
        if type(v) is not int:
            raise _bad(kind, v)
        return _POINT, v, None
    if kind is Type.DATETIME:
        if isinstance(v, datetime):
            return _POINT, sqlite_datetime(v), None
        if type(v) is not date:
            raise _bad(kind, v)
        start, end = day_bounds(v)
        return _DAY, sqlite_datetime(start), None if end is None else sqlite_datetime(end)
    if kind is Type.DECIMAL:
        if not isinstance(v, Decimal):
            raise _bad(kind, v)
        if real_domain(v):
            return _POINT, float(v), None
        lo, hi = real_neighbours(v)
        return _GAP, None if lo is None else float(lo), None if hi is None else float(hi)
    if kind is Type.DATE:
        if type(v) is not date:
            raise _bad(kind, v)
        return _POINT, v.isoformat(), None
    if kind is Type.BOOL:
        if not isinstance(v, bool):
            raise _bad(kind, v)
        return _POINT, int(v), None
    if not isinstance(v, str):
        raise _bad(kind, v)
    return _POINT, v, None


def _norm_postgresql(kind: Type, v: Value) -> tuple[int, SqlParam | None, SqlParam | None]:
    if kind is Type.DATETIME:
        if isinstance(v, datetime):
            return _POINT, v if v.tzinfo is not None else v.replace(tzinfo=UTC), None
        if type(v) is not date:
            raise _bad(kind, v)
        start, end = day_bounds(v)
        return _DAY, start, end
    if kind is Type.INT:
        ok = type(v) is int
    elif kind is Type.DECIMAL:
        ok = isinstance(v, Decimal)
    elif kind is Type.DATE:
        ok = type(v) is date
    elif kind is Type.BOOL:
        ok = isinstance(v, bool)
    else:
        ok = isinstance(v, str)
    if not ok or v is None:
        raise _bad(kind, v)
    return _POINT, v, None


# -- dialects ----------------------------------------------------------------------------


class _Dialect:
    __slots__ = ("distinct", "mark", "name", "norm", "percent")

    def __init__(
        self,
        name: str,
        mark: str,
        distinct: str,
        percent: bool,
        norm: Callable[[Type, Value], tuple[int, SqlParam | None, SqlParam | None]],
    ) -> None:
        self.name = name
        self.mark = mark
        self.distinct = distinct  # NULL-safe "<>": true when the column is NULL
        self.percent = percent  # whether a literal % must be written %%
        self.norm = norm


_DIALECTS: dict[str, _Dialect] = {
    "sqlite": _Dialect("sqlite", "?", "IS NOT", False, _norm_sqlite),
    "postgresql": _Dialect("postgresql", "%s", "IS DISTINCT FROM", True, _norm_postgresql),
}


def quote_identifier(name: str, dialect: Dialect = "sqlite") -> str:
    """``name`` as a double-quoted SQL identifier (``"`` doubled; ``%`` doubled for
    psycopg).  A NUL character cannot be quoted and raises :class:`ValueError`."""
    if "\x00" in name or not name:
        raise ValueError(f"not a usable SQL identifier: {name!r}")
    quoted = '"' + name.replace('"', '""') + '"'
    if _DIALECTS[dialect].percent:
        quoted = quoted.replace("%", "%%")
    return quoted


# -- one condition -----------------------------------------------------------------------

Fragment: TypeAlias = tuple[str, tuple[SqlParam, ...]]
_TRUE: Fragment = ("1 = 1", ())
_FALSE: Fragment = ("1 = 0", ())


@lru_cache(maxsize=256)
def _marks(mark: str, n: int) -> str:
    return ", ".join([mark] * n)


def _split(
    d: _Dialect, kind: Type, operands: tuple[Value, ...]
) -> tuple[list[SqlParam], list[tuple[SqlParam, SqlParam | None]], bool]:
    """eq/in items → (exact points, day ranges, whether null is listed); gaps match nothing."""
    points: list[SqlParam] = []
    days: list[tuple[SqlParam, SqlParam | None]] = []
    null = False
    for v in operands:
        if v is None:
            null = True
            continue
        tag, a, b = d.norm(kind, v)
        if tag == _POINT:
            assert a is not None
            points.append(a)
        elif tag == _DAY:
            assert a is not None
            days.append((a, b))
    return points, days, null


def _membership(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    """``eq`` and ``in``: some item equals the value (a day: contains it; null: NULL)."""
    if len(operands) == 1 and operands[0] is not None:  # the common case, fast
        tag, a, _ = d.norm(kind, operands[0])
        if tag == _POINT:
            assert a is not None
            return f"{c} = {d.mark}", (a,)
    elif len(operands) > 1 and None not in operands:  # an ``in`` list of points, fast
        norm = d.norm
        found: list[SqlParam] = []
        for v in operands:
            tag, a, _ = norm(kind, v)
            if tag != _POINT:
                break
            assert a is not None
            found.append(a)
        else:  # what the general path below builds for points only
            return f"{c} IN ({_marks(d.mark, len(found))})", tuple(found)
    points, days, null = _split(d, kind, operands)
    m = d.mark
    parts: list[str] = []
    params: list[SqlParam] = []
    if points:
        parts.append(f"{c} = {m}" if len(points) == 1 else f"{c} IN ({_marks(m, len(points))})")
        params += points
    for start, end in days:
        if end is None:
            parts.append(f"{c} >= {m}")
            params.append(start)
        else:
            parts.append(f"{c} >= {m} AND {c} < {m}")
            params += (start, end)
    if null:
        parts.append(f"{c} IS NULL")
    if not parts:
        return _FALSE
    if len(parts) == 1:
        return parts[0], tuple(params)
    return "(" + " OR ".join(f"({p})" if " AND " in p else p for p in parts) + ")", tuple(params)


def _exclusion(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    """``neq`` and ``nin``: the exact negation of ``eq``/``in`` — so true on a NULL row
    unless ``null`` is listed."""
    points, days, null = _split(d, kind, operands)
    m = d.mark
    if not null and len(points) == 1 and not days:
        return f"{c} {d.distinct} {m}", (points[0],)
    negations: list[str] = []  # each: for a non-NULL value, the item does not match it
    params: list[SqlParam] = []
    if points:
        negations.append(
            f"{c} <> {m}" if len(points) == 1 else f"{c} NOT IN ({_marks(m, len(points))})"
        )
        params += points
    for start, end in days:
        if end is None:
            negations.append(f"{c} < {m}")
            params.append(start)
        else:
            negations.append(f"{c} < {m} OR {c} >= {m}")
            params += (start, end)
    if not negations:
        return (f"{c} IS NOT NULL", ()) if null else _TRUE
    if len(negations) == 1:
        joined = negations[0]
    else:
        joined = " AND ".join(f"({n})" if " OR " in n else n for n in negations)
    if null:
        # on a NULL row every negation is UNKNOWN, so the row is not selected
        if len(negations) == 1 and " OR " in joined:
            joined = f"({joined})"
        return joined, tuple(params)
    return f"({c} IS NULL OR {joined})", tuple(params)


# Bounds: (sql operator, param), or _NEVER (no value), or _ALWAYS (every non-NULL value).
_NEVER = ("never", None)
_ALWAYS = ("always", None)
Bound: TypeAlias = tuple[str, SqlParam | None]


def _lower(d: _Dialect, kind: Type, v: Value, strict: bool) -> Bound:
    """``v > x`` (strict) or ``v >= x`` as one comparison."""
    tag, a, b = d.norm(kind, v)
    if tag == _POINT:
        return (">" if strict else ">="), a
    if tag == _DAY:
        if not strict:
            return ">=", a  # v >= D0
        return _NEVER if b is None else (">=", b)  # v >= D1
    return _NEVER if b is None else (">=", b)  # a gap: v >= hi


def _upper(d: _Dialect, kind: Type, v: Value, strict: bool) -> Bound:
    """``v < x`` (strict) or ``v <= x`` as one comparison."""
    tag, a, b = d.norm(kind, v)
    if tag == _POINT:
        return ("<" if strict else "<="), a
    if tag == _DAY:
        if strict:
            return "<", a  # v < D0
        return _ALWAYS if b is None else ("<", b)  # v < D1
    return _NEVER if a is None else ("<=", a)  # a gap: v <= lo


def _compare(c: str, mark: str, bound: Bound) -> Fragment:
    op, p = bound
    if bound is _NEVER:
        return _FALSE
    if bound is _ALWAYS:
        return f"{c} IS NOT NULL", ()
    assert p is not None
    return f"{c} {op} {mark}", (p,)


def _gt(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    return _compare(c, d.mark, _lower(d, kind, operands[0], True))


def _gte(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    return _compare(c, d.mark, _lower(d, kind, operands[0], False))


def _lt(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    return _compare(c, d.mark, _upper(d, kind, operands[0], True))


def _lte(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    return _compare(c, d.mark, _upper(d, kind, operands[0], False))


def _bt(d: _Dialect, c: str, kind: Type, operands: tuple[Value, ...]) -> Fragment:
    """Inclusive on both ends: ``gte`` the lower bound and ``lte`` the upper one."""
    low = _lower(d, kind, operands[0], False)
    high = _upper(d, kind, operands[1], False)
    if low is _NEVER or high is _NEVER:
        return _FALSE
    if high is _ALWAYS:
        return _compare(c, d.mark, low)
    m = d.mark
    assert low[1] is not None
    assert high[1] is not None
    if low[0] == ">=" and high[0] == "<=":
        return f"{c} BETWEEN {m} AND {m}", (low[1], high[1])
    return f"{c} {low[0]} {m} AND {c} {high[0]} {m}", (low[1], high[1])


Compiler: TypeAlias = Callable[[_Dialect, str, Type, tuple[Value, ...]], Fragment]

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
"""The one operator table: ``Op`` → ``(dialect, quoted column, field type, operands) →
(sql, params)``."""


@lru_cache(maxsize=1024)
def _column(d: _Dialect, f: Filter, table: str | None) -> str:
    name = quote_identifier(f.column, d.name)  # type: ignore[arg-type]
    return name if table is None else f"{quote_identifier(table, d.name)}.{name}"  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def _condition(
    d: _Dialect, f: Filter, op: Op, operands: tuple[Value, ...], table: str | None
) -> Fragment:
    """One condition, memoized: polling clients repeat the same filters, and the
    condition's operator and operands with its :class:`Filter` (hashed by identity)
    determine the fragment.  (The key holds those rather than the ``Condition`` itself,
    which compares equal on the same fields, because its dataclass ``__hash__`` runs in
    Python on every look-up.)"""
    return OPERATORS[op](d, _column(d, f, table), f.kind, operands)


def to_sql(
    query: Query, dialect: Dialect, *, table: str | None = None
) -> tuple[str, list[SqlParam]]:
    """``(where_sql, params)`` for ``dialect`` (``"sqlite"``: ``?`` placeholders;
    ``"postgresql"``: psycopg 3's ``%s``).  ``table`` qualifies every column with that
    (quoted) table name or alias.  See the module docstring for the storage each dialect
    expects and the NULL rules."""
    d = _DIALECTS.get(dialect)
    if d is None:
        raise ValueError(f"unknown SQL dialect {dialect!r}: expected 'sqlite' or 'postgresql'")
    conditions = query.all_conditions()
    if not conditions:
        return "1 = 1", []
    field = query.schema.filter_by_name.__getitem__
    if len(conditions) == 1:
        c = conditions[0]
        sql, ps = _condition(d, field(c.field), c.op, c.operands, table)
        return sql, list(ps)
    parts: list[str] = []
    params: list[SqlParam] = []
    for c in conditions:
        sql, ps = _condition(d, field(c.field), c.op, c.operands, table)
        parts.append(sql)
        params += ps
    return " AND ".join(parts), params
