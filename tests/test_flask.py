"""opfilter.flask with a real Flask app (SPEC §9)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from helpers import EMBED_QUERIES, reference_answer
from opfilter import to_query_string
from opfilter.errors import CONTENT_TYPE
from opfilter.flask import install, parse_request
from opfilter.streams import SCHEMA


def _app(*, sort_keys: bool, ensure_ascii: bool) -> Flask:
    app = Flask(__name__)
    assert isinstance(app.json, DefaultJSONProvider)
    app.json.sort_keys = sort_keys
    app.json.ensure_ascii = ensure_ascii
    app.json.compact = False
    install(app)

    @app.get("/items")
    def items() -> str:
        return to_query_string(parse_request(SCHEMA))

    return app


@pytest.mark.parametrize("query", EMBED_QUERIES)
@pytest.mark.parametrize(("sort_keys", "ensure_ascii"), [(True, True), (False, False)])
def test_answers_are_the_reference_bytes(query: str, sort_keys: bool, ensure_ascii: bool) -> None:
    client = _app(sort_keys=sort_keys, ensure_ascii=ensure_ascii).test_client()
    r = client.get("/items?" + query)
    status, body = reference_answer(query)
    assert (r.status_code, r.data) == (status, body)
    if status == 400:
        assert r.headers["Content-Type"] == CONTENT_TYPE


def test_raw_bytes_reach_opfilter_undecoded() -> None:
    client = _app(sort_keys=True, ensure_ascii=True).test_client()
    r = client.get("/items?project_id=%FF&project_id=%C3%A9")
    assert r.status_code == 400
    messages = [f["message"] for f in r.get_json()["failures"]]
    assert "not valid UTF-8" in messages[0]
    assert "'é'" in messages[1]
