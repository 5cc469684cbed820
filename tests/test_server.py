"""The real server in a subprocess, spoken to over HTTP with http.client; and the CLI."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "world.json"
LIST = "/api/production-plan-streams"
GOOD = {"Authorization": "Bearer tok-alice", "Wethod-Company": "acme",
        "Wethod-Version": "2024-06-15"}

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opfilter", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        m = re.search(r"http://([0-9.]+):([0-9]+)", first)
        if m is None:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"server did not start: {first!r} {err!r}")
        self.host, self.port = m[1], int(m[2])

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=10)

    def get(self, path: str, headers: dict[str, str] | None = None,
            method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        c = self.conn()
        try:
            c.request(method, path, headers=GOOD if headers is None else headers)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def stop(self) -> str:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture(scope="module")
def memory_server() -> Iterator[Server]:
    s = Server("--data", str(FIXTURE), "--store", "memory")
    yield s
    s.stop()


@pytest.mark.parametrize(
    ("path", "headers", "method", "status", "key"),
    [
        (LIST, GOOD, "GET", 200, None),
        (LIST + "/1", GOOD, "GET", 200, None),
        (LIST, {**GOOD, "Authorization": "Bearer nope"}, "GET", 401, "unauthorized"),
        (LIST, {"Wethod-Company": "acme", "Wethod-Version": "2024-06-15"}, "GET", 401,
         "unauthorized"),
        (LIST, {**GOOD, "Wethod-Version": "2023-01-01"}, "GET", 400, "invalid_data"),
        (LIST + "?limit=0", GOOD, "GET", 400, "invalid_data"),
        (LIST, {**GOOD, "Wethod-Company": "globex"}, "GET", 403, "forbidden"),
        (LIST, {**GOOD, "Authorization": "Bearer tok-dave"}, "GET", 403, "forbidden"),
        (LIST, {**GOOD, "Authorization": "Bearer tok-erin", "Wethod-Company": "initech"}, "GET",
         412, "precondition_failure"),
        (LIST + "/3", GOOD, "GET", 404, "not_found"),
        (LIST + "/abc", GOOD, "GET", 404, "not_found"),
        ("/api/other", GOOD, "GET", 404, "not_found"),
        (LIST, GOOD, "POST", 405, "method_not_allowed"),
        (LIST + "/1", GOOD, "DELETE", 405, "method_not_allowed"),
    ],
)
def test_status_codes_over_http(memory_server: Server, path: str, headers: dict[str, str],
                                method: str, status: int, key: str | None) -> None:
    got, hdrs, body = memory_server.get(path, headers, method)
    assert got == status
    assert hdrs["content-type"] == "application/json; charset=utf-8"
    assert int(hdrs["content-length"]) == len(body)
    assert not body.endswith(b"\n")
    data = json.loads(body)
    if key is None:
        assert isinstance(data, list | dict)
    else:
        assert data["key"] == key
        assert list(data)[:2] == ["key", "message"]
    if status == 405:
        assert hdrs["allow"] == "GET"


def test_json_bytes_are_compact_utf8(memory_server: Server) -> None:
    status, _, body = memory_server.get(LIST + "?deleted=include&limit=2")
    assert status == 200
    assert body.startswith(b'[{"id":1,"created_at":"2024-01-03T09:00:00.000Z",')
    assert b" " not in body
    assert json.loads(body)[1]["updated_at"] == "2024-02-29T23:59:59.999Z"  # truncated


def test_keep_alive_serves_several_requests_on_one_connection(memory_server: Server) -> None:
    c = memory_server.conn()
    try:
        bodies = []
        for q in ("", "?limit=1", "?project_id=ge:1"):
            c.request("GET", LIST + q, headers=GOOD)
            r = c.getresponse()
            bodies.append((r.status, r.read()))
            sock = c.sock
            assert sock is not None
        c.request("GET", LIST, headers=GOOD)
        r = c.getresponse()
        r.read()
        assert c.sock is sock  # the same TCP connection throughout
    finally:
        c.close()
    assert [s for s, _ in bodies] == [200, 200, 400]


def test_garbage_and_non_utf8_never_kill_the_server(memory_server: Server) -> None:
    with socket.create_connection((memory_server.host, memory_server.port), timeout=10) as s:
        s.sendall(b"\x00\xff garbage\r\n\r\n")
        s.recv(65536)
    with socket.create_connection((memory_server.host, memory_server.port), timeout=10) as s:
        s.sendall(b"GET /api/production-plan-streams?project_id=%E9&stream_id=\xff HTTP/1.1\r\n"
                  b"Host: x\r\nAuthorization: Bearer tok-alice\r\nWethod-Company: acme\r\n"
                  b"Wethod-Version: 2024-06-15\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400")
    body = json.loads(data.split(b"\r\n\r\n", 1)[1])
    assert [f["field"] for f in body["failures"]] == ["project_id", "stream_id"]
    status, _, _ = memory_server.get(LIST)
    assert status == 200


REQUESTS = [
    LIST, LIST + "?deleted=include", LIST + "?deleted=only&limit=1&offset=1",
    LIST + "?updated_at=gte:2024-02-29&deleted=include", LIST + "?project_id=in:1,2,3",
    LIST + "?deleted_at=eq:null", LIST + "?offset=9223372036854775807", LIST + "/1",
    LIST + "/3?deleted=include", LIST + "/7", LIST + "?limit=abc&x=1",
]


def _answers(server: Server) -> list[tuple[int, dict[str, str], bytes]]:
    out = []
    for path in REQUESTS:
        for token in ("tok-alice", "tok-bob", "tok-carol"):
            status, headers, body = server.get(path, {**GOOD, "Authorization": f"Bearer {token}"})
            headers.pop("date")  # the clock's, not the store's
            out.append((status, headers, body))
    return out


@pytest.fixture(scope="module")
def reference_answers(memory_server: Server) -> list[tuple[int, dict[str, str], bytes]]:
    return _answers(memory_server)


def test_sqlite_store_answers_byte_identically(
    reference_answers: list[tuple[int, dict[str, str], bytes]],
) -> None:
    s = Server("--data", str(FIXTURE), "--store", "sqlite")
    try:
        assert _answers(s) == reference_answers
    finally:
        s.stop()


@pytest.mark.postgresql
def test_postgresql_store_answers_byte_identically(
    pg_dsn: str, reference_answers: list[tuple[int, dict[str, str], bytes]],
) -> None:
    s = Server("--data", str(FIXTURE), "--store", "postgresql", "--dsn", pg_dsn)
    try:
        assert _answers(s) == reference_answers
    finally:
        s.stop()


def test_one_log_line_per_request() -> None:
    s = Server("--data", str(FIXTURE), "--store", "memory")
    c = s.conn()
    # on one keep-alive connection the handler logs request n before it reads request n+1
    for path in (LIST, LIST + "/1", LIST + "?limit=0"):
        c.request("GET", path, headers=GOOD)
        c.getresponse().read()
    c.close()
    err = s.stop()
    lines = [line for line in err.splitlines() if '"GET ' in line]
    assert len(lines) in (2, 3)
    assert f'"GET {LIST} HTTP/1.1" 200 ' in lines[0]
    assert f'"GET {LIST}/1 HTTP/1.1" 200 ' in lines[1]


def test_bad_fixture_exits_2_naming_row_and_field(tmp_path: Path) -> None:
    world = json.loads(FIXTURE.read_text())
    world["production_plan_streams"][1]["date"] = "2024-02-15"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(world))
    done = subprocess.run([sys.executable, "-m", "opfilter", "serve", "--data", str(bad),
                           "--store", "memory", "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "date" in done.stderr and "2" in done.stderr


def _check(query: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opfilter", "check", query],
                          capture_output=True, text=True, timeout=60)


def test_check_valid_query() -> None:
    done = _check(
        "stream_id=007&updated_at=gte:2024-06-15T10:00:00%2B02:00&deleted_at=lt:2024-01-01"
    )
    assert done.returncode == 0
    assert done.stdout.endswith("}\n") and done.stdout.count("\n") == 1
    out = json.loads(done.stdout)
    assert list(out) == ["canonical", "ast", "sql", "warnings"]
    assert out["canonical"] == ("stream_id=eq:7&updated_at=gte:2024-06-15T08:00:00Z"
                                "&deleted_at=lt:2024-01-01")
    assert out["sql"]["postgresql"]["params"][1] == "2024-06-15T08:00:00Z"
    assert "%s" in out["sql"]["postgresql"]["where"] and "?" in out["sql"]["sqlite"]["where"]
    assert len(out["warnings"]) == 1 and out["warnings"][0]["field"] == "deleted_at"
    assert "matches nothing" in out["warnings"][0]["message"]


def test_check_invalid_query_prints_the_400_body() -> None:
    done = _check("project_id=ge:5&limit=0")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert out["key"] == "invalid_data"
    assert [f["field"] for f in out["failures"]] == ["project_id", "limit"]


def test_check_usage_errors_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "opfilter", "check"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    helped = subprocess.run([sys.executable, "-m", "opfilter", "check", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "bt:2024-01-01,2024-01-31" in helped.stdout
