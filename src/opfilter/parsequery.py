"""The parameter loop of :func:`parse_query`: a whole query → a :class:`Query`.

Every failure is collected — one per offending parameter occurrence, in the order the
parameters appear — and raised together as one :class:`~opfilter.errors.InvalidQuery`.
Input decoding is :mod:`opfilter.inputs`' job, suggestions :mod:`opfilter.suggest`'s, the
grammar :mod:`opfilter.parser`'s and operand typing :mod:`opfilter.schema`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache, partial
from itertools import repeat

from .backends.querystring import format_operand
from .errors import InvalidQuery
from .fixit import fix_message
from .inputs import QueryInput, Undecodable, pairs, raw_length, split_raw
from .nodes import Condition, Op
from .parser import OPERATOR_RE, QUOTE_HINT, SyntaxProblem, parse_value, split_unquoted
from .query import Query
from .schema import EnumParam, Filter, IntParam, Schema, Type
from .suggest import list_key, look_alike, look_alike_message, operator_message
from .values import BadValue, preview

__all__ = ["hand_built_failures", "parse_query"]

_OPS = {op.value: op for op in Op}
_CACHEABLE = 256  # values up to this length are memoized (polling clients repeat them)


# -- one parameter -------------------------------------------------------------------------


class _Failure(Exception):
    pass


def _quote(text: str) -> str:
    return f"'{text}'"


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
            m = OPERATOR_RE.match(text)
            if m and m[0][:-1] not in _OPS:
                return operator_message(m[0][:-1])
            return str(e) + (QUOTE_HINT if e.space and f.kind is Type.STRING else "")
        op_name = raw.op
        texts = tuple(o.text for o in raw.operands)
        quoted = tuple(o.quoted for o in raw.operands)
        spans = tuple(o.span for o in raw.operands)
    if op_name is None:
        op = Op.EQ
    else:
        found = _OPS.get(op_name)
        if found is None:
            return operator_message(op_name)
        op = found
    problem = f.shape_problem(op, len(texts))
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
    problem = f.problem(op, operands)
    if problem is not None:
        return f"{_quote(text)} {problem}" if op is Op.BT else f"{problem} in {_quote(text)}"
    return Condition(f.name, op, operands, spans)


_parse_filter_cached = lru_cache(maxsize=4096)(_parse_filter_uncached)


def _filter_result(f: Filter, text: str) -> Condition | str:
    """Memoized for short values (polling clients repeat them), computed for long ones."""
    if len(text) <= _CACHEABLE:
        return _parse_filter_cached(f, text)
    return _parse_filter_uncached(f, text)


def _parse_filter(f: Filter, text: str) -> Condition:
    """One filter value for field ``f`` → its condition; raises :class:`InvalidQuery`."""
    result = _filter_result(f, text)
    if isinstance(result, str):
        raise InvalidQuery([{"field": f.name, "message": f"{f.name}: {result}"}])
    return result


def _plain_value(p: IntParam | EnumParam, text: str) -> int | str:
    if OPERATOR_RE.match(text):
        raise _Failure(
            f"{_quote(text)} is not allowed: {p.name} takes {p.expected}, without an operator"
        )
    try:
        return p.convert(text)
    except BadValue as e:
        raise _Failure(f"{_quote(text)} {e}") from None


def _fix_message(name: str, text: str, accepts: Callable[[str], bool]) -> str | None:
    """:func:`~opfilter.fixit.fix_message` for a value short enough to be typed by hand
    (and memoized); long ones fail cheaply, without parsing proposals."""
    return fix_message(name, text, accepts) if len(text) <= _CACHEABLE else None


def _accepts(f: Filter, text: str) -> bool:
    return not isinstance(_filter_result(f, text), str)


def _plain_accepts(p: IntParam | EnumParam, text: str) -> bool:
    try:
        _plain_value(p, text)
    except _Failure:
        return False
    return True


def _problem(p: Filter | IntParam | EnumParam, text: str) -> str | None:
    """Why ``text`` would fail for ``p`` (without the parameter prefix), or ``None``."""
    if len(text) > _CACHEABLE:
        return None  # advice only: not worth parsing a long value a second time
    if isinstance(p, Filter):
        result = _filter_result(p, text)
        return result if isinstance(result, str) else None
    try:
        _plain_value(p, text)
    except _Failure as e:
        return str(e)
    return None


def _too_long(schema: Schema, value: str) -> str | None:
    """SPEC §3's limit on one decoded value, or ``None``."""
    if len(value) <= schema.max_value_length:
        return None
    return (f"the value {_quote(preview(value))} is {len(value)} characters long; at most "
            f"{schema.max_value_length} are allowed")


def _written(value: object) -> str | None:
    """``str(value)``, as the canonical writer writes it; ``None`` for an int of thousands
    of digits, which Python refuses to write (and no parameter accepts)."""
    try:
        return str(value)
    except ValueError:
        return None


def _plain_problem(schema: Schema, p: IntParam | EnumParam, value: object) -> str | None:
    text = _written(value)
    if text is None:
        return "an integer of thousands of digits is out of range"
    problem = _too_long(schema, text)
    if problem is not None:
        return problem
    try:
        back = _plain_value(p, text)
    except _Failure as e:
        return str(e)
    if isinstance(value, type(back)) and value == back:
        return None
    return f"{value!r} is a {type(value).__name__}, not {p.expected}"


def _condition_problem(schema: Schema, f: Filter, c: Condition) -> str | None:
    problem = f.shape_problem(c.op, len(c.operands))  # (which no query string can hold)
    if problem is not None:
        return problem
    texts: list[str] = []
    for v in c.operands:
        try:
            text: object = format_operand(f, v)
        except ValueError:  # an int Python will not write (thousands of digits)
            return "an operand of thousands of digits is out of range"
        except TypeError:
            text = None
        if not isinstance(text, str):
            return f"operand {v!r} is not a value of a {f.kind.value} field"
        texts.append(text)
    value = f"{c.op.value}:" + ",".join(texts)
    problem = _too_long(schema, value)
    if problem is not None:
        return problem
    back = _filter_result(f, value)
    if isinstance(back, str):
        return back
    # Each operand reads back as itself: the same type, and equal — or written the same, as
    # a datetime in another zone is (== is false between zones in a repeated DST hour) or
    # a naive one (UTC).  An enum word holding a comma reads back as more operands.
    for v, text, b in zip(c.operands, texts, back.operands, strict=False):
        if not (isinstance(v, type(b)) and (v == b or format_operand(f, b) == text)):
            return f"operand {v!r} is not a value of a {f.kind.value} field"
    return None


def hand_built_failures(
    schema: Schema, conditions: Iterable[Condition], params: Mapping[str, object]
) -> list[dict[str, str]]:
    """What :func:`parse_query` would refuse in the canonical query string of a query built
    by hand (:class:`Query`'s own check), in canonical order, with the parser's failure
    text (without fix-its, which are for typed query strings): each condition and plain
    parameter is written as the canonical writer writes it and read back by the parser,
    and must read back as itself (same types, equal).  Every condition is on a filter of
    ``schema``, every ``params`` name a plain parameter of it."""
    by_field: dict[str, list[Condition]] = {}
    for c in conditions:
        by_field.setdefault(c.field, []).append(c)
    failures: list[dict[str, str]] = []

    def check(name: str, problem: str | None) -> None:
        if problem is not None:
            failures.append({"field": name, "message": f"{name}: {problem}"})

    for p in schema.params:
        if isinstance(p, Filter):
            for c in by_field.get(p.name, ()):
                check(p.name, _condition_problem(schema, p, c))
        elif p.name in params:
            check(p.name, _plain_problem(schema, p, params[p.name]))
    return failures


def query_too_long(schema: Schema, length: int) -> InvalidQuery:
    """The failure for a query string of ``length`` characters, over the schema's limit."""
    return InvalidQuery([{
        "field": "query",
        "message": (f"the query string is {length} characters long; at most "
                    f"{schema.max_query_length} are allowed"),
    }])


def parse_query(query: QueryInput, schema: Schema, *, strict: bool | None = None) -> Query:
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
        length = len(query)  # never less than raw_length(): the exact count only if needed
        if length > schema.max_query_length and (length := raw_length(query)) > (
            schema.max_query_length
        ):
            raise query_too_long(schema, length)
        items = split_raw(query)
    else:
        items = pairs(query)

    names = [name for name, _ in items]
    failures: list[dict[str, str]] = []
    conditions: list[Condition] = []
    params: dict[str, int | str] = {}
    reported: set[str] = set()
    ignored: list[dict[str, str]] = []
    lists: dict[str, list[str]] | None = None  # unknown names' values, by list_key

    def fail(name: str, message: str) -> None:
        failures.append({"field": name, "message": f"{name}: {message}"})

    for name, value in items:
        if isinstance(name, Undecodable):
            # no known parameter has this name: it is an unknown parameter, whatever its value
            if strict:
                failures.append({"field": name.raw, "message": (
                    f"unknown parameter {_quote(name.raw)} (not valid UTF-8 once "
                    "percent-decoded)"
                )})
            continue
        p = schema.get(name)
        if p is None:
            # SPEC §8: an ignored name that looks like a known one gets a warning (a
            # failure in strict mode) saying what to write instead
            if lists is None:  # once, and only for a query with an unknown parameter
                lists = {}
                for n, v in items:
                    if isinstance(n, str) and isinstance(v, str):
                        lists.setdefault(list_key(n), []).append(v)
            same = lists.get(list_key(name), [])
            found = look_alike(name, value if isinstance(value, str) else "", same, schema)
            if found is not None:
                message = look_alike_message(name, found, strict=strict)
                problem = None if found.value is None else _problem(schema[found.name],
                                                                    found.value)
                if problem is not None:
                    message += f" That value is not valid either: {problem}"
                (failures if strict else ignored).append({"field": name, "message": message})
            elif strict:
                failures.append({"field": name, "message": f"unknown parameter {_quote(name)}"})
            continue
        if not isinstance(p, Filter):
            # a plain parameter given more than once is one failure, whatever its values
            if name in reported:
                continue
            if names.count(name) > 1:  # at most once per distinct name, thanks to `reported`
                reported.add(name)
                given = ", ".join(_quote(preview(v if isinstance(v, str) else v.raw))
                                  for n, v in items if n == name)
                fail(name, f"given more than once ({given}); give it at most once")
                continue
        if isinstance(value, Undecodable):
            fail(name, f"{_quote(preview(value.raw))} is not valid UTF-8 once percent-decoded")
            continue
        too_long = _too_long(schema, value)
        if too_long is not None:
            fail(name, too_long)
            continue
        if isinstance(p, Filter):
            result = _filter_result(p, value)
            if isinstance(result, str):
                fixed = _fix_message(name, value, partial(_accepts, p))
                if fixed is not None:
                    failures.append({"field": name, "message": fixed})
                else:
                    fail(name, result)
            else:
                conditions.append(result)
            continue
        try:
            params[name] = _plain_value(p, value)
        except _Failure as e:
            fixed = _fix_message(name, value, partial(_plain_accepts, p))
            if fixed is not None:
                failures.append({"field": name, "message": fixed})
            else:
                fail(name, str(e))

    if failures:
        raise InvalidQuery(failures)
    built = Query._checked(schema, conditions, params)  # each part came from the schema
    if ignored:
        object.__setattr__(built, "_ignored", tuple(ignored))
    return built
