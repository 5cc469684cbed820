"""Messages that say how to fix a common mistake (SPEC §8).

When a value fails, each rule of :data:`FIXITS` proposes a corrected value (the user's
own value, repaired); the first proposal that the field really accepts replaces the
generic failure message with ``'<value>' <what is wrong>: write <name>=<corrected>``.  A
proposal is never shown unless it parses, so a fix-it can only make a message more
precise, never wrong.  Rules run only on failures: a valid query pays nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .parser import OPERATOR_RE
from .suggest import SYMBOL_OPS

__all__ = ["FIXITS", "FixIt", "fix_message"]


@dataclass(frozen=True, slots=True)
class FixIt:
    """One kind of common mistake: ``rewrite`` repairs a value (or gives ``None``)."""

    kind: str
    problem: str
    """What is wrong, in words, read after the quoted value."""
    rewrite: Callable[[str], str | None]


# the signs, longest first (so that `>=` is not read as `>`)
_SIGNS = "|".join(re.escape(sign) for sign in sorted(SYMBOL_OPS, key=len, reverse=True))
_SYMBOL = re.compile(rf"({_SIGNS})(.+)\Z", re.DOTALL)


def _symbol(text: str) -> str | None:
    """``>=2024-01-01`` → ``gte:2024-01-01`` (a comparison sign glued to the value)."""
    m = _SYMBOL.match(text)
    return None if m is None else f"{SYMBOL_OPS[m[1]]}:{m[2]}"


_BRACKETED = re.compile(rf"((?:{OPERATOR_RE.pattern})?)\s*[\[(]\s*(.*?)\s*[\])]\Z", re.DOTALL)


def _brackets(text: str) -> str | None:
    """``in:[1,2]`` → ``in:1,2`` (JSON-style or tuple-style lists)."""
    m = _BRACKETED.match(text)
    return None if m is None or not m[2] else f"{m[1]}{m[2]}"


_LOOSE_DATETIME = re.compile(
    r"([0-9]{4})[-/]([0-9]{2})[-/]([0-9]{2})[ Tt_]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})"
    r"(\.[0-9]+)?)?\s*([Zz]|[+\- ][0-9]{2}:?[0-9]{2}|UTC|GMT)?"
)


def _one_datetime(m: re.Match[str]) -> str:
    year, month, day, hour, minute, second, frac, off = m.groups()
    if off is None or off in ("z", "Z", "UTC", "GMT"):
        zone = "Z"
    else:
        sign = "+" if off[0] == " " else off[0]
        digits = off[1:].replace(":", "")
        zone = f"{sign}{digits[:2]}:{digits[2:]}"
    return (f"{year}-{month}-{day}T{int(hour):02d}:{minute}:{second or '00'}{frac or ''}"
            f"{zone}")


def _datetime(text: str) -> str | None:
    """``2024-01-01 10:00`` → ``2024-01-01T10:00:00Z``: a space or ``t`` for ``T``, no
    seconds, lowercase ``z``, ``UTC``, an offset without its ``:``."""
    fixed = _LOOSE_DATETIME.sub(_one_datetime, text)
    return None if fixed == text else fixed


_AROUND = re.compile(r" *([:,]) *")


def _spaces(text: str) -> str | None:
    """``in: 1, 2`` → ``in:1,2`` (spaces where the grammar allows none)."""
    fixed = _AROUND.sub(r"\1", text).strip(" ")
    return None if fixed == text or not fixed else fixed


_LITERALS = {"None": "null", "NULL": "null", "Null": "null", "nil": "null",
             "True": "true", "TRUE": "true", "False": "false", "FALSE": "false"}
_WORD = re.compile(r"[A-Za-z]+")


def _literals(text: str) -> str | None:
    """``None`` → ``null``, ``True`` → ``true`` (what ``str()`` of a Python value gives)."""
    fixed = _WORD.sub(lambda m: _LITERALS.get(m[0], m[0]), text)
    return None if fixed == text else fixed


def _case(text: str) -> str | None:
    """``Include`` → ``include`` (enum words and booleans are case-sensitive)."""
    return text.lower() if text.isalpha() and not text.islower() else None


FIXITS: tuple[FixIt, ...] = (
    FixIt("comparison sign", "compares with a sign: operators are words (gt: gte: lt: lte: "
          "eq: neq:)", _symbol),
    FixIt("brackets", "has brackets around its list: drop the brackets", _brackets),
    FixIt("date-time form", "is not written YYYY-MM-DDTHH:MM:SS with Z or an offset ±HH:MM",
          _datetime),
    FixIt("spaces", "has spaces (a raw '+' is a space): spaces are allowed only directly "
          "around list commas",
          _spaces),
    FixIt("python literal", "spells null, true or false another way: they are lowercase",
          _literals),
    FixIt("case", "is in the wrong case: words are case-sensitive", _case),
)
"""Every kind of fix-it, in the order they are tried (tests walk this table)."""


def fix_message(name: str, text: str, accepts: Callable[[str], bool]) -> str | None:
    """The fix-it message for parameter ``name`` given ``text`` (which failed), or ``None``
    when no rule's proposal is accepted by ``accepts``.  Each proposal is parsed: the
    caller keeps this to short values (long ones are not typed by hand)."""
    for i, rule in enumerate(FIXITS):
        fixed = rule.rewrite(text)
        if fixed is None:
            continue
        # one mistake often comes with another (`in:[1, 2]`): let later rules finish it
        for later in (None, *FIXITS[i + 1 :]):
            candidate = fixed if later is None else later.rewrite(fixed)
            if candidate is not None and accepts(candidate):
                return f"{name}: '{text}' {rule.problem} — write {name}={candidate}"
    return None
