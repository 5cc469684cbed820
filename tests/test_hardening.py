"""Hardening: linear parse time, fuzzing through the HTTP server, and isolation on every
store ("nobody sees what is not theirs")."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opfilter import InvalidQuery, parse_query
from opfilter.parsequery import _parse_filter_cached
from opfilter.streams import SCHEMA, PostgresStore, SQLiteStore
from opfilter.streams.endpoint import MESSAGES, error_body, handle
from opfilter.streams.store import MemoryStore, Store
from opfilter.streams.strategies import worlds
from opfilter.streams.world import PERMISSION_VIEW, PERMISSION_VIEW_OTHER, World
from opfilter.testing import Request, requests
from test_server import FIXTURE, Server

# -- parse time grows linearly with input size ------------------------------------------------


def _best_time(fn: Callable[[], object], repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        _parse_filter_cached.cache_clear()  # time parsing, not the memo of repeated values
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _parse(text: str) -> Callable[[], object]:
    def run() -> object:
        try:
            return parse_query(text, SCHEMA)
        except InvalidQuery as e:
            return e

    return run


# Each family at sizes n and 8n: linear growth gives a ratio near 8, quadratic near 64.
FAMILIES: dict[str, Callable[[int], str]] = {
    "many parameters": lambda n: "&".join(f"project_id=in:{i},{i + 1}" for i in range(n)),
    "long in: list": lambda n: "project_id=in:" + ",".join(str(i) for i in range(n)),
    "long quoted operand": lambda n: 'updated_at="' + "\\\"" * n + '"',
    "many bad parameters": lambda n: "&".join(f"stream_id=x{i}" for i in range(n)),
    "percent garbage": lambda n: "project_id=" + "%E9%ZZ" * n,
    "empty segments": lambda n: "&" * (n * 8) + "limit=5",
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_parse_time_grows_linearly(family: str) -> None:
    make = FAMILIES[family]
    small, large = make(40), make(320)
    assert len(large) <= SCHEMA.max_query_length
    ratio = _best_time(_parse(large)) / _best_time(_parse(small))
    assert ratio < 24, f"{family}: 8× the input took {ratio:.1f}× the time"


# -- fuzzing through the HTTP server ----------------------------------------------------------

JSON_TYPE = b"content-type: application/json; charset=utf-8"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = Server("--data", str(FIXTURE), "--store", "sqlite")
    yield s
    s.stop()


def _raw_exchange(server: Server, request: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=20) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)  # no more requests on this connection
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def _check_answer(data: bytes) -> int:
    if not data.startswith(b"HTTP/"):  # an HTTP/0.9 request gets a bare body
        assert list(json.loads(data))[:2] == ["key", "message"]
        return 400
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 200 <= status < 500, data[:300]
    assert JSON_TYPE in head.lower()
    parsed = json.loads(body)
    if status != 200:
        assert list(parsed)[:2] == ["key", "message"]
        assert "Traceback" not in body.decode("utf-8", "replace")
    return status


_BYTES = st.binary(max_size=200)
_TEXTISH = st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass"))


@pytest.mark.slow
@settings(max_examples=60, suppress_health_check=list(HealthCheck), deadline=None)
@given(target=st.one_of(_BYTES, _TEXTISH), auth=st.one_of(_BYTES, _TEXTISH),
       company=st.one_of(st.just(b"acme"), _BYTES), version=st.one_of(st.just(b"2024-06-15"),
                                                                    _BYTES))
def test_fuzzed_requests_get_json_4xx_or_200(server: Server, target: bytes, auth: bytes,
                                             company: bytes, version: bytes) -> None:
    clean = [x.replace(b"\r", b"").replace(b"\n", b"") for x in (target, auth, company, version)]
    path = b"/api/production-plan-streams?" + clean[0].replace(b" ", b"%20").replace(b"#", b"")
    request = (b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               b"Authorization: Bearer " + clean[1] + b"\r\nWethod-Company: " + clean[2] +
               b"\r\nWethod-Version: " + clean[3] + b"\r\n\r\n")
    _check_answer(_raw_exchange(server, request))


@pytest.mark.slow
@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",                      # huge request line
        b"GET /api/production-plan-streams HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
        b"GET /api/production-plan-streams HTTP/1.1\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,       # a TLS hello
        b"GET\r\n\r\n",
        b"BREW /api/production-plan-streams HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/production-plan-streams?" + b"project_id=1&" * 2000 + b" HTTP/1.1\r\n\r\n",
    ],
)
def test_hostile_http_gets_a_json_answer(server: Server, request_bytes: bytes) -> None:
    data = _raw_exchange(server, request_bytes)
    if data:  # a peer that is not speaking HTTP at all may just be hung up on
        _check_answer(data)
    status, _, _ = server.get("/api/production-plan-streams")
    assert status == 200  # and the server is still alive


# -- isolation on every store ------------------------------------------------------------------


def _visible(world: World, token: str, slug: str, project_id: int) -> bool:
    user = world.user_by_token.get(token)
    project = world.project_by_id.get(project_id)
    if user is None or project is None or project.company != slug:
        return False
    perms = user.memberships.get(slug, frozenset())
    own = project.is_own(user.id)
    return (own and PERMISSION_VIEW in perms) or (not own and PERMISSION_VIEW_OTHER in perms)


def _header(req: Request, name: str) -> str:
    return next((v for n, v in req.headers if n.lower() == name.lower()), "")


def _check_isolation(world: World, store: Store, reqs: list[Request]) -> None:
    fixed = {key: json.dumps(error_body(key), separators=(",", ":")).encode()
             for key in ("unauthorized", "forbidden", "precondition_failure")}
    for req in reqs:
        r = handle(store, req.method, req.path, req.query, list(req.headers))
        if r.status == 200:
            token = _header(req, "Authorization").split(" ", 1)[-1]
            slug = _header(req, "Wethod-Company")
            data: Any = json.loads(r.body)
            for row in data if isinstance(data, list) else [data]:
                assert _visible(world, token, slug, row["project_id"]), (req, row)
        elif r.status in (401, 403, 412):
            key = {401: "unauthorized", 403: "forbidden", 412: "precondition_failure"}[r.status]
            assert r.body == fixed[key]  # fixed sentences: nothing about other companies
            assert key in MESSAGES


ISOLATION = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@ISOLATION
@given(data=st.data())
def test_isolation_memory_and_sqlite(data: st.DataObject) -> None:
    world = data.draw(worlds(min_rows=1))
    reqs = data.draw(st.lists(requests(world), min_size=10, max_size=10))
    _check_isolation(world, MemoryStore(world), reqs)
    with SQLiteStore.from_world(world) as store:
        _check_isolation(world, store, reqs)


@pytest.mark.postgresql
def test_isolation_postgresql(pg_dsn: str) -> None:
    @ISOLATION
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        world = data.draw(worlds(min_rows=1))
        reqs = data.draw(st.lists(requests(world), min_size=10, max_size=10))
        with PostgresStore.from_world(world, pg_dsn, schema="isolation") as store:
            _check_isolation(world, store, reqs)

    run()
