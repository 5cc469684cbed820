"""Checking a server against the reference production-plan-streams endpoint.

:func:`requests` generates whole requests (mostly well-formed, with every kind of mistake
mixed in) and :func:`check_server` compares any server — a base URL or a WSGI app — with
the reference :class:`~opfilter.streams.store.MemoryStore` answer for answer, byte for
byte.  Both are re-exported by :mod:`opfilter.testing` (extra ``opfilter[testing]``).
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st

from ..backends.querystring import to_query_string
from .world import World

__all__ = ["Answer", "Request", "ServerMismatch", "check_server", "requests"]


# -- whole requests, and checking a server against the reference ----------------------------


@dataclass(frozen=True)
class Request:
    """One request to the production-plan-streams endpoints."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")


@st.composite
def requests(draw: st.DrawFn, world: World) -> Request:
    """Requests against ``world`` (an :class:`opfilter.streams.world.World`): mostly
    well-formed (a member's token, its company, the supported version, a valid query),
    with every kind of mistake mixed in — unknown tokens and companies, missing or wrong
    headers, invalid queries, other methods and paths, item ids that exist or not."""
    from ..testing import invalid_query_strings, noisy_query_strings, queries
    from . import SCHEMA
    from .endpoint import PATH, SUPPORTED_VERSION

    tokens = [u.token for u in world.users] or ["tok"]
    slugs = [c.slug for c in world.companies] or ["acme"]
    ids = [r.id for r in world.rows] or [1]
    headers: list[tuple[str, str]] = []
    auth = draw(st.sampled_from(["good"] * 6 + ["unknown", "missing", "scheme"]))
    token = draw(st.sampled_from(tokens))
    if auth == "good":
        headers.append(("Authorization", draw(st.sampled_from(["Bearer", "bearer"])) + " " + token))
    elif auth == "unknown":
        headers.append(("Authorization", "Bearer not-a-token"))
    elif auth == "scheme":
        headers.append(("Authorization", "Basic " + token))
    company = draw(st.sampled_from([*slugs, *slugs, *slugs, "no-such-company", ""]))
    if draw(st.integers(0, 9)):
        headers.append(("Wethod-Company", company))
    version = draw(st.sampled_from([SUPPORTED_VERSION] * 8 + ["2023-01-01", ""]))
    if draw(st.integers(0, 9)):
        headers.append(("Wethod-Version", version))
    kind = draw(st.sampled_from(["valid"] * 4 + ["invalid", "noisy"]))
    if kind == "valid":
        query = to_query_string(draw(queries(SCHEMA, max_conditions=2)))
    elif kind == "noisy":
        query = draw(noisy_query_strings(SCHEMA))[0]
    else:
        query = draw(invalid_query_strings(SCHEMA))[0]
    shape = draw(st.sampled_from(["list"] * 6 + ["item", "item", "other"]))
    if shape == "list":
        path = PATH
    elif shape == "item":
        path = f"{PATH}/{draw(st.sampled_from([*ids, 0, 999999, 'x']))}"
    else:
        path = draw(st.sampled_from(["/api/other", PATH + "/", "/"]))
    method = draw(st.sampled_from(["GET"] * 12 + ["POST", "DELETE"]))
    return Request(method, path, query, tuple(headers))


Answer = tuple[int, str, bytes]
"""What is compared: status, ``Content-Type`` and the body's bytes."""


def _ask_wsgi(app: Callable[..., Iterable[bytes]], req: Request) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": req.method,
        "PATH_INFO": req.path,
        "QUERY_STRING": req.query.encode("utf-8").decode("latin-1"),
        "SERVER_NAME": "test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in req.headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = value.encode("utf-8").decode("latin-1")
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        return lambda data: None

    body = b"".join(app(environ, start_response))
    ctype = next((v for k, v in seen["headers"] if k.lower() == "content-type"), "")
    return int(seen["status"].split()[0]), ctype, body


def _ask_url(url: str, req: Request) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                      timeout=30)
    try:
        conn.request(req.method, (parts.path.rstrip("/") + req.target), headers=dict(req.headers))
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        conn.close()


class ServerMismatch(AssertionError):
    """A server answered a request differently from the reference endpoint."""


def check_server(
    target: str | Callable[..., Iterable[bytes]],
    world: World,
    *,
    max_examples: int = 200,
    derandomize: bool = True,
) -> None:
    """Check a server against the reference endpoint (:class:`MemoryStore` over
    ``world``) on generated requests; raise :class:`ServerMismatch` describing the first
    (shrunk) difference in status, ``Content-Type`` or body bytes.

    ``target`` is a base URL (``"http://127.0.0.1:8000"``, serving the same ``world``) or
    a WSGI application.  Uses Hypothesis; call it from a plain test function."""
    from hypothesis import HealthCheck, given, settings

    from .endpoint import handle
    from .store import MemoryStore

    reference = MemoryStore(world)

    def ask(req: Request) -> Answer:
        if isinstance(target, str):
            return _ask_url(target, req)
        return _ask_wsgi(target, req)

    @settings(max_examples=max_examples, derandomize=derandomize, deadline=None,
              database=None, suppress_health_check=list(HealthCheck))
    @given(requests(world))
    def compare(req: Request) -> None:
        ref = handle(reference, req.method, req.path, req.query, list(req.headers))
        expected: Answer = (ref.status, ref.header("Content-Type") or "", ref.body)
        got = ask(req)
        if got != expected:
            raise ServerMismatch(
                f"{req.method} {req.target} with headers {dict(req.headers)}:\n"
                f"  expected {expected[0]} {expected[1]!r} {expected[2][:300]!r}\n"
                f"  got      {got[0]} {got[1]!r} {got[2][:300]!r}"
            )

    compare()
