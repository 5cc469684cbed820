"""Loading the one-case-per-line fixture files in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def lines(name: str) -> list[str]:
    """The non-comment lines of a fixture file (blank lines count only if they hold ' ==> ')."""
    out = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or (not line.strip() and "==>" not in line):
            continue
        out.append(line)
    return out


def cases(name: str) -> list[Any]:
    """``input  ==>  expected`` lines as pytest params, each its own test id."""
    out = []
    for line in lines(name):
        left, sep, right = line.partition("  ==>  ")
        if not sep:
            left, right = line.removesuffix("  ==>"), ""
        raw = left.strip(" ") if left.strip() else ""
        out.append(pytest.param(raw, right, id=left or "<empty>"))
    return out


# -- framework integrations (SPEC §9) ------------------------------------------------------

EMBED_QUERIES = [
    "",
    "project_id=1&project_id=in:2,3&limit=5",
    "project_id=ge:1&updated_at=2024-02-30&limit=500&deleted=eq:include",
    "limit=abc",
    "limit=1&limit=2",
    "project_id=%FF",
    "project_id",
    "limit",
    "updated_at=gte:2024-06-15T10:00:00+02:00",
    "updated_at=gte:2024-06-15T10:00:00%2B02:00&deleted=only",
    "project_id=%C3%A9",
    "offset=99999999999999999999",
    "deleted_at=in:null,2024-01-01&deleted=include",
]
"""Raw query strings every integration must answer exactly as the reference does."""


def reference_answer(query: str) -> tuple[int, bytes]:
    """(status, body) of the reference parse: 200 with the canonical string, or the 400."""
    from opfilter import InvalidQuery, parse_query, to_query_string
    from opfilter.streams import SCHEMA

    try:
        q = parse_query(query.encode("ascii"), SCHEMA)
    except InvalidQuery as e:
        return 400, e.json()
    return 200, to_query_string(q).encode()
