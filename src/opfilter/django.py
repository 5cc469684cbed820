"""Django integration (extra ``opfilter[django]``, SPEC §9).

.. code-block:: python

    from opfilter import InvalidQuery
    from opfilter.django import error_response, parse_request
    from opfilter.streams import SCHEMA

    def list_streams(request):
        try:
            q = parse_request(request, SCHEMA)
        except InvalidQuery as e:
            return error_response(e)          # the exact 400 of SPEC §5
        ...

:func:`parse_request` reads the raw ``QUERY_STRING`` (not ``request.GET``, which has
already replaced undecodable bytes), so ``%FF`` gets SPEC §3's message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import CONTENT_TYPE, InvalidQuery
from .query import Query, parse_query
from .schema import Schema

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["error_response", "parse_request"]


def _raw_query(request: HttpRequest) -> str | bytes:
    """The query string as sent: WSGI hands it over as latin-1 text (bytes as code
    points); ASGI servers give it decoded the same way."""
    raw = request.META.get("QUERY_STRING", "")
    if isinstance(raw, bytes):
        return raw
    try:
        return str(raw).encode("latin-1")
    except UnicodeEncodeError:  # not from a server (a test client given text): as is
        return str(raw)


def parse_request(
    request: HttpRequest, schema: Schema, *, strict: bool | None = None
) -> Query:
    """``request``'s query string parsed with ``schema``; raises
    :class:`~opfilter.InvalidQuery`.  Without a ``QUERY_STRING`` (a request built by
    hand), ``request.GET`` is read instead."""
    if "QUERY_STRING" not in request.META:
        return parse_query(request.GET, schema, strict=strict)
    return parse_query(_raw_query(request), schema, strict=strict)


def error_response(exc: InvalidQuery) -> HttpResponse:
    """The exact 400 of SPEC §5 for ``exc`` (status, content type and body bytes)."""
    from django.http import HttpResponse

    return HttpResponse(exc.json(), status=400, content_type=CONTENT_TYPE)
