"""InvalidQuery.json(): the 400 body as the reference server writes it (SPEC §9)."""

from __future__ import annotations

import json

from hypothesis import given

from opfilter import InvalidQuery, parse_query
from opfilter.errors import CONTENT_TYPE
from opfilter.streams import SCHEMA
from opfilter.streams.endpoint import PATH, SUPPORTED_VERSION, handle
from opfilter.streams.store import MemoryStore
from opfilter.streams.world import Company, User, World
from opfilter.testing import invalid_query_strings

_WORLD = World(
    [Company("acme", True)],
    [User(1, "tok", {"acme": frozenset({"production_plan.view", "production_plan.view_other"})})],
    [],
    [],
)
_STORE = MemoryStore(_WORLD)
_HEADERS = {"Authorization": "Bearer tok", "Wethod-Company": "acme",
            "Wethod-Version": SUPPORTED_VERSION}


def _error(query: str | bytes) -> InvalidQuery:
    try:
        parse_query(query, SCHEMA)
    except InvalidQuery as e:
        return e
    raise AssertionError(f"{query!r} was accepted")


@given(invalid_query_strings(SCHEMA))
def test_json_is_the_reference_400_body(case: tuple[str, list[str]]) -> None:
    query, _ = case
    response = handle(_STORE, "GET", PATH, query, _HEADERS)
    assert response.status == 400
    assert response.header("Content-Type") == CONTENT_TYPE
    assert _error(query).json() == response.body


def test_json_is_compact_utf8_without_escapes() -> None:
    e = _error("project_id=é&limit=0")
    raw = e.json()
    assert b"\\u" not in raw
    assert raw == json.dumps(e.body, separators=(",", ":"), ensure_ascii=False).encode()
    assert "'é'" in raw.decode("utf-8")
    assert not raw.endswith(b"\n")
    assert json.loads(raw) == e.body
    assert list(json.loads(raw)) == ["key", "message", "failures"]


def test_undecodable_bytes_are_written_as_utf8() -> None:
    raw = _error(b"project_id=%FF").json()
    assert raw == handle(_STORE, "GET", PATH, b"project_id=%FF", _HEADERS).body
    raw.decode("utf-8")  # valid UTF-8 whatever the input was
