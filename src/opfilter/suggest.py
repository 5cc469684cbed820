"""Suggestions for what a user probably meant: operator names (SPEC §2) and ignored
parameters that look like a known one (SPEC §8)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .nodes import Op
from .schema import Filter

if TYPE_CHECKING:
    from .schema import Schema

__all__ = [
    "SYMBOL_OPS",
    "LookAlike",
    "distance",
    "list_key",
    "look_alike",
    "look_alike_message",
    "operator_message",
]

_OPS = {op.value: op for op in Op}
_ALIASES = {"ne": "neq", "ge": "gte", "le": "lte", "between": "bt", "not_in": "nin", "notin": "nin"}


def operator_message(name: str) -> str:
    """SPEC §2's message with its suggestion: alias, case, edit distance, or the list."""
    suggestion = _ALIASES.get(name) or _ALIASES.get(name.lower())
    if suggestion is None and name.lower() in _OPS:
        suggestion = name.lower()
    if suggestion is None:
        best = min(_OPS, key=lambda op: (distance(name.lower(), op), op))
        if distance(name.lower(), best) <= min(2, max(1, len(name) - 1)):
            suggestion = best
    if suggestion is not None:
        return f"unknown operator '{name}' — did you mean '{suggestion}'?"
    return f"unknown operator '{name}': expected one of {', '.join(_OPS)}"


def distance(a: str, b: str) -> int:
    """Levenshtein distance (the names are a few letters long)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# -- parameters that look like a known one (SPEC §8) -------------------------------------------

# Operator words that clients put in a parameter's name (qs/Strapi `[$gte]`, JSON:API
# `[gte]`, django-filter `__gte`, dotted `.gte`), and comparison characters glued to it.
_NAME_OPS = {
    **{op: op for op in _OPS},
    **_ALIASES,
    "exact": "eq", "equals": "eq", "notequals": "neq", "lessthan": "lt", "greaterthan": "gt",
    "lessthanorequal": "lte", "greaterthanorequal": "gte", "range": "bt", "isnull": "isnull",
}
SYMBOL_OPS = {">=": "gte", "=>": "gte", "<=": "lte", "=<": "lte", "!=": "neq", "<>": "neq",
              ">": "gt", "<": "lt", "!": "neq", "==": "eq", "=": "eq"}
"""Comparison signs users write for an operator (in a name here, in a value in fixit)."""
_PIECES = re.compile(r"[^\[\].]+")
_SYMBOLS = re.compile(r"([^<>!=]+)([<>!=]+)(.*)\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LookAlike:
    """An ignored parameter's likely meaning: the known ``name``, and what to write."""

    name: str
    rewrite: str
    """What to write instead, as a sentence."""
    value: str | None = None
    """The value proposed for ``name`` (``None`` if the user gave none)."""


def _squash(name: str) -> str:
    """The name without case, ``_``, ``-`` and spaces: camelCase and kebab-case meet."""
    return name.replace("_", "").replace("-", "").replace(" ", "").lower()


@lru_cache(maxsize=1024)
def _known(piece: str, schema: Schema) -> str | None:
    """The known parameter ``piece`` spells, by case/camelCase/kebab-case or a small typo
    (edit distance 1, or 2 for names of 8 letters or more; names of 5 letters or more)."""
    if piece in schema:
        return piece
    squashed = _squash(piece)
    if not squashed:
        return None
    targets = [(_squash(p.name), p.name) for p in schema.params]
    for target, name in targets:
        if squashed == target:
            return name
    best: tuple[int, str] | None = None
    for target, name in targets:
        allowed = 1 if len(target) < 8 else 2
        if len(target) >= 5 and abs(len(target) - len(squashed)) <= allowed:
            d = distance(squashed, target)
            if d <= allowed and (best is None or d < best[0]):
                best = (d, name)
    return None if best is None else best[1]


def _op_word(word: str) -> str | None:
    return _NAME_OPS.get(word.lstrip("$").replace("_", "").lower()) or _NAME_OPS.get(word)


def look_alike(name: str, value: str, values: list[str], schema: Schema) -> LookAlike | None:
    """What the unknown parameter ``name`` (given ``value``; ``values`` are all the values
    given to that same name) most likely meant, or ``None`` if it resembles nothing known.

    Tried in order: a pasted URL (the part after its ``?``), comparison characters glued to
    the name (``updated_at>`` from ``updated_at>=…``), bracket and dotted forms
    (``project_id[]``, ``filter[project_id]``, ``filters[project_id][$gte]``,
    ``project_id.gte``), django-filter's ``project_id__gte``, then other spellings.
    """
    if "://" in name and "?" not in name:
        return None  # a pasted URL without a query string: nothing to point at
    if "?" in name:
        tail = name.rpartition("?")[2]
        found = look_alike(tail, value, values, schema) if tail else None
        if found is None and tail in schema:
            found = _rewrite(schema, tail, None, value, values)
        if found is None:
            return None
        return LookAlike(found.name, found.rewrite[:-1] + " (only the query string, after the "
                         "'?').", found.value)
    m = _SYMBOLS.match(name)
    if m is not None:
        known = _known(m[1], schema)
        if known is None:
            return None
        symbols = m[2] + ("=" if m[3] == "" and not m[2].endswith("=") else "")
        op = SYMBOL_OPS.get(symbols) or SYMBOL_OPS.get(m[2])
        operand = m[3] + value if m[3] else value
        return _rewrite(schema, known, op, operand, [operand])
    pieces = _PIECES.findall(name)
    if "__" in name and len(pieces) == 1:
        pieces = [x for x in name.split("__") if x]
    if not pieces:
        return None
    known = None
    op = None
    for piece in pieces:
        if known is None and (spelt := _known(piece, schema)) is not None:
            known = spelt
        elif (word := _op_word(piece)) is not None:
            op = word
    if known is None or (known == name):
        return None
    if op == "isnull" and value in ("true", "false", "1", "0", "True", "False"):
        op, value = ("eq" if value in ("true", "1", "True") else "neq"), "null"
    elif op == "isnull":
        op = None
    return _rewrite(schema, known, op, value, values)


def _rewrite(schema: Schema, known: str, op: str | None, value: str,
             values: list[str]) -> LookAlike:
    param = schema[known]
    if op is None and len(values) > 1 and "" not in values and isinstance(param, Filter):
        shown = ",".join(values[:5]) + (",…" if len(values) > 5 else "")
        return LookAlike(known, f"For any of these values write {known}=in:{shown}.",
                         "in:" + ",".join(values) if len(values) <= 5 else None)
    if not value:
        return LookAlike(known, f"Write {known}={op + ':' if op else ''}….")
    proposed = value if op is None or not isinstance(param, Filter) else f"{op}:{value}"
    return LookAlike(known, f"Write {known}={proposed}.", proposed)


def look_alike_message(name: str, found: LookAlike, *, strict: bool) -> str:
    """The warning (ignored) or strict-mode failure for a look-alike parameter."""
    head = f"unknown parameter '{name}'" if strict else f"'{name}' is not a parameter of " \
        "this endpoint and is ignored"
    return f"{head} — did you mean '{found.name}'? {found.rewrite}"


_INDEX = re.compile(r"\[[0-9]*\]")


def list_key(name: str) -> str:
    """Names that are elements of one list share a key: ``a[]``, ``a[0]``, ``a[1]`` (PHP
    ``http_build_query``, jQuery ``$.param``, qs); any other name is its own key."""
    return _INDEX.sub("[]", name) if "[" in name else name
