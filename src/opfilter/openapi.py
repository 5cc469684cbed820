"""OpenAPI 3.1 descriptions of a schema's query parameters and of the 400 answer (SPEC §9).

>>> from opfilter.streams import SCHEMA
>>> [p["name"] for p in parameters(SCHEMA)][:3]
['project_id', 'stream_id', 'production_plan_id']
>>> print(parameters(SCHEMA)[0]["schema"]["pattern"])
^(?:(?:eq|neq|gt|gte|lt|lte|in|nin|bt):)?[0-9 ",\\-]+$

A filter's ``pattern`` is a **necessary** condition: every valid value matches it, so a
value that does not match is certainly a 400 (an invalid value may still match: the
pattern does not count operands or check calendars).  It is written in the common subset
of ECMA-262 and Python regular expressions.
"""

from __future__ import annotations

from typing import Any

from .errors import INVALID_DATA_MESSAGE
from .nodes import Op
from .schema import EnumParam, Filter, IntParam, Schema, Type

__all__ = ["error_response", "error_schema", "parameters", "pattern"]

_EXAMPLE: dict[Type, tuple[str, str]] = {
    Type.INT: ("5", "1"),
    Type.DECIMAL: ("7.5", "10"),
    Type.DATE: ("2024-01-31", "2024-01-01"),
    Type.DATETIME: ("2024-06-15T08:00:00Z", "2024-06-01"),
    Type.STRING: ("text", '"a, b"'),
    Type.BOOL: ("true", "false"),
}

_TYPE_WORDS: dict[Type, str] = {
    Type.INT: "an integer",
    Type.DECIMAL: "a decimal number (no exponent)",
    Type.DATE: "a date YYYY-MM-DD",
    Type.DATETIME: "a datetime YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM), or a date meaning "
    "that whole UTC day",
    Type.STRING: 'a text (double-quote it to hold , " : or spaces)',
    Type.BOOL: "true or false",
    Type.ENUM: "one of the words",
}

# Characters that can appear in a valid operand list of each type (bare or quoted, with
# the spaces allowed around list commas, and for datetimes the space of the '+' repair).
_DIGITS = "0123456789"
_QUOTING = '", '  # quotes, list commas and the spaces allowed around them
_CHARS: dict[Type, str] = {
    Type.INT: _DIGITS + "-",
    Type.DECIMAL: _DIGITS + "-.",
    Type.DATE: _DIGITS + "-",
    Type.DATETIME: _DIGITS + "-TZ:.+",
    Type.BOOL: "truefals",
}


def _char_class(chars: str) -> str:
    """A character class of exactly ``chars`` (special characters escaped)."""
    rest = set(chars)
    out = ""
    if rest >= set(_DIGITS):
        out, rest = "0-9", rest - set(_DIGITS)
    for ch in sorted(rest):
        out += "\\" + ch if ch in "\\]^-[" else ch
    return f"[{out}]"


def pattern(f: Filter) -> str | None:
    """A regular expression every valid value of ``f`` matches (``None`` for text)."""
    if f.kind is Type.STRING:
        return None
    ops = "|".join(op.value for op in Op if op in f.ops)
    chars = "".join(f.choices) if f.kind is Type.ENUM else _CHARS[f.kind]
    if f.nullable:
        chars += "null"
    return f"^(?:(?:{ops}):)?{_char_class(chars + _QUOTING)}+$"


def _filter_description(f: Filter) -> str:
    ops = [op.value for op in Op if op in f.ops]
    if f.kind is Type.ENUM:
        one, other = f.choices[0], f.choices[-1]
        what = f"one of the words {', '.join(f.choices)}"
    else:
        one, other = _EXAMPLE[f.kind]
        what = _TYPE_WORDS[f.kind]
    examples = [f"`{f.name}={one}` (a bare value means eq)"]
    for op in ops:
        if op in ("in", "nin"):
            examples.append(f"`{f.name}={op}:{one},{other}`")
        elif op == "bt":
            lo, hi = sorted((one, other))
            examples.append(f"`{f.name}=bt:{lo},{hi}` (inclusive)")
        elif op in ("neq", "gte"):
            examples.append(f"`{f.name}={op}:{one}`")
    text = (
        f"Filter on {f.name}: {what}. Operators: {', '.join(ops)}, written as op:value, "
        f"e.g. {', '.join(examples)}. Lists take at most {f.max_items} items. "
        "The parameter may be repeated: every occurrence must hold (AND)."
    )
    if f.nullable:
        text += " `null` is a value (eq, neq, in, nin)."
    return text


def _filter_parameter(f: Filter, schema: Schema) -> dict[str, Any]:
    value_schema: dict[str, Any] = {
        "type": "string",
        "minLength": 1,
        "maxLength": schema.max_value_length,
    }
    regex = pattern(f)
    if regex is not None:
        value_schema["pattern"] = regex
    example = f.choices[0] if f.kind is Type.ENUM else _EXAMPLE[f.kind][0]
    return {
        "name": f.name,
        "in": "query",
        "required": False,
        "description": _filter_description(f),
        "schema": value_schema,
        "example": example,
        "x-opfilter-repeatable": True,
    }


def _plain_parameter(p: IntParam | EnumParam) -> dict[str, Any]:
    if isinstance(p, EnumParam):
        return {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": f"{p.name}: one bare word, {', '.join(p.choices)} "
            f"(default {p.default}); give it at most once.",
            "schema": {"type": "string", "enum": list(p.choices), "default": p.default},
        }
    return {
        "name": p.name,
        "in": "query",
        "required": False,
        "description": f"{p.name}: a bare integer from {p.min} to {p.max} "
        f"(default {p.default}); give it at most once.",
        "schema": {"type": "integer", "minimum": p.min, "maximum": p.max, "default": p.default},
    }


def parameters(schema: Schema) -> list[dict[str, Any]]:
    """OpenAPI 3.1 Parameter Objects, one per parameter of ``schema`` in schema order."""
    return [
        _filter_parameter(p, schema) if isinstance(p, Filter) else _plain_parameter(p)
        for p in schema.params
    ]


def error_schema(key: str = "invalid_data", *, failures: bool = True) -> dict[str, Any]:
    """The JSON schema of an error body ``{"key", "message"[, "failures"]}``."""
    props: dict[str, Any] = {
        "key": {"type": "string", "const": key},
        "message": {"type": "string"},
    }
    if failures:
        props["failures"] = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
                "additionalProperties": False,
            },
        }
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def error_response() -> dict[str, Any]:
    """The 400 Response Object: the body :meth:`opfilter.InvalidQuery.json` writes."""
    return {
        "description": "The query is invalid; every problem is listed in `failures`, in the "
        f"order the parameters appear. `message` is always {INVALID_DATA_MESSAGE!r}.",
        "content": {"application/json": {"schema": error_schema()}},
    }

