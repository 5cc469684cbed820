"""Suggestions for what a user probably meant: operator names (SPEC §2)."""

from __future__ import annotations

from .nodes import Op

__all__ = ["distance", "operator_message"]

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
