"""The typed AST: one operator enum, frozen slotted nodes, typed operand values.

A filter parameter value such as ``bt:2024-01-01,2024-01-31T12:00:00Z`` becomes one
:class:`Condition`: the schema field it constrains, an :class:`Op`, and a tuple of typed
operands.  Operand values are plain, typed Python values:

============  ===========================================================
field type    operand values
============  ===========================================================
int           ``int``
decimal       ``decimal.Decimal``
date          ``datetime.date``
datetime      aware ``datetime.datetime`` (an instant), or a bare
              ``datetime.date`` meaning that whole UTC day
enum, string  ``str``
bool          ``bool``
any nullable  ``None`` for ``null``
============  ===========================================================

Source positions (:class:`Span`) are kept for error messages and left out of equality.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "EQUALITY_OPS", "LIST_OPS", "NULL_OPS", "ORDER_OPS", "Condition", "Op", "Span", "Type", "Value",
]

Value: TypeAlias = int | Decimal | date | datetime | str | bool | None
"""A typed operand; ``None`` is ``null``.  ``datetime`` is checked before ``date``."""


class Op(enum.Enum):
    """The nine filter operators; the value is the name written in a query."""

    EQ = "eq"
    NEQ = "neq"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NIN = "nin"
    BT = "bt"

    # Members are singletons: identity hashing (in C) instead of Enum's hash(self._name_),
    # which shows up in profiles of set membership tests on the parse path.
    __hash__ = object.__hash__


class Type(enum.Enum):
    """The type of a filter field."""

    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    STRING = "string"
    BOOL = "bool"
    ENUM = "enum"

    __hash__ = object.__hash__  # as for Op: identity hashing, in C (backends key tables on it)

    @property
    def ordered(self) -> bool:
        return self in _ORDERED


_ORDERED = frozenset({Type.INT, Type.DECIMAL, Type.DATE, Type.DATETIME})
ORDER_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BT})
"""Operators that need an ordered type (int, decimal, date, datetime)."""
LIST_OPS = frozenset({Op.IN, Op.NIN})
EQUALITY_OPS = frozenset({Op.EQ, Op.NEQ, Op.IN, Op.NIN})
"""The operators every field type takes (enum, bool and string take only these)."""
NULL_OPS = EQUALITY_OPS
"""Operators that accept ``null`` (on nullable fields): the equality operators."""


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open ``[start, end)`` character range in the decoded parameter value."""

    start: int
    end: int

    @property
    def column(self) -> int:
        """1-based column of the start, as error messages show it."""
        return self.start + 1


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """``field op operands``: one occurrence of one filter parameter.

    ``spans`` has one entry per operand (empty when the condition was built by hand).
    Equality is type-aware: ``1``, ``True`` and ``Decimal(1)`` are different operands,
    and so are a ``date`` and a ``datetime``.
    """

    field: str
    op: Op
    operands: tuple[Value, ...]
    spans: tuple[Span, ...] = _field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.operands, tuple):
            object.__setattr__(self, "operands", tuple(self.operands))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return (
            self.field == other.field
            and self.op is other.op
            and len(self.operands) == len(other.operands)
            and all(type(a) is type(b) and a == b
                    for a, b in zip(self.operands, other.operands, strict=True))
        )

    def __hash__(self) -> int:  # equal conditions have equal plain tuples
        return hash((self.field, self.op, self.operands))
