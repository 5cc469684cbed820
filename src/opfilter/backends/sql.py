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

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, assert_never

from ..lowering import (
    LOWERINGS,
    Bound,
    Interval,
    Meaning,
    Member,
    Never,
    NotMember,
    Scalar,
    Within,
)
from ..nodes import Op, Value
from ..schema import Filter, Type
from ..values import day_bounds, to_utc

if TYPE_CHECKING:
    from ..query import Query

__all__ = [
    "POSTGRESQL_TYPES",
    "SQLITE_TYPES",
    "DatetimeText",
    "Dialect",
    "Paramstyle",
    "SqlParam",
    "narrow_real",
    "quote_identifier",
    "real_domain",
    "real_neighbours",
    "render",
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


def sqlite_datetime(value: datetime, style: DatetimeText = "fixed") -> str:
    """The UTC text SQLite stores (a naive datetime is taken as UTC): ``"fixed"`` is
    ``YYYY-MM-DD HH:MM:SS.ffffff``; ``"isoformat"`` omits the fraction when it is zero, as
    Django and ``sqlite3``'s default adapter write naive datetimes.  Each style is in text
    order = time order, as long as one column holds one style only."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if style == "fixed":
        return value.isoformat(" ", "microseconds")
    return value.isoformat(" ")


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


def sqlite_value(
    kind: Type | Filter, value: Value, datetimes: DatetimeText = "fixed"
) -> int | float | str | None:
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
            return sqlite_datetime(value, datetimes)
        case Type.STRING | Type.ENUM if isinstance(value, str):
            return value
        case Type.BOOL if isinstance(value, bool):
            return int(value)
    raise TypeError(f"{value!r} is not a value of a {kind.value} field")


# -- dialects ----------------------------------------------------------------------------

Paramstyle: TypeAlias = Literal["qmark", "format"]
DatetimeText: TypeAlias = Literal["fixed", "isoformat"]


Bind: TypeAlias = Callable[[Scalar], SqlParam]
"""A normalised value (lowering.py) → the parameter a driver binds."""


def _same(v: Scalar) -> SqlParam:
    return v  # PostgreSQL: aware datetimes (in UTC), dates, Decimals, ints, str, bool


def _sqlite_decimal(v: Scalar) -> SqlParam:
    assert isinstance(v, Decimal)
    return float(v)  # in the REAL domain (see narrow_real)


def _sqlite_date(v: Scalar) -> SqlParam:
    assert isinstance(v, date)
    return v.isoformat()


def _sqlite_bool(v: Scalar) -> SqlParam:
    return int(v)  # type: ignore[arg-type]


def _sqlite_fixed(v: Scalar) -> SqlParam:
    assert isinstance(v, datetime)
    return sqlite_datetime(v)


def _sqlite_isoformat(v: Scalar) -> SqlParam:
    assert isinstance(v, datetime)
    return sqlite_datetime(v, "isoformat")


def _binds(datetime_bind: Bind, **others: Bind) -> Mapping[Type, Bind]:
    table: dict[Type, Bind] = dict.fromkeys(Type, _same)
    table[Type.DATETIME] = datetime_bind
    table.update({Type(k.lower()): b for k, b in others.items()})
    return MappingProxyType(table)


_SQLITE = {"DECIMAL": _sqlite_decimal, "DATE": _sqlite_date, "BOOL": _sqlite_bool}
_BINDS: dict[tuple[str, str], Mapping[Type, Bind]] = {
    ("sqlite", "fixed"): _binds(_sqlite_fixed, **_SQLITE),
    ("sqlite", "isoformat"): _binds(_sqlite_isoformat, **_SQLITE),
    ("postgresql", "fixed"): _binds(_same),
}
"""Per dialect and datetime storage: each field type's binder."""


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a cache key per call
class _Dialect:
    name: str
    mark: str  # the placeholder
    distinct: str  # NULL-safe "<>": true when the column is NULL
    percent: bool  # whether a literal % must be written %% (the "format" paramstyle)
    binds: Mapping[Type, Bind]
    real: bool  # decimals are stored as REAL: operands are narrowed to its domain


_DISTINCT = {"sqlite": "IS NOT", "postgresql": "IS DISTINCT FROM"}
_MARKS = {"qmark": "?", "format": "%s"}
_DEFAULT_PARAMSTYLE: dict[str, Paramstyle] = {"sqlite": "qmark", "postgresql": "format"}


@lru_cache(maxsize=16)
def _dialect(name: str, paramstyle: str | None, datetimes: str) -> _Dialect:
    """The rendering settings, checked: no combination of options gives wrong SQL."""
    if name not in _DISTINCT:
        raise ValueError(f"unknown SQL dialect {name!r}: expected 'sqlite' or 'postgresql'")
    style = paramstyle or _DEFAULT_PARAMSTYLE[name]
    if style not in _MARKS or (name == "postgresql" and style != "format"):
        allowed = "'qmark' or 'format'" if name == "sqlite" else "'format' (psycopg's %s)"
        raise ValueError(f"unknown paramstyle {paramstyle!r} for {name}: expected {allowed}")
    binds = _BINDS.get((name, datetimes))
    if binds is None:
        raise ValueError(
            f"unknown datetime storage {datetimes!r} for {name}: expected 'fixed'"
            + (" or 'isoformat'" if name == "sqlite" else " (PostgreSQL binds timestamptz)")
        )
    return _Dialect(name, _MARKS[style], _DISTINCT[name], style == "format", binds,
                    real=name == "sqlite")


_DEFAULTS = {name: _dialect(name, None, "fixed") for name in _DISTINCT}
"""Each dialect with its default settings (the common call, without the checks)."""


def quote_identifier(name: str, dialect: Dialect = "sqlite", *,
                     paramstyle: Paramstyle | None = None) -> str:
    """``name`` as a double-quoted SQL identifier (``"`` doubled; ``%`` doubled for the
    "format" paramstyle, as psycopg and Django expect).  An empty name or one holding a
    NUL character cannot be quoted and raises :class:`ValueError`."""
    return _quote(name, _dialect(dialect, paramstyle, "fixed").percent)


def _quote(name: str, percent: bool) -> str:
    if "\x00" in name or not name:
        raise ValueError(f"not a usable SQL identifier: {name!r}")
    quoted = '"' + name.replace('"', '""') + '"'
    return quoted.replace("%", "%%") if percent else quoted


# -- rendering one meaning (lowering.py) ---------------------------------------------------
# A fragment is ``(sql, params, precedence)``, so parentheses come from structure: an OR
# inside an AND is wrapped (needed), an AND inside an OR too (for the reader); equal
# precedences flatten.

_ATOM, _AND, _OR = 0, 1, 2
_DATETIME, _DECIMAL = Type.DATETIME, Type.DECIMAL  # (an enum attribute look-up costs)
_Sql: TypeAlias = tuple[str, tuple[SqlParam, ...], int]
_TRUE: _Sql = ("1 = 1", (), _ATOM)
_FALSE: _Sql = ("1 = 0", (), _ATOM)


def _join(parts: list[_Sql], prec: int) -> _Sql:
    if len(parts) == 1:
        return parts[0]
    word = " AND " if prec == _AND else " OR "
    text = word.join(t if p in (_ATOM, prec) else f"({t})" for t, _, p in parts)
    return text, tuple(x for _, ps, _ in parts for x in ps), prec


@lru_cache(maxsize=256)
def _marks(mark: str, n: int) -> str:
    return ", ".join([mark] * n)


def narrow_real(meaning: Meaning) -> Meaning:
    """SQLite REAL holds decimals of at most 15 significant digits (see the module
    docstring): a point outside that domain equals no stored value, and a bound outside it
    moves to its nearest domain neighbour, so the comparison stays exact."""

    def inside(points: tuple[Scalar, ...]) -> tuple[Scalar, ...]:
        return tuple(p for p in points if real_domain(p))  # type: ignore[arg-type]

    def low(b: Bound | None) -> Bound | Never | None:
        if b is None or real_domain(b.value):
            return b
        hi = real_neighbours(b.value)[1]
        return Never() if hi is None else Bound(hi, True)

    def high(b: Bound | None) -> Bound | Never | None:
        if b is None or real_domain(b.value):
            return b
        lo = real_neighbours(b.value)[0]
        return Never() if lo is None else Bound(lo, True)

    match meaning:
        case Member(points=points, null=null):
            return Member(inside(points), (), null)
        case NotMember(points=points, null=null):
            return NotMember(inside(points), (), null)
        case Within(interval=Interval(lower=lo, upper=hi)):
            a, b = low(lo), high(hi)
            if isinstance(a, Never) or isinstance(b, Never):
                return Never()
            return Within(Interval(a, b))
        case Never():
            return meaning
        case _:  # pragma: no cover
            assert_never(meaning)


def _points(d: _Dialect, c: str, bind: Bind, points: tuple[Scalar, ...], negated: bool
            ) -> _Sql:
    if len(points) == 1:
        return f"{c} {'<>' if negated else '='} {d.mark}", (bind(points[0]),), _ATOM
    params = tuple(map(bind, points))
    return f"{c} {'NOT IN' if negated else 'IN'} ({_marks(d.mark, len(points))})", params, _ATOM


def _interval(d: _Dialect, c: str, bind: Bind, i: Interval) -> _Sql:
    """A non-NULL value inside ``i``."""
    m = d.mark
    tests = i.comparisons()
    if not tests:
        return f"{c} IS NOT NULL", (), _ATOM
    params = tuple(bind(value) for _, value in tests)
    if len(tests) == 1:
        return f"{c} {_SYMBOLS[tests[0][0]]} {m}", params, _ATOM
    (low, _), (high, _) = tests
    if low is operator.ge and high is operator.le:
        return f"{c} BETWEEN {m} AND {m}", params, _ATOM
    return f"{c} {_SYMBOLS[low]} {m} AND {c} {_SYMBOLS[high]} {m}", params, _AND


def _outside(d: _Dialect, c: str, bind: Bind, i: Interval) -> _Sql:
    """A non-NULL value outside ``i`` (a NULL one makes it UNKNOWN)."""
    parts: list[_Sql] = [(f"{c} {_SYMBOLS[test]} {d.mark}", (bind(value),), _ATOM)
                         for test, value in i.outside()]
    return _join(parts, _OR) if parts else _FALSE


_SYMBOLS = {operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">="}
"""SQL's operator for each comparison the lowering's intervals test with."""


def _meaning(d: _Dialect, c: str, bind: Bind, meaning: Meaning) -> _Sql:
    """One lowered condition on the quoted column ``c``."""
    match meaning:
        case Member():
            points, intervals, null = meaning.points, meaning.intervals, meaning.null
            if not intervals and not null:
                return _points(d, c, bind, points, False) if points else _FALSE
            parts = [_points(d, c, bind, points, False)] if points else []
            parts += [_interval(d, c, bind, i) for i in intervals]
            if null:
                parts.append((f"{c} IS NULL", (), _ATOM))
            return _join(parts, _OR) if parts else _FALSE
        case NotMember():
            points, intervals, null = meaning.points, meaning.intervals, meaning.null
            if not null and len(points) == 1 and not intervals:
                return f"{c} {d.distinct} {d.mark}", (bind(points[0]),), _ATOM
            # each negation: for a non-NULL value, that item does not match it
            negations = [_points(d, c, bind, points, True)] if points else []
            negations += [_outside(d, c, bind, i) for i in intervals]
            if null:  # a NULL row makes every negation UNKNOWN: not selected
                return _join(negations, _AND) if negations else (f"{c} IS NOT NULL", (), _ATOM)
            if not negations:
                return _TRUE
            return _join([(f"{c} IS NULL", (), _ATOM), _join(negations, _AND)], _OR)
        case Within():
            return _interval(d, c, bind, meaning.interval)
        case Never():
            return _FALSE
        case _:  # pragma: no cover
            assert_never(meaning)


def render(meaning: Meaning, kind: Type, column: str, dialect: Dialect = "sqlite", *,
           paramstyle: Paramstyle | None = None,
           datetimes: DatetimeText = "fixed") -> tuple[str, list[SqlParam]]:
    """One lowered condition on an already quoted ``column`` → ``(sql, params)``."""
    text, params, _ = _render(_dialect(dialect, paramstyle, datetimes), kind, column, meaning)
    return text, list(params)


def _render(d: _Dialect, kind: Type, column: str, meaning: Meaning,
            seen: list[Scalar] | None = None) -> _Sql:
    """``seen``: when given, receives every value bound, in parameter order."""
    if kind is _DECIMAL and d.real:
        meaning = narrow_real(meaning)
    bind = d.binds[kind]
    if seen is not None:
        plain = bind

        def bind(v: Scalar) -> SqlParam:
            seen.append(v)
            return plain(v)

    text, params, prec = _meaning(d, column, bind, meaning)
    # an OR in parentheses, so that it can be joined with AND as it is
    return (f"({text})", params, _ATOM) if prec == _OR else (text, params, prec)


# -- a whole query -------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _column(d: _Dialect, f: Filter, table: str | None) -> str:
    column = _quote(f.column, d.percent)
    return column if table is None else f"{_quote(table, d.percent)}.{column}"


@lru_cache(maxsize=4096)
def _condition(
    d: _Dialect, f: Filter, op: Op, operands: tuple[Value, ...], table: str | None
) -> _Sql:
    """One condition, memoized: polling clients repeat the same filters.  The key holds
    the :class:`Filter` (hashed by identity), the operator and the operands; the operands
    of a :class:`~opfilter.query.Query` were validated for the field when it was built,
    so equal keys always hold values of the field's own type.  A condition not seen
    before is rendered through its shape's plan (below) when there is one."""
    kind = f.kind
    datetimes = kind is _DATETIME
    if kind is _DECIMAL and d.real:  # narrowing to REAL depends on the values: no plans
        return _render(d, kind, _column(d, f, table), LOWERINGS[op](operands, False))
    shape = (d, f, op, table, _shape(operands, datetimes))
    plan = _PLANS.get(shape)
    if plan is not None:
        text, slots, prec = plan
        bind = d.binds[kind]
        return text, tuple([bind(derive(operands[i])) for i, derive in slots]), prec
    meaning = LOWERINGS[op](operands, datetimes)  # lower_condition, inlined
    seen: list[Scalar] = []
    frag = _render(d, kind, _column(d, f, table), meaning, seen)
    traced = _provenance(seen, operands, datetimes)
    if traced is not None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[shape] = (frag[0], traced, frag[2])
    return frag


# -- render plans ----------------------------------------------------------------------------
# A condition's SQL text depends only on its *shape* — the operator and, per operand,
# whether it is null, an instant, a whole day, the last day, or another value — while its
# parameters come from the operand values.  So the first condition of a shape is lowered
# and rendered as usual, recording the values the renderer binds; each is traced back to
# the one operand (and derivation) it comes from, and the text with that list of slots is
# kept as the shape's plan.  A value that could come from two places (equal operands,
# adjacent days) makes no plan: the next condition of that shape tries again.  The plan is
# a cache of what the lowering and the renderer did, checked against their output; the
# semantics stay in lowering.py.

_MAX_PLANS = 1024
_Derive: TypeAlias = Callable[[Any], Any]
_PLANS: dict[tuple[Any, ...], tuple[str, tuple[tuple[int, _Derive], ...], int]] = {}


def _same_value(v: Any) -> Any:
    return v


def _day_start(v: Any) -> Any:
    return day_bounds(v)[0]


def _day_end(v: Any) -> Any:
    return day_bounds(v)[1]


_NULL, _PLAIN, _INSTANT, _DAY, _LAST_DAY = range(5)
_DERIVATIONS: dict[int, tuple[_Derive, ...]] = {
    _PLAIN: (_same_value,), _INSTANT: (to_utc,), _DAY: (_day_start, _day_end),
    _LAST_DAY: (_day_start,),
}


def _category(v: Value, datetimes: bool) -> int:
    if v is None:
        return _NULL
    if not datetimes:
        return _PLAIN
    if isinstance(v, datetime):
        return _INSTANT
    return _LAST_DAY if v == date.max else _DAY


def _shape(operands: tuple[Value, ...], datetimes: bool) -> tuple[int, ...]:
    if not datetimes:
        return tuple([_NULL if v is None else _PLAIN for v in operands])
    return tuple([_category(v, True) for v in operands])


def _provenance(
    seen: list[Scalar], operands: tuple[Value, ...], datetimes: bool
) -> tuple[tuple[int, _Derive], ...] | None:
    """For each bound value, the one (operand index, derivation) it is; ``None`` when a
    value has no such source or more than one."""
    slots = []
    for value in seen:
        found = [
            (i, derive)
            for i, v in enumerate(operands)
            for derive in _DERIVATIONS.get(_category(v, datetimes), ())
            if type(derive(v)) is type(value) and derive(v) == value
        ]
        if len(found) != 1:
            return None
        slots.append(found[0])
    return tuple(slots)


def to_sql(
    query: Query,
    dialect: Dialect,
    *,
    table: str | None = None,
    paramstyle: Paramstyle | None = None,
    datetimes: DatetimeText = "fixed",
) -> tuple[str, list[SqlParam]]:
    """``(where_sql, params)`` for ``dialect``.

    ``paramstyle``: ``"qmark"`` (``?``, SQLite's default) or ``"format"`` (``%s``:
    PostgreSQL's psycopg 3, and what Django's cursors take on every database).  ``table``
    qualifies every column with that (quoted) table name or alias.  ``datetimes`` (SQLite
    only) says how the database stores datetimes: ``"fixed"`` (opfilter's fixed-width
    ``YYYY-MM-DD HH:MM:SS.ffffff``) or ``"isoformat"`` (``YYYY-MM-DD HH:MM:SS[.ffffff]``,
    the fraction omitted when zero: what Django and ``sqlite3``'s default adapter write for
    naive UTC datetimes).  See the module docstring for the storage each dialect expects
    and the NULL rules."""
    d = _DEFAULTS.get(dialect) if paramstyle is None and datetimes == "fixed" else None
    if d is None:
        d = _dialect(dialect, paramstyle, datetimes)
    conditions = query.all_conditions()
    if not conditions:
        return "1 = 1", []
    field = query.schema.filter_by_name.__getitem__
    if len(conditions) == 1:
        c = conditions[0]
        text, params, _ = _condition(d, field(c.field), c.op, c.operands, table)
        return text, list(params)
    parts: list[str] = []
    out: list[SqlParam] = []
    for c in conditions:
        text, params, _ = _condition(d, field(c.field), c.op, c.operands, table)
        parts.append(text)
        out += params
    return " AND ".join(parts), out
