"""The reference HTTP server: a WSGI application over any store, and ``opfilter serve``.

``make_app(store)`` is a plain WSGI callable (host it with gunicorn, waitress, …);
``opfilter serve`` runs it on a threaded ``wsgiref`` server with HTTP/1.1 keep-alive.

Under load and faults (SPEC §11) the server bounds what it holds: at most
``max_connections`` open connections (one thread each; an idle keep-alive connection is
closed after ``timeout`` seconds), and at most ``workers`` requests worked on at once.  A
request that gets no worker within ``queue_timeout`` seconds, and a connection beyond
``max_connections``, are answered 503 ``unavailable`` with ``Retry-After`` and
``Connection: close`` — never dropped unanswered.  Header names holding ``_`` are dropped
before the WSGI environment is built (``Wethod_Company`` would otherwise become
``HTTP_WETHOD_COMPANY``, the same as ``Wethod-Company``; gunicorn does the same), and
malformed request lines (HTTP/0.9, ``HTTP/2.0``, garbage) get an HTTP/1.1 status line with
the JSON body.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from .errors import CONTENT_TYPE, InvalidQuery, compact_json
from .streams.endpoint import Response, error_response, handle
from .streams.openapi import openapi_document
from .streams.store import Store

__all__ = ["demo_app", "make_app", "serve_command"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

def _wsgi_text(value: str) -> str:
    """WSGI hands bytes over as latin-1 text; read them as UTF-8 (bad bytes replaced)."""
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


def make_app(store: Store) -> WSGIApp:
    """The WSGI application serving both endpoints of SPEC §5 from ``store``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = _wsgi_text(str(environ.get("PATH_INFO", "")))
        raw_query = str(environ.get("QUERY_STRING", ""))
        try:
            query: str | bytes = raw_query.encode("latin-1")
        except UnicodeEncodeError:
            query = raw_query
        headers = [
            (key[5:].replace("_", "-"), _wsgi_text(str(value)))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        if path == OPENAPI_PATH:
            response = _openapi(method)
        else:
            response = handle(store, method, path, query, headers)
        reason = HTTPStatus(response.status).phrase
        headers_out = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason}", headers_out)
        return [response.body]

    return app


OPENAPI_PATH = "/openapi.json"


def _openapi(method: str) -> Response:
    """``GET /openapi.json``: the OpenAPI document of both endpoints, no authentication."""
    if method != "GET":
        return error_response("method_not_allowed")
    return Response(200, [("Content-Type", CONTENT_TYPE)], _openapi_body())


@cache
def _openapi_body() -> bytes:
    return compact_json(openapi_document())


def demo_app(db: str | None = None) -> WSGIApp:
    """The WSGI app over the demo world (``opfilter serve`` with no ``--data``), for any
    WSGI server: ``gunicorn 'opfilter.server:demo_app()'``,
    ``waitress-serve --call opfilter.server:demo_app``.  The demo SQLite database is built
    once into ``db`` (default: the user cache, see
    :func:`opfilter.streams.demo.default_demo_path`) and reused."""
    from .streams.demo import demo_store

    store, _ = demo_store(db)
    return make_app(store)


def _raw_response(response: Response) -> bytes:
    """``response`` as HTTP/1.1 bytes, with ``Content-Length`` and ``Connection: close``."""
    headers = [*response.headers, ("Content-Length", str(len(response.body))),
               ("Connection", "close")]
    head = f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (head + "\r\n").encode("latin-1") + response.body


_UNAVAILABLE = _raw_response(error_response("unavailable"))
"""The whole 503 ``unavailable`` answer the server writes itself (no worker free in time,
too many connections): the endpoint's, closing the connection."""


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive: several requests per connection, each one run only once
    it holds one of the server's worker slots."""

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # errors get a status line, never HTTP/0.9 bare
    timeout = 10  # seconds a connection may sit idle or half-sent before it is dropped
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stall
    server: _ThreadingServer

    def handle(self) -> None:
        self.close_connection = True
        self._one()
        while not self.close_connection:
            self._one()

    def _one(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:  # idle past the timeout, or reset by the peer
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        try:
            parsed = self.parse_request()
        except OSError:
            self.close_connection = True
            return
        if not parsed:
            self.close_connection = True
            return
        if len(self.requestline.split()) < 3:
            self.send_error(400, "HTTP/0.9 requests are not supported")
            return
        if self.request_version == "HTTP/1.0":
            # HTTP/1.0 keep-alive is not offered (the answer carries no "Connection:
            # keep-alive"), so the answer ends the connection: a 1.0 client that asked for
            # keep-alive would otherwise wait for a close until the idle timeout
            self.close_connection = True
        for name in {k for k in self.headers if "_" in k}:
            del self.headers[name]  # 'Wethod_Company' is not 'Wethod-Company'
        workers = self.server.workers
        if not workers.acquire(timeout=self.server.queue_timeout):
            self.log_error("no worker free within %gs: 503", self.server.queue_timeout)
            self.wfile.write(_UNAVAILABLE)
            self.close_connection = True
            return
        try:
            handler = ServerHandler(self.rfile, cast(IO[bytes], self.wfile), self.get_stderr(),
                                    self.get_environ(), multithread=True)
            handler.http_version = "1.1"
            handler.request_handler = self  # type: ignore[attr-defined]
            handler.run(cast(WSGIApp, self.server.get_app()))
        finally:
            workers.release()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (a malformed request line, huge headers) answer JSON too,
        never the standard library's HTML page."""
        body = InvalidQuery([{
            "field": "request",
            "message": f"the HTTP request could not be read: {message or code}",
        }]).json()
        self.log_error("code %d, message %s", code, message)
        if not self.request_version.startswith("HTTP/1."):
            self.request_version = "HTTP/1.1"
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} - [{self.log_date_time_string()}] "
                         f"{format % args}\n")
        sys.stderr.flush()


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """A thread per connection, at most ``max_connections`` of them; at most ``workers``
    requests worked on at once.  A connection beyond the bound is answered 503 at once by
    the accepting thread (and closed a little later, so that the answer is read before the
    unread request makes the kernel reset the connection)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    linger_seconds = 2.0
    # set by configure(), from the command line's flags (their defaults are in cli.py)
    workers: threading.BoundedSemaphore
    max_connections: int
    queue_timeout: float

    def server_activate(self) -> None:
        super().server_activate()
        self._open = 0
        self._open_lock = threading.Lock()
        self._lingering: deque[tuple[float, socket.socket]] = deque()

    def configure(self, *, workers: int, max_connections: int, queue_timeout: float) -> None:
        self.workers = threading.BoundedSemaphore(workers)
        self.max_connections = max_connections
        self.queue_timeout = queue_timeout

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = self._open >= self.max_connections
            if not full:
                self._open += 1
        if full:
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self._open_lock:
                self._open -= 1
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open -= 1

    def _turn_away(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(0.5)
            sock.sendall(_UNAVAILABLE)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self._lingering.append((time.monotonic() + self.linger_seconds, sock))
        while len(self._lingering) > 1024:
            self._lingering.popleft()[1].close()

    def service_actions(self) -> None:
        super().service_actions()
        now = time.monotonic()
        while self._lingering and self._lingering[0][0] <= now:
            self._lingering.popleft()[1].close()


def _build_store(args: argparse.Namespace) -> tuple[Store, list[str]]:
    """The store the flags ask for, and lines to print about it."""
    from .streams.demo import demo_store, demo_world
    from .streams.store import MemoryStore
    from .streams.world import load_world

    notes: list[str] = []
    world = None
    if args.data:
        world = load_world(args.data)
        notes.append(f"data: {args.data} ({len(world.rows)} rows)")

    live = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        """One line redrawn on a terminal; a single line when stderr is a log."""
        if live:
            sys.stderr.write(f"\rbuilding the demo world: {done:,}/{total:,} rows")
        elif done < total:
            return
        else:
            sys.stderr.write(f"built the demo world: {total:,} rows")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    if args.store == "memory":
        return MemoryStore(world if world is not None else demo_world(progress)), notes
    from .streams import PostgresStore, SQLiteStore

    if args.store == "postgresql":
        if not args.dsn:
            raise SystemExit("opfilter serve: --store postgresql needs --dsn")
        return PostgresStore.from_world(world if world is not None else demo_world(progress),
                                        args.dsn, max_size=args.pool_size,
                                        timeout=args.timeout), notes
    sqlite_options: dict[str, Any] = {"max_connections": args.pool_size, "timeout": args.timeout}
    if world is not None:
        return SQLiteStore.from_world(world, args.db or ":memory:", **sqlite_options), notes
    store, built = demo_store(args.db or None, progress, **sqlite_options)
    notes.append(f"demo database: {store.path} ({'built now' if built else 'built earlier'})")
    return store, notes


def serve_command(args: argparse.Namespace) -> int:
    """``opfilter serve``: build the store, print how to talk to it, serve until Ctrl-C.
    ``args`` come from the ``serve`` parser of :mod:`opfilter.cli`, which holds every
    flag's default."""
    from .streams.demo import DEMO_TOKENS
    from .streams.store import StoreUnavailable
    from .streams.world import FixtureError

    logging.basicConfig(level=logging.WARNING)
    try:
        store, notes = _build_store(args)
    except FixtureError as e:
        sys.stderr.write(f"opfilter serve: bad fixture: {e}\n")
        return 2
    except OSError as e:
        sys.stderr.write(f"opfilter serve: {e}\n")
        return 2
    except StoreUnavailable as e:
        sys.stderr.write(f"opfilter serve: the database is unavailable: {e}\n")
        return 2
    try:
        server = make_server(args.host, args.port, make_app(store),
                             server_class=_ThreadingServer, handler_class=_Handler)
    except OSError as e:
        sys.stderr.write(f"opfilter serve: cannot listen on {args.host}:{args.port}: {e}\n")
        return 2
    server.configure(workers=args.workers, max_connections=args.max_connections,
                     queue_timeout=args.timeout)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{host}:{port}"
    out = [f"opfilter serving GET /api/production-plan-streams on {url} (store: {args.store})",
           *notes]
    if not args.data:
        out.append("demo tokens:")
        out += [f"  {kind:<14} {token}" for kind, token in DEMO_TOKENS.items()]
        hdr = (f"-H 'Authorization: Bearer {DEMO_TOKENS['admin']}' "
               "-H 'Wethod-Company: acme' -H 'Wethod-Version: 2024-06-15'")
        out += [
            "try:",
            f"  curl -s {hdr} '{url}/api/production-plan-streams?limit=3'",
            f"  curl -s {hdr} '{url}/api/production-plan-streams?project_id=in:1,2"
            "&updated_at=gte:2024-06-01&limit=5'",
            f"  curl -s {hdr} '{url}/api/production-plan-streams?project_id=ge:1'",
        ]
    out.append("Ctrl-C stops the server.")
    print("\n".join(out), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nstopped.", flush=True)
    finally:
        server.server_close()
    return 0
