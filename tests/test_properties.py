"""Hypothesis properties of parsing and canonical strings (SPEC §2–3)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opfilter import InvalidQuery, Query, Schema, parse_query, to_query_string
from opfilter.parser import SyntaxProblem, _parser
from opfilter.streams import SCHEMA
from opfilter.testing import invalid_query_strings, noisy_query_strings, queries
from schemas import ALL_TYPES

SCHEMAS = [pytest.param(SCHEMA, id="streams"), pytest.param(ALL_TYPES, id="all-types")]


@pytest.mark.parametrize("schema", SCHEMAS)
@given(data=st.data())
def test_round_trip(schema: Schema, data: st.DataObject) -> None:
    q = data.draw(queries(schema))
    text = to_query_string(q)
    back = parse_query(text, schema)
    assert back == q
    assert back.conditions == q.conditions  # structurally too, not only by canonical text
    assert dict(back.params) == dict(q.params)
    assert to_query_string(back) == text  # a fixed point


@pytest.mark.parametrize("schema", SCHEMAS)
@given(data=st.data())
def test_every_spelling_parses_to_the_same_query(schema: Schema, data: st.DataObject) -> None:
    raw, expected = data.draw(noisy_query_strings(schema))
    got = parse_query(raw, schema)
    assert got == expected
    assert got.conditions == expected.conditions


@pytest.mark.parametrize("schema", SCHEMAS)
@given(data=st.data())
def test_invalid_queries_report_every_failure_in_order(schema: Schema, data: st.DataObject) -> None:
    raw, fields = data.draw(invalid_query_strings(schema))
    with pytest.raises(InvalidQuery) as info:
        parse_query(raw, schema)
    assert [f["field"] for f in info.value.failures] == fields
    for f in info.value.failures:
        assert f["message"].startswith(f["field"] + ": ")
        assert "'" in f["message"]  # the offending text is quoted


def _only_invalid_query(query: Any, schema: Schema = SCHEMA) -> None:
    try:
        q = parse_query(query, schema)
    except InvalidQuery as e:
        failures = e.failures
    else:
        assert isinstance(q, Query)
        assert parse_query(to_query_string(q), schema) == q
        return
    assert failures
    assert all(set(f) == {"field", "message"} for f in failures)


_NAMES = st.sampled_from([*(p.name for p in SCHEMA.params), "x", ""])
_PIECES = st.sampled_from([*',:"\\ +%&=?#', "%2", "%ZZ", "%E9", "%C3%A9", "%00", "eq:", "in:",
                           "bt:", "null", "2024-01-01", "T00:00:00", "Z", "+02:00", "9" * 25,
                           "\u00e9", "\ud7ff"])


@given(st.text())
def test_arbitrary_text_raises_only_invalid_query(text: str) -> None:
    _only_invalid_query(text)


@given(st.binary())
def test_arbitrary_bytes_raise_only_invalid_query(raw: bytes) -> None:
    _only_invalid_query(raw)
    _only_invalid_query(raw.decode("utf-8", "replace"))


@given(st.lists(st.tuples(_NAMES, st.lists(_PIECES, max_size=8).map("".join)), max_size=6))
def test_percent_garbage_raises_only_invalid_query(pairs: list[tuple[str, str]]) -> None:
    _only_invalid_query("&".join(f"{n}={v}" for n, v in pairs))
    _only_invalid_query(pairs)  # already decoded: never decoded again
    _only_invalid_query(pairs, ALL_TYPES)


@given(st.lists(st.tuples(_NAMES, st.text()), max_size=6))
def test_decoded_pairs_raise_only_invalid_query(pairs: list[tuple[str, str]]) -> None:
    _only_invalid_query(pairs)
    _only_invalid_query(dict(pairs))
    _only_invalid_query(pairs, ALL_TYPES)


@pytest.mark.parametrize(
    "text",
    [
        "project_id=" + "1" * 5000,
        "project_id=in:" + ",".join(["1"] * 2000),
        "updated_at=" + '"' * 4000,
        "x" * 16384,
        "x" * 16385,
        "&" * 16000,
        "project_id=" + "%" * 4096,
        "s=" + '"' + "\\\"" * 2000 + '"',
    ],
)
def test_huge_inputs_raise_only_invalid_query(text: str) -> None:
    _only_invalid_query(text)
    _only_invalid_query(text, ALL_TYPES)


@given(st.text(st.sampled_from('ab1 ,:"\\-Tn'), max_size=30))
def test_fast_path_agrees_with_lark(text: str) -> None:
    p = _parser()
    fast = p.fast(text)
    try:
        slow = p.slow(text)
    except SyntaxProblem:
        assert fast is None
        return
    if fast is not None:
        assert fast == slow
    else:
        assert '"' in text  # the fast path declines only quoted input it can't split
