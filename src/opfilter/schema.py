"""Schemas: which parameters an endpoint takes, their types, operators and limits.

A :class:`Schema` is an ordered tuple of parameters.  The order is the canonical order of
the query string (SPEC §3).  There are two kinds of parameter:

* :class:`Filter` — an ``op:operands`` filter on one column (``project_id=in:1,2``), which
  may be given more than once (each occurrence is its own condition, all must hold);
* plain parameters, given at most once, with a bare value and a default:
  :class:`IntParam` (``limit``, ``offset``) and :class:`EnumParam` (``deleted``).  An enum
  parameter can *imply* conditions (``deleted=exclude`` means ``deleted_at=eq:null``), which
  every backend compiles like any other condition.

Declaring a schema for another endpoint takes a few lines::

    TIMESHEETS = Schema(
        Filter("user_id", "int"),
        Filter("date", "date"),
        Filter("hours", "decimal"),
        Filter("updated_at", "datetime"),
        Limit(),
        Offset(),
    )
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, TypeAlias

from .lowering import between_is_empty
from .nodes import EQUALITY_OPS, LIST_OPS, NULL_OPS, Condition, Op, Type, Value
from .values import (
    INT64_MAX,
    INT64_MIN,
    BadValue,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
)

__all__ = [
    "EnumParam",
    "Filter",
    "IntParam",
    "Limit",
    "Offset",
    "Param",
    "Schema",
    "Type",
]


_ALL_OPS = frozenset(Op)
_BT, _DATETIME = Op.BT, Type.DATETIME  # (an enum attribute look-up costs, per value parsed)

TypeName: TypeAlias = Type | Literal["int", "decimal", "date", "datetime", "string", "bool", "enum"]


def _check_words(owner: str, choices: tuple[str, ...]) -> None:
    """SPEC §3: enum words are written bare, so each must read back as itself."""
    for word in choices:
        if not isinstance(word, str) or not word or word == "null" or any(
            ch in word for ch in ',": '
        ) or not _encodable(word):
            raise ValueError(
                f"{owner}: choice {word!r} cannot be written bare in a query string "
                "(it must be non-empty text, not 'null', and hold no ',', '\"', ':' or space)"
            )


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _ops_text(ops: frozenset[Op]) -> str:
    names = [op.value for op in Op if op in ops]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


@dataclass(frozen=True, slots=True, eq=False)
class Filter:
    """A filter parameter on one column.

    ``ops`` defaults to every operator the type supports (ordered types: all nine; enum,
    bool and string: ``eq neq in nin``); ``min``/``max`` bound int and decimal operands
    (ints default to the signed 64-bit range); ``max_items`` caps ``in``/``nin`` lists;
    ``column`` is the SQL column (default: the name); ``choices`` are an enum's words.
    Filters compare by identity (they key the parse cache).
    """

    name: str
    type: TypeName
    nullable: bool = False
    column: str = ""
    ops: frozenset[Op] = frozenset()
    """Allowed operators; empty means every operator the type supports."""
    choices: tuple[str, ...] = ()
    max_items: int = 100
    min: int | Decimal | None = None
    max: int | Decimal | None = None
    max_digits: int | None = None
    """Decimal operands: most significant digits allowed (``None``: unlimited)."""
    _convert: Callable[[Filter, str], Value] = field(
        init=False, repr=False, compare=False, default=None  # type: ignore[assignment]
    )

    def __post_init__(self) -> None:
        kind = Type(self.type)
        object.__setattr__(self, "type", kind)
        if not self.column:
            object.__setattr__(self, "column", self.name)
        allowed = _ALL_OPS if kind.ordered else EQUALITY_OPS
        if not self.ops:
            object.__setattr__(self, "ops", allowed)
        bad = set(self.ops) - allowed
        if bad:
            raise ValueError(
                f"field {self.name!r} of type {kind.value} cannot take "
                f"{', '.join(sorted(op.value for op in bad))}"
            )
        object.__setattr__(self, "ops", frozenset(self.ops))
        if kind is Type.ENUM:
            if not self.choices:
                raise ValueError(f"enum field {self.name!r} needs choices")
            _check_words(f"enum field {self.name!r}", self.choices)
        if kind is Type.INT:
            if self.min is None:
                object.__setattr__(self, "min", INT64_MIN)
            if self.max is None:
                object.__setattr__(self, "max", INT64_MAX)
        if self.max_items < 1:
            raise ValueError(f"field {self.name!r}: max_items must be at least 1")
        object.__setattr__(self, "_convert", _CONVERTERS[kind])  # chosen once, not per value

    @property
    def kind(self) -> Type:
        """The field's :class:`Type` (``type`` may have been given as a string)."""
        assert isinstance(self.type, Type)
        return self.type

    # -- typing one operand -------------------------------------------------------------

    def convert(self, text: str, quoted: bool) -> Value:
        """The typed value of one operand's text; raises :class:`BadValue`."""
        if not quoted:
            if text == "null":
                if not self.nullable:
                    raise BadValue(f"is not allowed: {self.name} is never null")
                return None
            if " " in text and self.kind is not Type.DATETIME:
                raise BadValue(
                    "contains a space: spaces are allowed only directly around list commas"
                    + (' (quote a text value that holds spaces, as in "a b")'
                       if self.kind is Type.STRING else "")
                )
        return self._convert(self, text)

    def shape_problem(self, op: Op, count: int) -> str | None:
        """Why ``op`` with ``count`` operands cannot apply to this field (in words), or
        ``None``: the part of :meth:`problem` that needs no typed operand, so that a parser
        can stop before typing a thousand list items."""
        if op not in self.ops:
            default = _ALL_OPS if self.kind.ordered else EQUALITY_OPS
            why = (
                f"a {self.kind.value} field takes only {_ops_text(self.ops)}"
                if self.ops == default
                else f"{self.name} takes only {_ops_text(self.ops)}"
            )
            return f"operator '{op.value}' is not allowed for {self.name}: {why}"
        if op in LIST_OPS:
            if count > self.max_items:
                return (
                    f"'{op.value}' lists {count} items; {self.name} allows at most "
                    f"{self.max_items} in one list"
                )
        elif op is _BT:
            if count != 2:
                return f"'bt' takes exactly two operands, min,max; got {count}"
        elif count != 1:
            return f"'{op.value}' takes exactly one operand; got {count} (use in: for a list)"
        return None

    def problem(self, op: Op, operands: tuple[Value, ...]) -> str | None:
        """What else makes ``op operands`` invalid for this field, in words, or ``None``,
        once :meth:`shape_problem` passed and each operand came from :meth:`convert` (what
        the parser does first): ``null`` with an operator other than eq, neq, in and nin,
        and ``bt``'s emptiness (the lowering's answer).  A condition built by hand is
        checked by writing it as the canonical string does and parsing that back
        (:class:`~opfilter.query.Query`)."""
        if op not in NULL_OPS and None in operands:
            return f"null works only with eq, neq, in and nin, not with '{op.value}'"
        if op is _BT and between_is_empty(operands[0], operands[1], self.kind is _DATETIME):
            return "is an empty interval: its lower bound is after its upper bound"
        return None


def _convert_int(f: Filter, text: str) -> int:
    assert isinstance(f.min, int) and isinstance(f.max, int)
    return parse_int(text, f.min, f.max)


def _convert_decimal(f: Filter, text: str) -> Decimal:
    d = parse_decimal(text, f.max_digits)
    if (f.min is not None and d < f.min) or (f.max is not None and d > f.max):
        lo = "" if f.min is None else f" from {f.min}"
        hi = "" if f.max is None else f" up to {f.max}"
        raise BadValue(f"is out of range: expected a decimal number{lo}{hi}")
    return d


def _convert_string(f: Filter, text: str) -> str:
    if "\x00" in text:
        raise BadValue("contains a NUL character, which no value may hold")
    if not text.isascii() and not _encodable(text):
        raise BadValue("contains a lone surrogate, which is not text")
    return text


def _convert_bool(f: Filter, text: str) -> bool:
    if text == "true":
        return True
    if text == "false":
        return False
    raise BadValue("is not a boolean: expected true or false (lowercase)")


def _convert_enum(f: Filter, text: str) -> str:
    if text in f.choices:
        return text
    raise BadValue(f"is not one of the allowed values: expected one of {', '.join(f.choices)}")


_CONVERTERS: dict[Type, Callable[[Filter, str], Value]] = {
    Type.INT: _convert_int,
    Type.DECIMAL: _convert_decimal,
    Type.DATE: lambda f, text: parse_date(text),
    Type.DATETIME: lambda f, text: parse_datetime(text),
    Type.STRING: _convert_string,
    Type.BOOL: _convert_bool,
    Type.ENUM: _convert_enum,
}


@dataclass(frozen=True, slots=True)
class IntParam:
    """A plain integer parameter such as ``limit`` or ``offset``."""

    name: str
    default: int
    min: int = 0
    max: int = INT64_MAX

    def convert(self, text: str) -> int:
        return parse_int(text, self.min, self.max)

    @property
    def expected(self) -> str:
        return f"a bare integer from {self.min} to {self.max}"


@dataclass(frozen=True, slots=True)
class EnumParam:
    """A plain parameter taking one word; ``implies`` maps a word to the conditions it
    stands for (``deleted=exclude`` → ``deleted_at eq null``)."""

    name: str
    choices: tuple[str, ...]
    default: str
    implies: Mapping[str, tuple[Condition, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_words(f"parameter {self.name!r}", self.choices)
        if self.default not in self.choices:
            raise ValueError(f"parameter {self.name!r}: default {self.default!r} not a choice")
        object.__setattr__(self, "implies", MappingProxyType(dict(self.implies)))

    def convert(self, text: str) -> str:
        if text in self.choices:
            return text
        choices = ", ".join(self.choices)
        raise BadValue(f"is not one of the allowed values: expected one of {choices}")

    @property
    def expected(self) -> str:
        return f"one bare word: {', '.join(self.choices)}"


def Limit(default: int = 100, max: int = 100, name: str = "limit") -> IntParam:
    """The usual page-size parameter: ``1..max``, default ``default``."""
    return IntParam(name, default=default, min=1, max=max)


def Offset(name: str = "offset") -> IntParam:
    """The usual page-offset parameter: ``0..2^63-1``, default 0."""
    return IntParam(name, default=0, min=0, max=INT64_MAX)


Param: TypeAlias = Filter | IntParam | EnumParam


class Schema:
    """An ordered set of parameters plus the limits checked before parsing.

    ``strict``: unknown parameters are failures (default: ignored).
    ``max_value_length``: longest decoded parameter value (default 4,096 characters).
    ``max_query_length``: longest raw query string (default 16,384 characters).
    """

    __slots__ = (
        "_by_name", "defaults", "filter_by_name", "implications", "max_query_length",
        "max_value_length", "name", "params", "positions", "strict",
    )

    def __init__(
        self,
        *params: Param,
        strict: bool = False,
        max_value_length: int = 4096,
        max_query_length: int = 16384,
        name: str = "",
    ) -> None:
        self.params: tuple[Param, ...] = params
        self.strict = strict
        self.max_value_length = max_value_length
        self.max_query_length = max_query_length
        self.name = name
        self._by_name: dict[str, Param] = {}
        for p in params:
            if p.name in self._by_name:
                raise ValueError(f"parameter {p.name!r} declared twice")
            self._by_name[p.name] = p
        self.defaults: Mapping[str, int | str] = MappingProxyType(
            {p.name: p.default for p in params if not isinstance(p, Filter)}
        )
        """The plain parameters and their defaults (what a Query starts from)."""
        self.positions: Mapping[str, int] = MappingProxyType(
            {p.name: i for i, p in enumerate(params)}
        )
        """Each parameter's place in the canonical order."""
        self.filter_by_name: Mapping[str, Filter] = MappingProxyType(
            {p.name: p for p in params if isinstance(p, Filter)}
        )
        """The filter fields by name (what backends look up per condition)."""
        self.implications: tuple[tuple[str, Mapping[str, tuple[Condition, ...]]], ...] = tuple(
            (p.name, p.implies) for p in params if isinstance(p, EnumParam) and p.implies
        )
        """(plain parameter, word → the conditions it stands for), for Query.all_conditions"""
        for p in params:
            if isinstance(p, EnumParam):
                for conds in p.implies.values():
                    for c in conds:
                        if not isinstance(self._by_name.get(c.field), Filter):
                            raise ValueError(
                                f"{p.name!r} implies a condition on unknown {c.field!r}"
                            )

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.params)
        return f"<Schema {self.name or ''}({names})>".replace(" (", "(")

    def get(self, name: str) -> Param | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def filters(self) -> tuple[Filter, ...]:
        return tuple(p for p in self.params if isinstance(p, Filter))

    def field(self, name: str) -> Filter:
        p = self.filter_by_name.get(name)
        if p is None:
            raise KeyError(f"{name!r} is not a filter field of this schema")
        return p

    def replace(self, **changes: object) -> Schema:
        """A copy with some settings changed, e.g. ``SCHEMA.replace(strict=True)``."""
        kwargs: dict[str, object] = {
            "strict": self.strict,
            "max_value_length": self.max_value_length,
            "max_query_length": self.max_query_length,
            "name": self.name,
        }
        kwargs.update(changes)
        return Schema(*self.params, **kwargs)  # type: ignore[arg-type]
