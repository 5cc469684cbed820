"""opfilter.testing.check_server: agrees with correct servers, catches broken ones."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from opfilter.server import make_app
from opfilter.streams.store import MemoryStore
from opfilter.streams.world import load_world
from opfilter.testing import ServerMismatch, check_server

WORLD = load_world(Path(__file__).parent / "fixtures" / "world.json")


def test_the_wsgi_layer_adds_nothing() -> None:
    """make_app's status, Content-Type and bytes equal handle()'s for every request kind
    (the checker speaks WSGI; the reference is the endpoint function itself)."""
    check_server(make_app(MemoryStore(WORLD)), WORLD, max_examples=150)


def test_the_sqlite_app_conforms() -> None:
    from opfilter.streams import SQLiteStore

    check_server(make_app(SQLiteStore.from_world(WORLD)), WORLD, max_examples=150)


WSGI = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _drop_last_row(app: WSGI) -> WSGI:
    """A subtly wrong server: it loses the last row of every non-empty page."""

    def broken(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = b"".join(app(environ, start_response))
        data = json.loads(body)
        if isinstance(data, list) and data:
            return [json.dumps(data[:-1], separators=(",", ":")).encode()]
        return [body]

    return broken


def test_a_broken_app_is_caught_with_the_request_that_shows_it() -> None:
    with pytest.raises(ServerMismatch) as info:
        check_server(_drop_last_row(make_app(MemoryStore(WORLD))), WORLD, max_examples=300)
    assert "GET /api/production-plan-streams" in str(info.value)
    assert "expected 200" in str(info.value)
