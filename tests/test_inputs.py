"""Input decoding, limits and the grammar-derived regexes (regressions of issue 11's list)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opfilter import InvalidQuery, parse_query, to_query_string
from opfilter.backends.querystring import _NEEDS_QUOTES
from opfilter.inputs import Undecodable, decode, raw_length
from opfilter.parser import OPERATOR_RE, _parser, terminal_pattern
from opfilter.streams import SCHEMA
from schemas import ALL_TYPES

# -- the fast percent-decoder is unquote() -----------------------------------------------------

_PIECES = [*'%+:,"aZ09 -_.~é', "%3A", "%2C", "%2B", "%20", "%22", "%25", "%C3%A9", "%E9",
           "%ZZ", "%2", "%c3%a9", "%3a"]
_RAW = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@given(st.one_of(_RAW, st.text(max_size=30)))
def test_decode_is_unquote(part: str) -> None:
    try:
        expected: str | None = unquote(part.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        expected = None
    got = decode(part)
    if expected is None:
        assert isinstance(got, Undecodable) and got.raw == part
    else:
        assert got == expected


# -- operator names: the grammar's terminal, used everywhere -----------------------------------


def test_operator_regex_is_the_grammars_terminal() -> None:
    lark = _parser().lark
    for name in ("OPERATOR", "BARE", "_SEP", "QUOTED"):
        assert terminal_pattern(name) == lark.get_terminal(name).pattern.to_regexp()
    assert OPERATOR_RE.pattern == terminal_pattern("OPERATOR")
    assert OPERATOR_RE.pattern in _NEEDS_QUOTES.pattern
    with pytest.raises(LookupError):
        terminal_pattern("NOPE")


@pytest.mark.parametrize(("value", "suggestion"), [("not_in:1,2", "nin"), ("Not_In:1", "nin")])
def test_not_in_alias_fires(value: str, suggestion: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_query(f"project_id={value}", SCHEMA)
    op = value.partition(":")[0]
    assert info.value.failures == [{
        "field": "project_id",
        "message": f"project_id: unknown operator '{op}' — did you mean '{suggestion}'?",
    }]


def test_strings_that_look_like_operators_are_quoted_in_canonical_form() -> None:
    q = parse_query('s="a_b:c"', ALL_TYPES)
    assert to_query_string(q) == "s=eq:%22a_b:c%22"
    assert parse_query(to_query_string(q), ALL_TYPES) == q
    with pytest.raises(InvalidQuery):  # bare, it is an (unknown) operator
        parse_query("s=a_b:c", ALL_TYPES)


# -- the raw length limit counts characters, for str and bytes alike ---------------------------


@pytest.mark.parametrize("form", [str, lambda s: s.encode("utf-8")])
def test_raw_length_counts_characters(form: object) -> None:
    limit = SCHEMA.max_query_length
    value = "é" * (limit - len("x="))  # 2 bytes per character in UTF-8
    ok = form("x=" + value)  # type: ignore[operator]
    assert raw_length(ok) == limit
    assert parse_query(ok, SCHEMA) == parse_query("", SCHEMA)
    assert raw_length(form("?x=" + value)) == limit  # type: ignore[operator]
    over = form("x=" + value + "é")  # type: ignore[operator]
    with pytest.raises(InvalidQuery) as info:
        parse_query(over, SCHEMA)
    assert info.value.failures == [{
        "field": "query",
        "message": f"the query string is {limit + 1} characters long; at most {limit} "
        "are allowed",
    }]


def test_raw_length_of_undecodable_bytes() -> None:
    assert raw_length(b"?a=\xff\xfe") == 4


# -- an unknown parameter is ignored whole, whatever its bytes ---------------------------------


@pytest.mark.parametrize("query", [b"x%FF=1&limit=5", b"x\xff=1&limit=5", "x%FF=1&limit=5",
                                   b"x%FF=%FF&limit=5"])
def test_undecodable_unknown_names_are_ignored(query: str | bytes) -> None:
    assert parse_query(query, SCHEMA).limit == 5
    with pytest.raises(InvalidQuery) as info:
        parse_query(query, SCHEMA, strict=True)
    (failure,) = info.value.failures
    assert failure["message"].startswith("unknown parameter 'x")
    assert "not valid UTF-8" in failure["message"]
