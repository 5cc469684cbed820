"""Fixture-file tests: canonical identities, input → canonical, input → exact failures."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from helpers import cases, lines
from opfilter import InvalidQuery, parse_query, to_predicate, to_query_string, to_sql
from opfilter.backends.sql import sqlite_value
from opfilter.lowering import evaluate, lower
from opfilter.streams import SCHEMA


@pytest.mark.parametrize("text", lines("identity.txt"))
def test_canonical_identity(text: str) -> None:
    q = parse_query(text, SCHEMA)
    assert to_query_string(q) == text
    assert parse_query(to_query_string(q), SCHEMA) == q


def _sqlite_table() -> sqlite3.Connection:
    """The endpoint's rows as SQLite stores them for to_sql (fixed-width UTC text)."""
    db = sqlite3.connect(":memory:")
    cols = [f.column for f in SCHEMA.filters]
    db.execute(f"CREATE TABLE t (id INTEGER, {', '.join(cols)})")
    for i, row in enumerate(ROWS):
        db.execute(f"INSERT INTO t VALUES (?, {', '.join('?' * len(cols))})",
                   [i, *(sqlite_value(f, row.get(f.name)) for f in SCHEMA.filters)])
    return db


# Rows around the values identity.txt uses: ids 0..9 and int64 edges, instants at day
# boundaries of 2024-01-01 / 2024-06-15 (UTC), with and without deletion times.
_T = [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
      datetime(2024, 6, 15, 8, tzinfo=UTC), datetime(2024, 6, 15, 10, 30, tzinfo=UTC),
      datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
_IDS = [0, 1, 2, 3, 5, 7, 10, -5, 2**63 - 1, -(2**63)]
ROWS = [
    {"project_id": _IDS[i % 10], "stream_id": _IDS[(i * 3) % 10],
     "production_plan_id": _IDS[(i * 7) % 10], "updated_at": _T[i % 6],
     "deleted_at": None if i % 3 == 0 else _T[(i * 5) % 6]}
    for i in range(60)
]


@pytest.mark.parametrize("text", lines("identity.txt"))
def test_identity_cases_agree_across_backends(text: str) -> None:
    """Each identity case as a smoke test of the backends: SQLite (real) and the
    predicate select the same rows, and so does the lowering's plain interpreter."""
    q = parse_query(text, SCHEMA)
    pred = to_predicate(q)
    expected = [i for i, row in enumerate(ROWS) if pred(row)]
    lowered = [lower(SCHEMA.field(c.field), c) for c in q.all_conditions()]
    assert expected == [i for i, row in enumerate(ROWS)
                        if all(evaluate(k.meaning, row.get(k.field.name)) for k in lowered)]
    where, params = to_sql(q, "sqlite")
    got = [r[0] for r in _sqlite_table().execute(f"SELECT id FROM t WHERE {where} ORDER BY id",
                                                 params)]
    assert got == expected


@pytest.mark.parametrize(("raw", "expected"), cases("canonical.txt"))
def test_input_to_canonical(raw: str, expected: str) -> None:
    q = parse_query(raw, SCHEMA)
    assert to_query_string(q) == expected
    assert q == parse_query(expected, SCHEMA)


@pytest.mark.parametrize(("raw", "expected"), cases("invalid.txt"))
def test_invalid_failures(raw: str, expected: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_query(raw, SCHEMA)
    assert info.value.failures == json.loads(expected)
    assert info.value.body == {
        "key": "invalid_data",
        "message": "You provided invalid data. Check 'failures' for details.",
        "failures": json.loads(expected),
    }
