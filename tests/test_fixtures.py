"""Fixture-file tests: canonical identities, input → canonical, input → exact failures."""

from __future__ import annotations

import json

import pytest

from helpers import cases, lines
from opfilter import InvalidQuery, parse_query, to_query_string
from opfilter.streams import SCHEMA


@pytest.mark.parametrize("text", lines("identity.txt"))
def test_canonical_identity(text: str) -> None:
    q = parse_query(text, SCHEMA)
    assert to_query_string(q) == text
    assert parse_query(to_query_string(q), SCHEMA) == q


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
