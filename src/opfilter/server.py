"""The reference HTTP server: a WSGI application over any store, and ``opfilter serve``.

``make_app(store)`` is a plain WSGI callable (host it with gunicorn, waitress, …);
``opfilter serve`` runs it on a threaded ``wsgiref`` server with HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from .errors import CONTENT_TYPE, INVALID_DATA_MESSAGE, compact_json
from .streams.endpoint import Response, handle
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
    from .streams.endpoint import error_response
    from .streams.openapi import openapi_document

    if method != "GET":
        return error_response("method_not_allowed")
    global _openapi_body
    if _openapi_body is None:
        _openapi_body = compact_json(openapi_document())
    return Response(200, [("Content-Type", CONTENT_TYPE)], _openapi_body)


_openapi_body: bytes | None = None


def demo_app(db: str | None = None) -> WSGIApp:
    """The WSGI app over the demo world (``opfilter serve`` with no ``--data``), for any
    WSGI server: ``gunicorn 'opfilter.server:demo_app()'``,
    ``waitress-serve --call opfilter.server:demo_app``.  The demo SQLite database is built
    once into ``db`` (default: the user cache, see
    :func:`opfilter.streams.demo.default_demo_path`) and reused."""
    from .streams.demo import demo_store

    store, _ = demo_store(db)
    return make_app(store)


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive: several requests per connection."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds a connection may sit idle or half-sent before it is dropped

    def handle(self) -> None:
        self.close_connection = True
        self._one()
        while not self.close_connection:
            self._one()

    def _one(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():
            self.close_connection = True
            return
        handler = ServerHandler(self.rfile, cast(IO[bytes], self.wfile), self.get_stderr(),
                                self.get_environ(), multithread=True)
        handler.http_version = "1.1"
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (a malformed request line, huge headers) answer JSON too,
        never the standard library's HTML page."""
        body = json.dumps(
            {"key": "invalid_data", "message": INVALID_DATA_MESSAGE,
             "failures": [{"field": "request",
                           "message": f"the HTTP request could not be read: {message or code}"}]},
            separators=(",", ":"), ensure_ascii=False,
        ).encode()
        self.log_error("code %d, message %s", code, message)
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
    daemon_threads = True
    allow_reuse_address = True


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
    from .streams.sqlstore import PostgresStore, SQLiteStore

    if args.store == "postgresql":
        if not args.dsn:
            raise SystemExit("opfilter serve: --store postgresql needs --dsn")
        return PostgresStore.from_world(world if world is not None else demo_world(progress),
                                        args.dsn), notes
    if world is not None:
        return SQLiteStore.from_world(world, args.db or ":memory:"), notes
    store, built = demo_store(args.db or None, progress)
    notes.append(f"demo database: {store.path} ({'built now' if built else 'built earlier'})")
    return store, notes


def serve_command(args: argparse.Namespace) -> int:
    """``opfilter serve``: build the store, print how to talk to it, serve until Ctrl-C."""
    from .streams.demo import DEMO_TOKENS
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
    try:
        server = make_server(args.host, args.port, make_app(store),
                             server_class=_ThreadingServer, handler_class=_Handler)
    except OSError as e:
        sys.stderr.write(f"opfilter serve: cannot listen on {args.host}:{args.port}: {e}\n")
        return 2
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
