"""opfilter.fastapi with a real FastAPI / Starlette app (SPEC §9)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helpers import EMBED_QUERIES, reference_answer, run_python
from opfilter import Query, to_query_string
from opfilter.errors import CONTENT_TYPE
from opfilter.fastapi import Filters, install
from opfilter.openapi import parameters
from opfilter.streams import SCHEMA


def _fastapi_app() -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/items", response_class=PlainTextResponse)
    def items(q: Annotated[Query, Depends(Filters(SCHEMA))]) -> str:
        return to_query_string(q)

    @app.get("/plain")
    def plain() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def _starlette_app() -> Starlette:
    filters = Filters(SCHEMA)

    def items(request: Request) -> Response:
        return PlainTextResponse(to_query_string(filters(request)))

    app = Starlette(routes=[Route("/items", items)])
    install(app)
    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(_fastapi_app())


@pytest.mark.parametrize("query", EMBED_QUERIES)
@pytest.mark.parametrize("kind", ["fastapi", "starlette"])
def test_answers_are_the_reference_bytes(kind: str, query: str) -> None:
    app = _fastapi_app() if kind == "fastapi" else _starlette_app()
    r = TestClient(app).get("/items?" + query)
    status, body = reference_answer(query)
    assert (r.status_code, r.content) == (status, body)
    if status == 400:
        assert r.headers["content-type"] == CONTENT_TYPE


def test_never_a_422_for_filters_limit_or_offset(client: TestClient) -> None:
    for params in ({"limit": "x", "offset": "-1"}, {"limit": ["1", "2"]},
                   {"project_id": None}, {"deleted": "all"}):
        r = client.get("/items", params=params)
        assert r.status_code == 400, (params, r.content)
        assert list(r.json()) == ["key", "message", "failures"]
        assert r.json()["key"] == "invalid_data"


def test_repeated_keys_are_each_a_condition(client: TestClient) -> None:
    r = client.get("/items", params=[("project_id", "gt:1"), ("project_id", "lt:9")])
    assert r.text == "project_id=gt:1&project_id=lt:9"


def test_httpx_over_asgi_gets_the_same_bytes() -> None:
    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=_fastapi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return [await c.get("/items?" + q) for q in ("project_id=%FF", "limit=7")]

    bad, good = asyncio.run(ask())
    assert (bad.status_code, bad.content) == reference_answer("project_id=%FF")
    assert (good.status_code, good.text) == (200, "limit=7")


def test_the_filters_appear_in_openapi_without_a_422(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    validate(doc)
    op = doc["paths"]["/items"]["get"]
    assert op["parameters"] == parameters(SCHEMA)
    assert "422" not in op["responses"]
    assert op["responses"]["400"]["content"]["application/json"]["schema"]["properties"][
        "key"]["const"] == "invalid_data"
    assert doc["paths"]["/plain"]["get"].get("parameters", []) == []


def test_without_install_the_parameters_still_appear() -> None:
    app = FastAPI()

    @app.get("/items")
    def items(q: Annotated[Query, Depends(Filters(SCHEMA))]) -> str:
        return to_query_string(q)

    doc = TestClient(app).get("/openapi.json").json()
    names = [p["name"] for p in doc["paths"]["/items"]["get"]["parameters"]]
    assert names == [p.name for p in SCHEMA.params]
    assert TestClient(app).get("/items?limit=3").json() == "limit=3"


_STARLETTE_ALONE = """
import json, sys
sys.modules["fastapi"] = None  # 'import fastapi' raises ImportError: FastAPI is not installed
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from opfilter import to_query_string
from opfilter.fastapi import Filters, install
from opfilter.streams import SCHEMA

filters = Filters(SCHEMA)
app = Starlette(routes=[Route("/items", lambda r: PlainTextResponse(to_query_string(filters(r))))])
install(app)
client = TestClient(app)
print(json.dumps([[r.status_code, r.text] for r in (client.get("/items?" + q)
                                                     for q in ("limit=7", "limit=0"))]))
"""


def test_starlette_needs_no_fastapi() -> None:
    """SPEC §9: install() and Filters serve Starlette too; with FastAPI missing they work
    (install used to register its handler, then fail importing FastAPI)."""
    (out,) = run_python(_STARLETTE_ALONE)
    status, body = reference_answer("limit=0")
    assert json.loads(out) == [[200, "limit=7"], [status, body.decode()]]
