"""Query → its canonical query string (SPEC §3)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..nodes import Condition, Value
from ..parser import OPERATOR_RE
from ..schema import Filter, Type
from ..values import format_date, format_datetime, format_decimal

if TYPE_CHECKING:
    from ..query import Query

__all__ = ["format_condition", "format_operand", "to_query_string"]

_SAFE = ":,"  # plus RFC 3986 unreserved characters, which quote() never escapes
# a string is quoted when it is empty, is `null`, holds `,` `"` or a space, or starts with
# what the grammar reads as an operator name (its OPERATOR terminal, not a copy of it)
_NEEDS_QUOTES = re.compile(rf'[, "]|{OPERATOR_RE.pattern}|null\Z|\Z')


def _encode(text: str) -> str:
    return quote(text, safe=_SAFE)


def _string(text: str) -> str:
    if _NEEDS_QUOTES.match(text) is None and not any(c in text for c in ', "'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_operand(f: Filter, value: Value) -> str:
    """One operand as the grammar reads it back (before percent-encoding)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if f.kind is Type.ENUM:
        return value
    return _string(value)


def format_condition(f: Filter, c: Condition) -> str:
    """One condition's value, ``op:operands``, as the grammar reads it back (before
    percent-encoding)."""
    return f"{c.op.value}:" + ",".join(format_operand(f, v) for v in c.operands)


def to_query_string(query: Query) -> str:
    """The canonical query string: parameters in schema order, operators always written,
    defaults omitted, values in canonical form, percent-encoded (``""`` for no conditions)."""
    by_field: dict[str, list[str]] = {}
    for c in query.conditions:
        by_field.setdefault(c.field, []).append(format_condition(query.schema.field(c.field), c))
    parts: list[str] = []
    for p in query.schema.params:
        name = _encode(p.name)
        if isinstance(p, Filter):
            parts.extend(f"{name}={_encode(v)}" for v in by_field.get(p.name, ()))
        else:
            value = query.params[p.name]
            if value != p.default:
                parts.append(f"{name}={_encode(str(value))}")
    return "&".join(parts)
