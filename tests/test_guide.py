"""SPEC §8: warnings, strict mode and fix-it messages, against tests/fixtures/mistakes.txt."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import cases, lines
from opfilter import InvalidQuery, Query, parse_query, to_query_string
from opfilter.fixit import FIXITS
from opfilter.streams import SCHEMA
from opfilter.testing import queries
from schemas import ALL_TYPES

MISTAKES = cases("mistakes.txt")
_SUGGESTION = re.compile(r" — did you mean .*\Z")


def test_the_mistakes_fixture_is_large_enough() -> None:
    assert len(MISTAKES) >= 40


@pytest.mark.parametrize(("raw", "expected"), MISTAKES)
def test_mistake(raw: str, expected: str) -> None:
    told = json.loads(expected)
    if "failures" in told:
        with pytest.raises(InvalidQuery) as info:
            parse_query(raw, SCHEMA)
        assert info.value.failures == told["failures"]
    else:
        q = parse_query(raw, SCHEMA)
        assert q.warnings == told["warnings"]


@pytest.mark.parametrize(("raw", "expected"), MISTAKES)
def test_strict_mode_turns_look_alikes_into_failures(raw: str, expected: str) -> None:
    look_alikes = [w for w in json.loads(expected).get("warnings", ())
                   if w["field"] not in SCHEMA]
    if not look_alikes:
        return
    with pytest.raises(InvalidQuery) as info:
        parse_query(raw, SCHEMA, strict=True)
    assert [f["field"] for f in info.value.failures] == [w["field"] for w in look_alikes]
    for failure, warning in zip(info.value.failures, look_alikes, strict=True):
        assert failure["message"].startswith(f"unknown parameter '{failure['field']}'")
        assert _SUGGESTION.search(failure["message"])[0] == (  # type: ignore[index]
            _SUGGESTION.search(warning["message"])[0]  # type: ignore[index]
        )


def test_every_fix_it_kind_has_a_fixture_line() -> None:
    told = [line.partition("  ==>  ")[2] for name in ("mistakes.txt", "invalid.txt")
            for line in lines(name)]
    for rule in FIXITS:
        assert any(rule.problem in t for t in told), f"no fixture line shows {rule.kind!r}"


@pytest.mark.parametrize(("raw", "expected"), MISTAKES)
def test_a_proposed_rewrite_is_accepted(raw: str, expected: str) -> None:
    """Every 'write X' a message proposes is itself a valid query."""
    for item in [*json.loads(expected).get("failures", ()),
                 *json.loads(expected).get("warnings", ())]:
        m = re.search(r"[Ww]rite (\S+?)(?:\.| \(|\Z| for)", item["message"])
        if m is None or "…" in m[1]:
            continue
        # strict: a proposed name that is not a parameter must fail, not be ignored
        if "not valid either" in item["message"]:  # the advice says the value fails too
            with pytest.raises(InvalidQuery) as info:
                parse_query(m[1], SCHEMA, strict=True)
            name = m[1].partition("=")[0]
            assert [f["field"] for f in info.value.failures] == [name]  # the value, not the name
            assert name in SCHEMA
        else:
            parse_query(m[1], SCHEMA, strict=True)  # raises if the advice were wrong


_NOISE = st.sampled_from([
    "project_id[]=1", "filter[project_id]=2", "updated_at>=2024-01-01", "projectId=5",
    "Limit=5", "http://h/p?limit=3", "project_id__in=1,2", "x=1", "Project_ID=7",
    "http://h/p=1", "x?a://b=1",
])


@given(queries(SCHEMA), st.lists(_NOISE, max_size=3))
def test_warnings_never_change_the_query(q: Query, noise: list[str]) -> None:
    canonical = to_query_string(q)
    noisy = parse_query("&".join([canonical, *noise]), SCHEMA)
    assert to_query_string(noisy) == canonical
    assert noisy == q and hash(noisy) == hash(q)
    silent = ("x=1", "http://h/p=1", "x?a://b=1")  # resemble no parameter: no warning
    assert len([w for w in noisy.warnings if w["field"] not in SCHEMA]) == len(noise) - sum(
        noise.count(n) for n in silent)
    assert parse_query(canonical, SCHEMA).warnings == [
        w for w in noisy.warnings if w["field"] in SCHEMA
    ]


@given(queries(SCHEMA))
def test_a_contradiction_warning_is_never_wrong(q: Query) -> None:
    """A field warned about really matches no row: its conditions (and what plain
    parameters imply) have an empty intersection by the lowering's own interpreter."""
    from datetime import date, datetime

    from opfilter.lowering import evaluate, lower

    for name in {w["field"] for w in q.warnings}:
        f = SCHEMA.field(name)
        conds = [c for c in q.all_conditions() if c.field == name]
        meanings = [lower(f, c).meaning for c in conds]
        # the operands (instants, not whole days) and NULL are the likeliest witnesses
        witnesses = [None, *(v for c in conds for v in c.operands
                             if not (isinstance(v, date) and not isinstance(v, datetime)
                                     and f.kind.value == "datetime"))]
        for v in witnesses:
            assert not all(evaluate(m, v) for m in meanings)


def test_a_clean_query_has_no_warnings() -> None:
    assert parse_query("project_id=in:1,2&updated_at=gte:2024-01-01&limit=5", SCHEMA).warnings \
        == []


def test_the_quote_hint_is_given_for_text_fields_only() -> None:
    """An unexpected space suggests quoting only where a quoted text value is one: also in
    a look-alike's warning, which quotes that value's own failure."""
    (w,) = parse_query([("project_ids", '"1" 2')], SCHEMA).warnings  # an int field
    assert "unexpected space at column 4" in w["message"]
    assert "quote a text value" not in w["message"]
    with pytest.raises(InvalidQuery) as info:
        parse_query([("s", '"a" b')], ALL_TYPES)
    assert info.value.failures[0]["message"].endswith(
        "spaces are allowed only directly around list commas (quote a text value that holds "
        "spaces)")
