"""Loading the one-case-per-line fixture files in tests/fixtures/, and helpers shared by
several test modules."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from opfilter import Query

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


def run_python(code: str) -> list[str]:
    """The lines ``code`` prints when run in a fresh interpreter (which must succeed; its
    stderr is the failure message): for what only a new process shows, such as which
    modules an import pulls in."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


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


# -- the oracle, and rows that hit a query's own operands ------------------------------------


def oracle(q: Query, row: dict[str, Any]) -> bool:
    """Whether ``row`` matches ``q`` by the lowering's plain interpreter (the oracle every
    backend is compared with)."""
    from opfilter.lowering import evaluate, lower

    return all(evaluate(lower(q.schema.field(c.field), c).meaning, row.get(c.field))
               for c in q.all_conditions())


def echo(q: Query) -> list[dict[str, Any]]:
    """Rows holding the query's own operands (and the edges of its whole-day operands), so
    that equalities and bounds are hit, not only missed."""
    us = timedelta(microseconds=1)
    out: list[dict[str, Any]] = []
    for c in q.all_conditions():
        datetimes = q.schema.field(c.field).kind.value == "datetime"
        for v in c.operands:
            if datetimes and type(v) is date:
                start = datetime(v.year, v.month, v.day, tzinfo=UTC)
                out.append({c.field: start})
                if v > date.min:
                    out.append({c.field: start - us})
                if v < date.max:
                    out.append({c.field: start + timedelta(days=1) - us})
            else:
                out.append({c.field: v})
    return out
