"""opfilter.django with a real Django (settings configured in the test; SPEC §9)."""

from __future__ import annotations

import pytest

from djangoapp import configure

configure()

from django.http import QueryDict  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from helpers import EMBED_QUERIES, reference_answer  # noqa: E402
from opfilter import InvalidQuery, parse_query, to_query_string  # noqa: E402
from opfilter.django import error_response, parse_request  # noqa: E402
from opfilter.errors import CONTENT_TYPE  # noqa: E402
from opfilter.streams import SCHEMA  # noqa: E402


@pytest.mark.parametrize("query", EMBED_QUERIES)
def test_answers_are_the_reference_bytes(query: str) -> None:
    r = Client().get("/items?" + query)
    status, body = reference_answer(query)
    assert (r.status_code, r.content) == (status, body)
    if status == 400:
        assert r["Content-Type"] == CONTENT_TYPE


def test_undecodable_bytes_get_the_reference_message() -> None:
    request = RequestFactory().get("/items?project_id=%FF")
    assert request.GET["project_id"] == "\ufffd"  # what request.GET would have said
    with pytest.raises(InvalidQuery) as info:
        parse_request(request, SCHEMA)
    assert "not valid UTF-8" in info.value.failures[0]["message"]
    response = error_response(info.value)
    assert response.status_code == 400
    assert response.content == info.value.json()


def test_a_querydict_is_read_with_getlist() -> None:
    qd = QueryDict("project_id=gt:1&project_id=lt:9&limit=5&offset=2")
    assert to_query_string(parse_query(qd, SCHEMA)) == (
        "project_id=gt:1&project_id=lt:9&limit=5&offset=2")
    request = RequestFactory().get("/items")
    del request.META["QUERY_STRING"]
    request.GET = QueryDict("stream_id=in:3,4&limit=1&limit=2")
    with pytest.raises(InvalidQuery) as info:
        parse_request(request, SCHEMA)
    assert [f["field"] for f in info.value.failures] == ["limit"]
