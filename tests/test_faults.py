"""Under load and faults (SPEC §11): header semantics over HTTP, malformed request lines,
HTTP fuzzing on every store, saturation, a PostgreSQL restart under load, fork safety.

Every server here is a real ``opfilter serve`` subprocess on 127.0.0.1; every loop is
bounded in count and time.  The PostgreSQL tests run on a throwaway cluster of this module
(the restart test stops and starts it), never on the session's shared one.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opfilter.streams import MemoryStore, PostgresStore, SQLiteStore, StoreUnavailable
from opfilter.streams.endpoint import MESSAGES, PATH, RETRY_AFTER, handle
from opfilter.streams.world import load_world

FIXTURE = Path(__file__).parent / "fixtures" / "world.json"
GOOD = {"Authorization": "Bearer tok-alice", "Wethod-Company": "acme",
        "Wethod-Version": "2024-06-15"}
WORLD = load_world(FIXTURE)
REFERENCE = MemoryStore(WORLD)

pytestmark = pytest.mark.slow


class Server:
    """``opfilter serve`` in a subprocess; its log goes to a file (a pipe nobody reads
    would fill up and stall the server)."""

    def __init__(self, *args: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="opfilter-faults-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opfilter", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:([0-9]+)", first)
        if m is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not start: {first!r} {self.stderr()[-2000:]}")
        self.port = int(m[1])

    def stderr(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def conn(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


def raw_exchange(port: int, request: bytes, timeout: float = 20) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def split_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert re.fullmatch(r"HTTP/1\.1 [0-9]{3} .*", lines[0]), data[:200]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def reference(path: str, query: str | bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    r = handle(REFERENCE, "GET", path, query, headers)
    return r.status, r.body


# -- one server per store on the same fixture; PostgreSQL only for the tests that need it ------
# (`own_pg`, from conftest.py, is a cluster of this module: the restart test stops it)

# a test reaching PostgreSQL through request.getfixturevalue carries the marker itself
ON_POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgresql)
STORES = ["memory", "sqlite", ON_POSTGRESQL]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Server]]:
    """The servers without PostgreSQL: ``memory`` and ``sqlite``."""
    started: dict[str, Server] = {}
    try:
        for store in ("memory", "sqlite"):
            started[store] = Server("--data", str(FIXTURE), "--store", store)
        yield started
    finally:
        for s in started.values():
            s.stop()


@pytest.fixture(scope="module")
def pg_server(own_pg: Any) -> Iterator[Server]:
    server = Server("--data", str(FIXTURE), "--store", "postgresql", "--dsn", own_pg.dsn)
    try:
        yield server
    finally:
        server.stop()


def server_of(store: str, request: pytest.FixtureRequest) -> Server:
    """The module's server for ``store``."""
    if store == "postgresql":
        return request.getfixturevalue("pg_server")  # type: ignore[no-any-return]
    return request.getfixturevalue("servers")[store]  # type: ignore[no-any-return]


# -- headers mean over HTTP what they mean to handle() ------------------------------------


def _request(header_lines: list[bytes], target: bytes = PATH.encode()) -> bytes:
    return (b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + b"".join(line + b"\r\n" for line in header_lines) + b"\r\n")


HEADER_CASES: dict[str, list[tuple[str, str]]] = {
    "company twice": [("Authorization", "Bearer tok-alice"), ("Wethod-Company", "acme"),
                      ("Wethod-Company", "acme"), ("Wethod-Version", "2024-06-15")],
    "version twice": [("Authorization", "Bearer tok-alice"), ("Wethod-Company", "acme"),
                      ("Wethod-Version", "2024-06-15"), ("Wethod-Version", "2024-06-15")],
    "underscore company": [("Authorization", "Bearer tok-alice"), ("Wethod_Company", "acme"),
                           ("Wethod-Version", "2024-06-15")],
    "underscore version": [("Authorization", "Bearer tok-alice"), ("Wethod-Company", "acme"),
                           ("Wethod_Version", "2024-06-15")],
    "company with NUL": [("Authorization", "Bearer tok-alice"), ("Wethod-Company", "ac\0me"),
                         ("Wethod-Version", "2024-06-15")],
    "company with a control character": [("Authorization", "Bearer tok-alice"),
                                         ("Wethod-Company", "ac\x1bme"),
                                         ("Wethod-Version", "2024-06-15")],
    "non-ASCII company": [("Authorization", "Bearer tok-alice"), ("Wethod-Company", "acmé"),
                          ("Wethod-Version", "2024-06-15")],
}
EXPECTED_KEY = {"company twice": "invalid_data", "version twice": "invalid_data",
                "underscore company": "invalid_data", "underscore version": "invalid_data",
                "company with NUL": "forbidden", "company with a control character": "forbidden",
                "non-ASCII company": "forbidden"}


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("case", list(HEADER_CASES))
def test_headers_mean_the_same_over_http_and_through_handle(
    request: pytest.FixtureRequest, store: str, case: str
) -> None:
    pairs = HEADER_CASES[case]
    lines = [f"{k}: {v}".encode() for k, v in pairs]
    port = server_of(store, request).port
    status, headers, body = split_response(raw_exchange(port, _request(lines)))
    expected = reference(PATH, "", pairs)
    assert (status, body) == expected
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(body)["key"] == EXPECTED_KEY[case]
    if EXPECTED_KEY[case] == "invalid_data":
        assert "more than once" in body.decode() or "missing" in body.decode()


def test_a_bad_company_value_is_never_asked_of_the_store() -> None:
    class Asked(MemoryStore):
        def company(self, slug: str) -> Any:
            raise AssertionError(f"the store was asked about {slug!r}")

    store = Asked(WORLD)
    for slug in ("ac\0me", "ac\ud800me", "acmé", "ac me", "a\x7f", "\x85acme"):
        r = handle(store, "GET", PATH, "", {**GOOD, "Wethod-Company": slug})
        assert r.status == 403, slug


# -- malformed request lines ----------------------------------------------------------------


@pytest.mark.parametrize("line", [b"GARBAGE", b"GET / HTTP/2.0", b"GET /", b"GET / HTTP/x.y",
                                  b"\x00\xff\xfe", b"GET " + PATH.encode() + b" HTTP/1.1 x"])
def test_malformed_request_lines_get_an_http11_status_line(
    servers: dict[str, Server], line: bytes
) -> None:
    data = raw_exchange(servers["memory"].port, line + b"\r\n\r\n")
    status, headers, body = split_response(data)
    assert 400 <= status < 600 and status != 500
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert list(json.loads(body))[:2] == ["key", "message"]


def test_an_http10_keep_alive_request_is_answered_and_closed(servers: dict[str, Server]) -> None:
    """An HTTP/1.0 client asking for keep-alive (ApacheBench ``-k``) gets its answer and
    the connection's end at once — not a connection left open until the idle timeout,
    which such a client (reading to the close) would wait for."""
    request = (f"GET {PATH} HTTP/1.0\r\nConnection: keep-alive\r\n"
               "Authorization: Bearer tok-alice\r\nWethod-Company: acme\r\n"
               "Wethod-Version: 2024-06-15\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", servers["memory"].port), timeout=5) as s:
        s.sendall(request)  # no half-close: the server alone decides when the answer ends
        start = time.monotonic()
        data = b""
        while chunk := s.recv(65536):  # raises TimeoutError if the server keeps it open
            data += chunk
        assert time.monotonic() - start < 3
    status, _, body = split_response(data)
    assert (status, body) == reference(PATH, "", [
        ("Authorization", "Bearer tok-alice"), ("Wethod-Company", "acme"),
        ("Wethod-Version", "2024-06-15")])


# -- HTTP fuzzing on every store -------------------------------------------------------------

_HOSTILE = st.sampled_from([b"\x00", b"\x01", b"\x1b", b"\x7f", b"\xff", b"\xc3", b"\xed\xa0\x80",
                            b"\xe2\x80\xa8", b",", b" ", b"\t", b"%00", b"%ff", b"\\"])
_PIECES = st.lists(st.one_of(_HOSTILE, st.sampled_from([b"acme", b"tok-alice", b"2024-06-15",
                                                        b"Bearer ", b"project_id=1", b"&", b"/1"]),
                             st.binary(max_size=4)), max_size=6).map(b"".join)


def _clean(value: bytes) -> bytes:
    return value.replace(b"\r", b"").replace(b"\n", b"")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(path_tail=_PIECES, query=_PIECES, auth=_PIECES, company=_PIECES, version=_PIECES,
       which=st.sampled_from(["Authorization", "Wethod-Company", "Wethod-Version"]))
def test_fuzzed_requests_get_the_same_answer_on_every_store(
    servers: dict[str, Server], pg_server: Server, path_tail: bytes, query: bytes, auth: bytes,
    company: bytes, version: bytes, which: str
) -> None:
    values = {"Authorization": b"Bearer tok-alice", "Wethod-Company": b"acme",
              "Wethod-Version": b"2024-06-15"}
    values[which] = {"Authorization": auth, "Wethod-Company": company,
                     "Wethod-Version": version}[which]
    target = (PATH.encode() + _clean(path_tail).replace(b" ", b"%20").replace(b"?", b"")
              .replace(b"#", b"") + b"?" + _clean(query).replace(b" ", b"+").replace(b"#", b""))
    lines = [name.encode() + b": " + _clean(v) for name, v in values.items()]
    answers = {}
    for store, server in {**servers, "postgresql": pg_server}.items():
        status, headers, body = split_response(
            raw_exchange(server.port, _request(lines, target)))
        assert status in (200, 400, 401, 403, 404, 412), (store, status, body)
        assert headers["content-type"] == "application/json; charset=utf-8"
        parsed = json.loads(body)
        if status != 200:
            assert list(parsed)[:2] == ["key", "message"]
        answers[store] = (status, body)
    assert answers["sqlite"] == answers["memory"]
    assert answers["postgresql"] == answers["memory"]


# -- saturation: more clients than workers, connections and database connections --------------


TARGETS = [
    (f"{PATH}?project_id=in:1,2&deleted=include", GOOD),
    (f"{PATH}/1", GOOD),
    (f"{PATH}?updated_at=gte:2024-02-01&limit=1", GOOD),
    (f"{PATH}?project_id=ge:1", GOOD),
    (PATH, {**GOOD, "Authorization": "Bearer tok-bob"}),
    (PATH, {**GOOD, "Wethod-Company": "globex", "Authorization": "Bearer tok-erin"}),
]
EXPECTED = [reference(t.partition("?")[0], t.partition("?")[2], list(h.items()))
            for t, h in TARGETS]
UNAVAILABLE = {"key": "unavailable", "message": MESSAGES["unavailable"]}


class Clients:
    """``count`` keep-alive clients asking the TARGETS in turn, from now until :meth:`stop`.

    Every answer is logged as ``(time, target, status, right)``: right when it is the
    reference answer, or a 503 with ``Retry-After`` and the ``unavailable`` body.  Transport
    errors go to ``errors`` (the client reconnects).  A client waits ``pause`` seconds after
    each answer, and 10 ms after a 503."""

    def __init__(self, port: int, count: int, *, pause: float = 0.0) -> None:
        self.log: list[tuple[float, str, int, bool]] = []
        self.errors: list[str] = []
        self._port = port
        self._pause = pause
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(k,)) for k in range(count)]
        for t in self._threads:
            t.start()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self._port, timeout=10)

    def _client(self, k: int) -> None:
        conn = self._connect()
        i = k
        while not self._stop.is_set():
            i = (i + 1) % len(TARGETS)
            target, headers = TARGETS[i]
            try:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(f"{target}: {e!r}")
                conn.close()
                conn = self._connect()
                continue
            if resp.status == 503:
                right = (resp.getheader("Retry-After") == RETRY_AFTER
                         and json.loads(body) == UNAVAILABLE)
            else:
                right = (resp.status, body) == EXPECTED[i]
            self.log.append((time.monotonic(), target, resp.status, right))
            time.sleep(0.01 if resp.status == 503 else self._pause)
        conn.close()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def statuses(self) -> Counter[int]:
        return Counter(status for _, _, status, _ in self.log)

    def wrong(self) -> list[str]:
        return [f"{target}: {status}" for _, target, status, right in self.log if not right]


@pytest.mark.parametrize("store", ["sqlite", ON_POSTGRESQL])
def test_saturation_gives_only_200_and_503(store: str, request: pytest.FixtureRequest) -> None:
    extra = ["--dsn", request.getfixturevalue("own_pg").dsn] if store == "postgresql" else []
    server = Server("--data", str(FIXTURE), "--store", store, *extra, "--workers", "2",
                    "--max-connections", "6", "--pool-size", "1", "--timeout", "0.005")
    clients = Clients(server.port, 16)
    try:
        time.sleep(3.0)
    finally:
        clients.stop()
        server.stop()
    statuses = clients.statuses()
    assert not clients.errors, clients.errors[:5]
    assert not clients.wrong(), clients.wrong()[:5]
    assert set(statuses) <= {200, 400, 503}, statuses
    assert statuses[503] > 0 and statuses[200] > 0, statuses  # it was saturated, and served


def test_sqlite_store_answers_unavailable_when_its_connections_are_taken(
    tmp_path: Path,
) -> None:
    with SQLiteStore.from_world(WORLD, tmp_path / "w.sqlite3", max_connections=1,
                                timeout=0.05) as store:
        held = store._connection()
        held.__enter__()
        try:
            with pytest.raises(StoreUnavailable):
                store.authenticate("tok-alice")
            r = handle(store, "GET", PATH, "", GOOD)
            assert r.status == 503 and r.header("Retry-After") == RETRY_AFTER
            assert r.json() == {"key": "unavailable", "message": MESSAGES["unavailable"]}
        finally:
            held.__exit__(None, None, None)
        assert handle(store, "GET", PATH, "", GOOD).status == 200


# -- a PostgreSQL restart under load -------------------------------------------------------------


def test_postgresql_restart_gives_only_200_and_503_and_recovers(own_pg: Any) -> None:
    server = Server("--data", str(FIXTURE), "--store", "postgresql", "--dsn", own_pg.dsn,
                    "--timeout", "0.5", "--pool-size", "4")
    clients = Clients(server.port, 4, pause=0.005)
    try:
        time.sleep(1.0)
        own_pg.stop_server("fast")
        stopped = time.monotonic()
        time.sleep(1.5)
        own_pg.start_server()
        restarted = time.monotonic()
        deadline = restarted + 10
        while time.monotonic() < deadline:
            if any(t > restarted and s == 200 for t, _, s, _ in clients.log[-50:]):
                break
            time.sleep(0.05)
        time.sleep(1.0)
    finally:
        clients.stop()
        server.stop()
    statuses = clients.statuses()
    assert not clients.errors, clients.errors[:5]
    assert set(statuses) <= {200, 400, 503}, statuses
    assert not clients.wrong(), clients.wrong()[:5]
    during = [s for t, _, s, _ in clients.log if stopped < t < restarted]
    assert 503 in during, statuses  # the outage was seen
    back = min((t for t, _, s, _ in clients.log if t > restarted and s == 200), default=None)
    assert back is not None, "no 200 after the restart"
    recovery = back - restarted
    print(f"recovered {recovery:.2f} s after PostgreSQL accepted connections again; {statuses}")
    assert recovery < 5.0


# -- fork safety -------------------------------------------------------------------------------


def _in_child(fn: Any) -> Any:
    """Run ``fn()`` in a forked child; its JSON result (or error text) comes back."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            out = json.dumps({"ok": fn()})
        except BaseException as e:
            out = json.dumps({"error": repr(e)})
        os.write(write, out.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        data = f.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert "error" not in result, result
    return result["ok"]


def test_sqlite_store_never_shares_a_connection_with_a_forked_child(tmp_path: Path) -> None:
    with SQLiteStore.from_world(WORLD, tmp_path / "w.sqlite3") as store:
        with store._connection() as conn:  # an idle connection stays in the pool
            parent_conn = id(conn)

        def child() -> list[Any]:
            with store._connection() as c:
                fresh = id(c) != parent_conn
            return [fresh, handle(store, "GET", PATH, "", GOOD).status]

        assert _in_child(child) == [True, 200]
        with store._connection() as conn:
            assert id(conn) == parent_conn  # the parent still has its own
        assert handle(store, "GET", PATH, "", GOOD).status == 200


def test_concurrent_first_requests_in_a_forked_child_renew_the_pool_once(tmp_path: Path) -> None:
    """The child's first requests arrive together: the parent's connections are left
    behind once, not once per thread (each extra renewal would drop the child's own pool
    while its requests hold connections from it)."""
    with SQLiteStore.from_world(WORLD, tmp_path / "w.sqlite3") as store:
        with store._connection():
            pass

        def child() -> list[Any]:
            real_getpid = os.getpid

            def slow_getpid() -> int:  # widens the window between "forked?" and renewing
                time.sleep(0.05)
                return real_getpid()

            os.getpid = slow_getpid  # in the child only
            statuses: list[int] = []
            threads = [threading.Thread(
                target=lambda: statuses.append(handle(store, "GET", PATH, "", GOOD).status))
                for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return [statuses, len(store._pool._inherited)]  # type: ignore[union-attr]

        assert _in_child(child) == [[200] * 4, 1]


def test_postgres_store_never_shares_a_connection_with_a_forked_child(own_pg: Any) -> None:
    with PostgresStore.from_world(WORLD, own_pg.dsn, schema="fork_test", max_size=2) as store:
        parent_pids = {store._one("SELECT pg_backend_pid()", ())[0] for _ in range(4)}

        def child() -> list[Any]:
            pid = store._one("SELECT pg_backend_pid()", ())[0]
            return [pid not in parent_pids, handle(store, "GET", PATH, "", GOOD).status]

        assert _in_child(child) == [True, 200]
        # the parent's sessions survived the child (nothing closed them)
        assert handle(store, "GET", PATH, "", GOOD).status == 200
