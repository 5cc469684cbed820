"""A whole query (raw string, multi-mapping or pairs) → a typed :class:`Query`.

Every failure is collected — one per offending parameter occurrence, in the order the
parameters appear — and raised together as one :class:`~opfilter.errors.InvalidQuery`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import repeat
from types import MappingProxyType
from typing import Any, Protocol, TypeAlias
from urllib.parse import unquote, unquote_to_bytes

from .errors import InvalidQuery
from .nodes import Condition, Op
from .parser import SyntaxProblem, parse_value, split_unquoted
from .schema import EnumParam, Filter, IntParam, Schema, null_problem, shape_problem
from .values import BadValue

__all__ = ["Query", "QueryInput", "parse_query"]

_OPS = {op.value: op for op in Op}
_OP_PREFIX = re.compile(r"([A-Za-z]+):")
_ALIASES = {"ne": "neq", "ge": "gte", "le": "lte", "between": "bt", "not_in": "nin", "notin": "nin"}
_CACHEABLE = 256  # values up to this length are memoized (polling clients repeat them)


class _MultiItems(Protocol):
    def multi_items(self) -> Iterable[tuple[str, str]]: ...


class _GetList(Protocol):
    def keys(self) -> Iterable[str]: ...
    def getlist(self, key: str) -> list[str]: ...


QueryInput: TypeAlias = (
    "str | bytes | Mapping[str, str | Iterable[str]] | _MultiItems | _GetList"
    " | Iterable[tuple[str, str]]"
)


class Query:
    """A validated query: filter conditions (in parameter order) and plain parameters
    (defaults filled in).  Immutable.  Two queries are equal exactly when their canonical
    query strings are equal."""

    __slots__ = ("_canonical", "conditions", "params", "schema")

    schema: Schema
    conditions: tuple[Condition, ...]
    params: Mapping[str, int | str]
    _canonical: str | None

    def __init__(
        self,
        schema: Schema,
        conditions: Iterable[Condition] = (),
        params: Mapping[str, int | str] | None = None,
    ) -> None:
        if params:
            unknown = set(params) - set(schema.defaults)
            if unknown:
                raise ValueError(f"not plain parameters of this schema: {sorted(unknown)}")
        conds = tuple(conditions)
        failures: list[dict[str, str]] = []
        for c in conds:
            f = schema.filter_by_name.get(c.field)
            if f is None:
                raise ValueError(f"{c.field!r} is not a filter field of this schema")
            problem = f.problem(c.op, c.operands)  # the checks parse_query makes
            if problem is not None:
                failures.append({"field": f.name, "message": f"{f.name}: {problem}"})
        if failures:
            raise InvalidQuery(failures)
        self._fill(schema, conds, params)

    def _fill(
        self,
        schema: Schema,
        conditions: Iterable[Condition],
        params: Mapping[str, int | str] | None,
    ) -> None:
        """Set the fields from arguments already checked against ``schema``."""
        filled = dict(schema.defaults)
        if params:
            filled.update(params)
        # canonical parameter order; a stable sort keeps repeated conditions as given
        position = schema.positions.__getitem__
        conds = tuple(sorted(conditions, key=lambda c: position(c.field)))
        object.__setattr__(self, "schema", schema)
        object.__setattr__(self, "conditions", conds)
        object.__setattr__(self, "params", MappingProxyType(filled))
        object.__setattr__(self, "_canonical", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Query is immutable")

    # -- the list parameters of SPEC §5 ------------------------------------------------

    def param(self, name: str) -> int | str:
        """The value of plain parameter ``name`` (its default when not given); raises
        :class:`KeyError` naming the schema's plain parameters when there is no such one."""
        try:
            return self.params[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a plain parameter of this schema "
                f"(it has: {', '.join(self.params) or 'none'})"
            ) from None

    @property
    def limit(self) -> int:
        """``param("limit")``, for schemas that call their page size ``limit``."""
        v = self.params.get("limit")
        if isinstance(v, int):
            return v
        raise self._absent("limit", "integer")

    @property
    def offset(self) -> int:
        """``param("offset")``, for schemas that call their page offset ``offset``."""
        v = self.params.get("offset")
        if isinstance(v, int):
            return v
        raise self._absent("offset", "integer")

    @property
    def deleted(self) -> str:
        """``param("deleted")``, for schemas with a ``deleted`` parameter."""
        v = self.params.get("deleted")
        if isinstance(v, str):
            return v
        raise self._absent("deleted", "word")

    def _absent(self, name: str, kind: str) -> AttributeError:
        return AttributeError(
            f"this query's schema has no plain {kind} parameter {name!r}; use "
            f"Query.param(name) with one of: {', '.join(self.params) or 'none'}"
        )

    def implied_conditions(self) -> tuple[Condition, ...]:
        """Conditions that plain parameters stand for (``deleted=exclude`` → ``deleted_at
        eq null``), in schema order."""
        out: tuple[Condition, ...] = ()
        for name, implies in self.schema.implications:
            out += implies.get(str(self.params[name]), ())
        return out

    def all_conditions(self) -> tuple[Condition, ...]:
        """What every backend compiles: the filters, then the implied conditions."""
        return self.conditions + self.implied_conditions()

    # -- identity ---------------------------------------------------------------------

    @property
    def canonical(self) -> str:
        if self._canonical is None:
            from .backends.querystring import to_query_string

            object.__setattr__(self, "_canonical", to_query_string(self))
        assert self._canonical is not None
        return self._canonical

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Query):
            return NotImplemented
        return self.canonical == other.canonical

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __repr__(self) -> str:
        return f"Query({self.canonical!r})"


# -- input forms ---------------------------------------------------------------------------


class _Undecodable:
    """A raw segment whose percent-decoding is not UTF-8."""

    __slots__ = ("raw",)

    def __init__(self, raw: str) -> None:
        self.raw = raw


# What clients commonly escape in filter values; see _decode.
_COMMON_ESCAPES = (("%3A", ":"), ("%2C", ","), ("%2B", "+"), ("%20", " "), ("%22", '"'))


def _decode(part: str) -> str | _Undecodable:
    if "%" not in part and "+" not in part:
        return part
    if "%" in part:
        # Fast path, same result as unquote(): when every "%" starts one of the escapes
        # above, replacing them is the whole decoding (no replacement makes a new "%XX").
        quick = part.replace("+", " ")
        for escape, char in _COMMON_ESCAPES:
            if escape in quick:
                quick = quick.replace(escape, char)
        if "%" not in quick:
            return quick
    try:
        return unquote(part.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        return _Undecodable(part)


def _decode_bytes(part: bytes) -> str | _Undecodable:
    try:
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return _Undecodable(part.decode("utf-8", "backslashreplace"))


Pair: TypeAlias = "tuple[str | _Undecodable, str | _Undecodable]"


def _split_raw(query: str | bytes) -> list[Pair]:
    pairs: list[Pair] = []
    if isinstance(query, bytes):
        if query.startswith(b"?"):
            query = query[1:]
        for seg in query.split(b"&"):
            if seg:
                name, _, value = seg.partition(b"=")
                pairs.append((_decode_bytes(name), _decode_bytes(value)))
        return pairs
    if query.startswith("?"):
        query = query[1:]
    for part in query.split("&"):  # (names unlike the bytes branch's, for the type checker)
        if part:
            key, _, text = part.partition("=")
            # _decode's own first test, inlined: most names and many values need nothing
            pairs.append((
                key if "%" not in key and "+" not in key else _decode(key),
                text if "%" not in text and "+" not in text else _decode(text),
            ))
    return pairs


def _pairs(query: Any) -> list[Pair]:
    """Already-decoded input forms → (name, value) pairs, never decoded again."""
    if hasattr(query, "multi_items"):
        items: Iterable[Any] = query.multi_items()
    elif hasattr(query, "getlist"):
        items = [(k, v) for k in list(query) for v in query.getlist(k)]
    elif isinstance(query, Mapping):
        items = [
            (k, v)
            for k, vs in query.items()
            for v in ([vs] if isinstance(vs, str | bytes) else vs)
        ]
    else:
        items = query
    out: list[Pair] = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(
                f"query pairs must be (name, value) tuples of strings, got {item!r}"
            ) from None
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(
                f"query names and values must be strings, got ({name!r}, {value!r})"
            )
        out.append((name, value))
    return out


# -- one parameter -------------------------------------------------------------------------


class _Failure(Exception):
    pass


def _quote(text: str) -> str:
    return f"'{text}'"


def unknown_operator_message(name: str) -> str:
    """SPEC §2's message with its suggestion: alias, case, edit distance, or the list."""
    suggestion = _ALIASES.get(name) or _ALIASES.get(name.lower())
    if suggestion is None and name.lower() in _OPS:
        suggestion = name.lower()
    if suggestion is None:
        best = min(_OPS, key=lambda op: (_distance(name.lower(), op), op))
        if _distance(name.lower(), best) <= min(2, max(1, len(name) - 1)):
            suggestion = best
    if suggestion is not None:
        return f"unknown operator '{name}' — did you mean '{suggestion}'?"
    return f"unknown operator '{name}': expected one of {', '.join(_OPS)}"


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (the names are a few letters long)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _parse_filter_uncached(f: Filter, text: str) -> Condition | str:
    """The condition, or the failure message (without the parameter prefix)."""
    split = split_unquoted(text)  # the common case, without RawOperand objects
    quoted: Iterable[bool]
    if split is not None:
        op_name, texts, spans = split
        quoted = repeat(False)
    else:
        try:
            raw = parse_value(text)
        except SyntaxProblem as e:
            m = _OP_PREFIX.match(text)
            if m and m[1] not in _OPS:
                return unknown_operator_message(m[1])
            return str(e)
        op_name = raw.op
        texts = tuple(o.text for o in raw.operands)
        quoted = tuple(o.quoted for o in raw.operands)
        spans = tuple(o.span for o in raw.operands)
    if op_name is None:
        op = Op.EQ
    else:
        found = _OPS.get(op_name)
        if found is None:
            return unknown_operator_message(op_name)
        op = found
    problem = shape_problem(f, op, len(texts))
    if problem is not None:
        return f"{problem} in {_quote(text)}"
    values = []
    convert = f.convert
    for operand, is_quoted, span in zip(texts, quoted, spans, strict=False):
        try:
            values.append(convert(operand, is_quoted))
        except BadValue as e:
            written = text[span.start : span.end]
            return f"{_quote(written)} at column {span.column} {e}"
    operands = tuple(values)
    problem = null_problem(op, operands) or f.check(op, operands)
    if problem is not None:
        return f"{_quote(text)} {problem}" if op is Op.BT else f"{problem} in {_quote(text)}"
    return Condition(f.name, op, operands, spans)


_parse_filter_cached = lru_cache(maxsize=4096)(_parse_filter_uncached)


def _filter_result(f: Filter, text: str) -> Condition | str:
    """Memoized for short values (polling clients repeat them), computed for long ones."""
    if len(text) <= _CACHEABLE:
        return _parse_filter_cached(f, text)
    return _parse_filter_uncached(f, text)


def parse_filter(f: Filter, text: str) -> Condition:
    """One filter value for field ``f`` → its condition; raises :class:`InvalidQuery`."""
    result = _filter_result(f, text)
    if isinstance(result, str):
        raise InvalidQuery([{"field": f.name, "message": f"{f.name}: {result}"}])
    return result


def _plain_value(p: IntParam | EnumParam, text: str) -> int | str:
    if _OP_PREFIX.match(text):
        raise _Failure(
            f"{_quote(text)} is not allowed: {p.name} takes {p.expected}, without an operator"
        )
    try:
        return p.convert(text)
    except BadValue as e:
        raise _Failure(f"{_quote(text)} {e}") from None


def _preview(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def parse_query(query: Any, schema: Schema, *, strict: bool | None = None) -> Query:
    """Validate a whole query for ``schema``.

    ``query`` is a raw query string (``str`` or ``bytes``; a leading ``?`` is stripped,
    ``&`` separates, ``+`` is a space, percent-escapes are UTF-8) or already-decoded input:
    a mapping of names to strings or sequences of strings, an object with
    ``multi_items()`` (Starlette) or ``getlist()`` (Django, Werkzeug), or ``(name, value)``
    pairs.  ``strict`` (default: the schema's) makes unknown parameters failures.

    Returns a :class:`Query`, or raises :class:`InvalidQuery` with every failure.
    """
    strict = schema.strict if strict is None else strict
    if isinstance(query, str | bytes):
        if len(query) > schema.max_query_length:
            raise InvalidQuery([{
                "field": "query",
                "message": (
                    f"the query string is {len(query)} characters long; at most "
                    f"{schema.max_query_length} are allowed"
                ),
            }])
        pairs = _split_raw(query)
    else:
        pairs = _pairs(query)

    names = [name for name, _ in pairs]
    failures: list[dict[str, str]] = []
    conditions: list[Condition] = []
    params: dict[str, int | str] = {}
    reported: set[str] = set()

    def fail(name: str, message: str) -> None:
        failures.append({"field": name, "message": f"{name}: {message}"})

    for name, value in pairs:
        if isinstance(name, _Undecodable):
            fail(name.raw, f"the parameter name {_quote(name.raw)} is not valid UTF-8 once "
                 "percent-decoded")
            continue
        p = schema.get(name)
        if p is None:
            if strict:
                failures.append({"field": name, "message": f"unknown parameter {_quote(name)}"})
            continue
        if not isinstance(p, Filter):
            # a plain parameter given more than once is one failure, whatever its values
            if name in reported:
                continue
            if names.count(name) > 1:  # at most once per distinct name, thanks to `reported`
                reported.add(name)
                given = ", ".join(_quote(_preview(v if isinstance(v, str) else v.raw))
                                  for n, v in pairs if n == name)
                fail(name, f"given more than once ({given}); give it at most once")
                continue
        if isinstance(value, _Undecodable):
            fail(name, f"{_quote(_preview(value.raw))} is not valid UTF-8 once percent-decoded")
            continue
        if len(value) > schema.max_value_length:
            fail(name, (
                f"the value {_quote(_preview(value))} is {len(value)} characters long; at most "
                f"{schema.max_value_length} are allowed"
            ))
            continue
        if isinstance(p, Filter):
            result = _filter_result(p, value)
            if isinstance(result, str):
                fail(name, result)
            else:
                conditions.append(result)
            continue
        try:
            params[name] = _plain_value(p, value)
        except _Failure as e:
            fail(name, str(e))

    if failures:
        raise InvalidQuery(failures)
    built: Query = object.__new__(Query)
    built._fill(schema, conditions, params)  # every field and name came from the schema
    return built
