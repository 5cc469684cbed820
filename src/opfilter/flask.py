"""Flask integration (extra ``opfilter[flask]``, SPEC §9).

.. code-block:: python

    from flask import Flask
    from opfilter.flask import install, parse_request
    from opfilter.streams import SCHEMA

    app = Flask(__name__)
    install(app)                      # InvalidQuery -> the exact 400 of SPEC §5

    @app.get("/api/production-plan-streams")
    def list_streams():
        q = parse_request(SCHEMA)     # raises InvalidQuery
        ...

:func:`parse_request` reads the raw ``request.query_string`` (bytes), so undecodable
bytes get SPEC §3's message.  The 400 is written by :meth:`opfilter.InvalidQuery.json`,
never by ``jsonify``, so ``app.json`` settings (key sorting, ASCII escapes) cannot change
its bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import CONTENT_TYPE, InvalidQuery
from .query import Query, parse_query
from .schema import Schema

if TYPE_CHECKING:
    from flask import Flask
    from flask.sansio.app import App
    from werkzeug.wrappers import Response

__all__ = ["install", "invalid_query_response", "parse_request"]


def parse_request(schema: Schema, *, strict: bool | None = None) -> Query:
    """The current request's query (``flask.request.query_string``) parsed with
    ``schema``; raises :class:`~opfilter.InvalidQuery`."""
    from flask import request

    return parse_query(request.query_string, schema, strict=strict)


def invalid_query_response(exc: InvalidQuery) -> Response:
    """The exact 400 of SPEC §5 for ``exc`` (status, content type and body bytes)."""
    from flask import Response

    return Response(exc.json(), status=400, headers={"Content-Type": CONTENT_TYPE})


def install(app: Flask | App) -> None:
    """Answer :class:`~opfilter.InvalidQuery` raised in a view with the exact 400."""
    app.register_error_handler(InvalidQuery, invalid_query_response)
