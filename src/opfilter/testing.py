"""Hypothesis strategies for opfilter's users (and its own tests).

Needs the ``testing`` extra (``pip install 'opfilter[testing]'``)::

    from hypothesis import given
    from opfilter.testing import queries, noisy_query_strings
    from opfilter.streams import SCHEMA

    @given(queries(SCHEMA))
    def test_my_server_accepts_every_valid_query(q): ...

* :func:`dates`, :func:`datetimes` — calendar dates and aware instants biased to edges
  (the first and last representable days, leap days, offsets, microseconds);
* :func:`values` — typed operand values for one filter field, biased to edges
  (int64 bounds, microseconds, offsets, day boundaries, leap days, decimal scale,
  strings with ``,`` ``"`` ``\\`` spaces and non-ASCII);
* :func:`conditions`, :func:`queries` — valid typed conditions and whole queries;
* :func:`noisy_query_strings` — ``(raw query string, the Query it must parse to)``: the
  canonical string re-spelt the many ways SPEC §2–3 allows (bare ``eq``, leading zeros,
  offsets, spaces around commas, quoted operands, ``+`` for spaces, mixed percent-encoding);
* :func:`invalid_query_strings` — ``(raw query string, [the failing parameter names])``;
* :func:`rows` — mapping rows holding typed values for every filter field of a schema;
* :func:`requests` and :func:`check_server` — whole requests to the production-plan-streams
  endpoints, and a checker that compares any server (a URL or a WSGI app) with the
  reference endpoint and reports the first difference.

Row and world strategies for the production-plan-streams endpoint live in
:mod:`opfilter.streams.strategies` and are re-exported here as :func:`worlds`,
:func:`stream_rows`, :func:`instants` and :func:`month_starts`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from .backends.querystring import format_condition, format_operand
from .nodes import LIST_OPS, NULL_OPS, Condition, Op, Value
from .query import Query
from .schema import EnumParam, Filter, IntParam, Schema, Type
from .streams.strategies import instants, month_starts, worlds
from .streams.strategies import rows as stream_rows
from .values import INT64_MAX, INT64_MIN, format_datetime

__all__ = [
    "Request",
    "ServerMismatch",
    "check_server",
    "conditions",
    "datetimes",
    "instants",
    "invalid_query_strings",
    "month_starts",
    "noisy_query_strings",
    "queries",
    "requests",
    "rows",
    "stream_rows",
    "values",
    "worlds",
]


# -- scalar values ----------------------------------------------------------------------

_OFFSETS = st.one_of(
    st.just(UTC),
    st.sampled_from([timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30),
                     timedelta(hours=23, minutes=59), timedelta(hours=-23, minutes=-59)]).map(
        timezone),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
    st.sampled_from(["America/New_York", "Europe/Berlin"]).map(ZoneInfo),  # DST, folds
)

_EDGE_DATES = [
    date(2024, 2, 29), date(2023, 2, 28), date(2024, 1, 1), date(2023, 12, 31),
    date(2000, 2, 29), date(1970, 1, 1), date(1, 1, 2), date(9999, 12, 30), date(9999, 12, 31),
]

_EDGE_TIMES = [time(0, 0), time(23, 59, 59, 999999), time(0, 0, 0, 1), time(12, 0),
               time(23, 59, 59), time(0, 0, 0, 500000)]

# Wall times that a named zone repeats (fold 0 and 1) or skips: 2024-11-03 01:30 in
# New York and 2024-10-27 02:30 in Berlin happen twice, 2024-03-31 02:30 in Berlin never.
_DST_TIMES = [datetime(2024, 11, 3, 1, 30), datetime(2024, 11, 3, 1, 30, fold=1),
              datetime(2024, 10, 27, 2, 30), datetime(2024, 10, 27, 2, 30, fold=1),
              datetime(2024, 3, 31, 2, 30)]


@cache
def dates() -> st.SearchStrategy[date]:
    """Calendar dates, with leap days, year ends and the extremes likely."""
    return st.one_of(st.sampled_from(_EDGE_DATES), st.dates(date(1900, 1, 1), date(2100, 12, 31)),
                     st.dates())


def _representable(dt: datetime) -> bool:
    """Python can represent the instant, and the offset is whole minutes (what ``±HH:MM``
    can write: a named zone's local mean time before 1900 has seconds)."""
    try:
        dt.astimezone(UTC)
    except OverflowError:
        return False
    offset = dt.utcoffset()
    return offset is not None and offset.seconds % 60 == 0 and not offset.microseconds


@cache
def datetimes() -> st.SearchStrategy[datetime]:
    """Aware datetimes (microseconds, ±HH:MM offsets, named zones with the wall times their
    DST changes repeat or skip, day boundaries) whose instant Python can represent."""
    local = st.one_of(
        st.builds(datetime.combine, st.sampled_from(_EDGE_DATES), st.sampled_from(_EDGE_TIMES)),
        st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1)),
        st.datetimes(),
        st.sampled_from(_DST_TIMES),
    )
    return st.builds(lambda d, tz: d.replace(tzinfo=tz), local, _OFFSETS).filter(_representable)


def _ints(f: Filter) -> st.SearchStrategy[int]:
    lo = int(f.min) if f.min is not None else INT64_MIN
    hi = int(f.max) if f.max is not None else INT64_MAX
    edges = [x for x in (lo, hi, lo + 1, hi - 1, 0, 1, -1) if lo <= x <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(max(lo, -50), min(hi, 50)),
                     st.integers(lo, hi))


def _decimals(f: Filter) -> st.SearchStrategy[Decimal]:
    digits = f.max_digits or 28
    places = st.integers(0, min(6, digits - 1))

    def make(unscaled: int, scale: int) -> Decimal:
        return Decimal(unscaled).scaleb(-scale)

    limit = 10 ** min(digits, 15) - 1
    d = st.builds(make, st.one_of(st.integers(-1000, 1000), st.integers(-limit, limit)), places)
    lo, hi = f.min, f.max
    if lo is not None:
        d = d.filter(lambda x: bool(x >= lo))
    if hi is not None:
        d = d.filter(lambda x: bool(x <= hi))
    return d


_TEXT = st.one_of(
    st.sampled_from(["", "a", "null", "NULL", "a,b", 'say "hi"', "back\\slash", "x:y", "eq:5",
                     " lead", "trail ", "two  spaces", "ünï©ødé", "日本", "%20", "+", "&=?#"]),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12),
)


@cache  # strategies are immutable; building them per draw was the slow part of rows()
def values(f: Filter, *, null: bool = True) -> st.SearchStrategy[Value]:
    """Typed operand values for ``f`` (``None`` for nullable fields when ``null``); a
    datetime field also gets bare dates, meaning whole UTC days."""
    kind = f.kind
    base: st.SearchStrategy[Any]
    if kind is Type.INT:
        base = _ints(f)
    elif kind is Type.DECIMAL:
        base = _decimals(f)
    elif kind is Type.DATE:
        base = dates()
    elif kind is Type.DATETIME:
        base = st.one_of(datetimes(), dates())
    elif kind is Type.BOOL:
        base = st.booleans()
    elif kind is Type.ENUM:
        base = st.sampled_from(f.choices)
    else:
        base = _TEXT
    if null and f.nullable:
        return st.one_of(st.none(), base)
    return base


# -- conditions and queries ---------------------------------------------------------------


@st.composite
def conditions(draw: st.DrawFn, f: Filter, *, max_items: int = 5) -> Condition:
    """A valid condition on ``f``: an allowed operator with the right operand count."""
    op = draw(st.sampled_from([o for o in Op if o in f.ops]))
    vals = values(f, null=op in NULL_OPS)
    if op in LIST_OPS:
        operands = tuple(draw(st.lists(vals, min_size=1, max_size=min(max_items, f.max_items))))
    elif op is Op.BT:
        a, b = draw(vals), draw(vals)

        def empty(a: Value, b: Value) -> bool:  # the schema's own check (the lowering's)
            return f.problem(Op.BT, (a, b)) is not None

        if empty(a, b):
            a, b = b, a
        if empty(a, b):  # e.g. an instant inside a day bound the other way round
            b = a
            if empty(a, b):
                a = b = draw(dates() if f.kind is Type.DATETIME else vals)
        operands = (a, b)
    else:
        operands = (draw(vals),)
    return Condition(f.name, op, operands)


def _plain_value(p: IntParam | EnumParam) -> st.SearchStrategy[int | str]:
    if isinstance(p, EnumParam):
        return st.sampled_from(p.choices)
    edges = [x for x in (p.min, p.max, p.default, p.min + 1) if p.min <= x <= p.max]
    return st.one_of(st.sampled_from(edges), st.integers(p.min, min(p.max, p.min + 1000)),
                     st.integers(p.min, p.max))


@st.composite
def queries(draw: st.DrawFn, schema: Schema, *, max_conditions: int = 4) -> Query:
    """A valid :class:`Query` for ``schema``: some conditions (fields may repeat) and
    plain parameters, each either given or left at its default."""
    filters = schema.filters
    conds = draw(st.lists(
        st.sampled_from(filters).flatmap(conditions), max_size=max_conditions
    )) if filters else []
    params = {}
    for p in schema.params:
        if not isinstance(p, Filter) and draw(st.booleans()):
            params[p.name] = draw(_plain_value(p))
    return Query(schema, conds, params)


# -- re-spellings of valid queries --------------------------------------------------------

def _encode(text: str, draw: st.DrawFn) -> str:
    """Percent-encode ``text`` more or less eagerly, as different clients do."""
    style = draw(st.sampled_from(["canonical", "everything", "plus"]))
    if style == "everything":
        return quote(text, safe="")
    if style == "plus" and "+" not in text:
        return quote(text, safe=":, ").replace(" ", "+")
    return quote(text, safe=":,")


def _spell_operand(draw: st.DrawFn, f: Filter, v: Value) -> str:
    text = format_operand(f, v)
    if v is None or isinstance(v, str):
        return text  # strings and null are spelt exactly (quoting decides their meaning)
    if isinstance(v, bool):
        return text
    if isinstance(v, int):
        if draw(st.booleans()):
            text = ("-" if v < 0 else "") + "0" * draw(st.integers(1, 3)) + str(abs(v))
    elif isinstance(v, Decimal):
        if draw(st.booleans()):
            text += ("" if "." in text else ".") + "0" * draw(st.integers(1, 3))
    elif isinstance(v, datetime):
        choice = draw(st.sampled_from(["utc", "original", "space", "minus-zero"]))
        if choice == "original" or choice == "space":
            off = v.utcoffset() or timedelta(0)
            sign = "-" if off < timedelta(0) else "+"
            minutes = abs(int(off.total_seconds())) // 60
            local = v.replace(tzinfo=None)
            offset = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
            text = local.isoformat(timespec="microseconds") + offset
            if choice == "space" and sign == "+":
                text = text.replace("+", " ")
        elif choice == "minus-zero":
            text = format_datetime(v)[:-1] + "-00:00"
    if draw(st.integers(0, 4)) == 0:
        text = '"' + text + '"'  # a quoted operand of another type reads as if unquoted
    return text


@st.composite
def noisy_query_strings(draw: st.DrawFn, schema: Schema) -> tuple[str, Query]:
    """``(raw query string, expected Query)``: a valid query spelt in any allowed way
    (parameters shuffled between different names, ``eq:`` omitted, spaces around commas,
    leading zeros, offsets, quotes, ``+`` and mixed percent-encoding, a leading ``?``,
    empty segments, unknown parameters)."""
    q = draw(queries(schema))
    parts: list[tuple[str, str]] = []
    for c in q.conditions:
        f = schema.field(c.field)
        sep = draw(st.sampled_from([",", ", ", " ,", " , "]))
        body = sep.join(_spell_operand(draw, f, v) for v in c.operands)
        if c.op is Op.EQ and draw(st.booleans()) and not (
            len(c.operands) == 1 and isinstance(c.operands[0], str) and c.operands[0][:1].isalpha()
        ):
            text = body  # a bare value means eq:, unless it would read as an operator
        else:
            text = f"{c.op.value}:{body}"
        parts.append((c.field, text))
    for name, value in q.params.items():
        p = schema[name]
        assert not isinstance(p, Filter)
        if value != p.default or draw(st.booleans()):
            parts.append((name, str(value)))
    # conditions of one field keep their relative order; others may interleave
    order = draw(st.permutations(range(len(parts))))
    by_field: dict[str, list[int]] = {}
    for i, (name, _) in enumerate(parts):
        by_field.setdefault(name, []).append(i)
    shuffled: list[tuple[str, str]] = []
    taken: dict[str, int] = {}
    for i in order:
        name = parts[i][0]
        k = taken.get(name, 0)
        taken[name] = k + 1
        shuffled.append(parts[by_field[name][k]])
    if draw(st.booleans()):
        shuffled.insert(draw(st.integers(0, len(shuffled))), ("zz_unknown", "whatever"))
    segments = [f"{_encode(n, draw)}={_encode(v, draw)}" for n, v in shuffled]
    if draw(st.booleans()):
        segments.insert(draw(st.integers(0, len(segments))), "")
    raw = "&".join(segments)
    if draw(st.booleans()):
        raw = "?" + raw
    return raw, q


# -- invalid input ----------------------------------------------------------------------

_BAD_FILTER_VALUES = ["", "ge:1", "EQ:1", "between:1,2", "in:", "in:1,,2", "in:1,", "bt:1",
                      "bt:1,2,3", "eq:1,2", " 1", "1 ", '"1', 'a"b', "eq:\"a\\n\"", "x:y:z"]


@st.composite
def invalid_query_strings(draw: st.DrawFn, schema: Schema) -> tuple[str, list[str]]:
    """``(raw query string, the parameter names of its failures, in order)``: a valid
    query with one or more parameters replaced by invalid values."""
    filters = list(schema.filters)
    plains = [p for p in schema.params if not isinstance(p, Filter)]
    n = draw(st.integers(1, 4))
    parts: list[tuple[str, str, bool]] = []
    used_plain: set[str] = set()
    for _ in range(n):
        if plains and (not filters or draw(st.booleans())):
            p = draw(st.sampled_from(plains))
            if p.name in used_plain:
                continue
            used_plain.add(p.name)
            if isinstance(p, IntParam):
                bad = draw(st.sampled_from(
                    [str(p.min - 1), str(p.max + 1), "abc", "eq:1", "", " 1", "1.5",
                     "99999999999999999999999"]))
            else:
                bad = draw(st.sampled_from(["EXCLUDE", "eq:" + p.default, "", "nope"]))
            parts.append((p.name, bad, True))
        else:
            f = draw(st.sampled_from(filters))
            parts.append((f.name, draw(st.sampled_from(_BAD_FILTER_VALUES + _typed_bad(f))), True))
    good = draw(queries(schema))
    for c in good.conditions:
        parts.append((c.field, format_condition(schema.field(c.field), c), False))
    order = draw(st.permutations(parts))
    raw = "&".join(f"{quote(n, safe='')}={quote(v, safe=':,')}" for n, v, _ in order)
    return raw, [n for n, _, bad in order if bad]


def _typed_bad(f: Filter) -> list[str]:
    kind = f.kind
    out = []
    if kind is Type.INT:
        out += ["abc", "1.5", "+1", "99999999999999999999", "0x10", "1e3", "gt:null"]
    elif kind in (Type.DATETIME, Type.DATE):
        out += ["2024-13-01", "2024-02-30", "2024-01-01T25:00:00Z", "2024-01-01t00:00:00z",
                "2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00+24:00", "yesterday",
                "gt:null"]
    elif kind is Type.DECIMAL:
        out += ["1e5", "NaN", "Infinity", "1.", ".5"]
    elif kind is Type.BOOL:
        out += ["True", "1", "gt:true"]
    elif kind is Type.ENUM:
        out += ["NOT-A-CHOICE", "gt:" + f.choices[0]]
    if not f.nullable:
        out.append("null")
    if kind is not Type.STRING:
        out.append('""')
    return out


# -- rows ------------------------------------------------------------------------------


@st.composite
def rows(draw: st.DrawFn, schema: Schema, *, missing: bool = False) -> dict[str, Any]:
    """A mapping row with a typed value for each filter field (``None`` where nullable;
    datetimes aware in any zone).  ``missing``: some fields may be left out (= NULL)."""
    row: dict[str, Any] = {}
    for f in schema.filters:
        if missing and draw(st.integers(0, 9)) == 0:
            continue
        if f.kind is Type.DATETIME:
            v: Any = draw(st.one_of(st.none(), datetimes()) if f.nullable else datetimes())
        else:
            v = draw(values(f))
        row[f.name] = v
    return row


# The conformance checker is the endpoint's (opfilter.streams.conformance); users find it here.
from .streams.conformance import (  # noqa: E402
    Request,
    ServerMismatch,
    check_server,
    requests,
)
