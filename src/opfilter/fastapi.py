"""FastAPI / Starlette integration (extra ``opfilter[fastapi]``, SPEC §9).

.. code-block:: python

    from fastapi import Depends, FastAPI
    from opfilter import Query
    from opfilter.fastapi import Filters, install
    from opfilter.streams import SCHEMA

    app = FastAPI()
    install(app)                      # InvalidQuery -> the exact 400 of SPEC §5

    @app.get("/api/production-plan-streams")
    def list_streams(q: Query = Depends(Filters(SCHEMA))) -> ...: ...

:class:`Filters` parses the **raw** query string (``scope["query_string"]``), so repeated
keys, bare names and undecodable bytes reach opfilter as they were sent.  FastAPI never
validates the parameters itself (no 422): they are declared to it as optional values of
any type, only so that they appear in ``/openapi.json`` with opfilter's own description
(:func:`opfilter.openapi.parameters`).  :func:`install` also replaces FastAPI's 422 in the
document of routes using :class:`Filters` by opfilter's 400.  A Starlette app needs only
Starlette: FastAPI is imported when it is installed, never required.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from .errors import CONTENT_TYPE, InvalidQuery
from .openapi import error_response, parameters
from .query import Query, parse_query
from .schema import Schema

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["Filters", "install", "invalid_query_response"]


class Filters:
    """A FastAPI dependency (``q: Query = Depends(Filters(SCHEMA))``) that parses the
    request's raw query string with ``schema``; raises :class:`~opfilter.InvalidQuery`
    (turned into the 400 by :func:`install`).  In Starlette, call it on the request:
    ``Filters(SCHEMA)(request)``."""

    def __init__(self, schema: Schema, *, strict: bool | None = None) -> None:
        self.schema = schema
        self.strict = strict
        self.__signature__ = _signature(schema)

    def __call__(self, request: Request, **_declared: Any) -> Query:
        raw: bytes = request.scope.get("query_string", b"")
        return parse_query(raw, self.schema, strict=self.strict)

    def __repr__(self) -> str:
        return f"Filters({self.schema!r})"


def _signature(schema: Schema) -> inspect.Signature:
    """``(request, *, <one keyword per parameter>)``: FastAPI documents the keywords with
    opfilter's parameter objects and, their type being ``Any`` with a default, never
    rejects a value.  Without FastAPI (Starlette alone) only ``(request)``."""
    from starlette.requests import Request

    out = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                             annotation=Request)]
    try:
        from fastapi import params
    except ImportError:  # Starlette alone: nothing reads the keywords
        return inspect.Signature(out, return_annotation=Query)
    for i, spec in enumerate(parameters(schema)):
        declared = params.Query(
            None,
            alias=spec["name"],
            description=spec["description"],
            json_schema_extra={"x-opfilter": True, **spec["schema"]},
        )
        out.append(inspect.Parameter(f"opfilter_param_{i}", inspect.Parameter.KEYWORD_ONLY,
                                     default=declared, annotation=Any))
    return inspect.Signature(out, return_annotation=Query)


def invalid_query_response(exc: InvalidQuery) -> Response:
    """The exact 400 of SPEC §5 for ``exc`` (status, content type and body bytes)."""
    from starlette.responses import Response

    return Response(exc.json(), status_code=400, headers={"Content-Type": CONTENT_TYPE})


async def _handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidQuery)
    return invalid_query_response(exc)


def install(app: Starlette) -> None:
    """Answer :class:`~opfilter.InvalidQuery` with the exact 400 (FastAPI or Starlette);
    for FastAPI, document that 400 (instead of the 422) on routes using :class:`Filters`,
    and show the filter parameters with their full schema (pattern, length).  FastAPI need
    not be installed for a Starlette app."""
    try:
        from fastapi import FastAPI
    except ImportError:  # Starlette alone
        is_fastapi = False
    else:
        is_fastapi = isinstance(app, FastAPI)
    if is_fastapi:
        _document_filters(app)
    app.add_exception_handler(InvalidQuery, _handler)


def _filters_of(dependant: Any) -> list[Filters]:
    """Every :class:`Filters` in a route's dependency tree."""
    call = getattr(dependant, "call", None)
    found = [call] if isinstance(call, Filters) else []
    for sub in getattr(dependant, "dependencies", ()):
        found.extend(_filters_of(sub))
    return found


def _document_filters(app: Any) -> None:
    from fastapi.routing import APIRoute

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema  # type: ignore[no-any-return]
        doc: dict[str, Any] = original()
        for route in app.routes:
            found = _filters_of(route.dependant) if isinstance(route, APIRoute) else []
            if not found:
                continue
            ours = {p["name"]: p for f in found for p in parameters(f.schema)}
            for method in route.methods:
                op = doc.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if op is None:
                    continue
                op["parameters"] = [
                    ours.get(p.get("name"), p) if p.get("schema", {}).get("x-opfilter") else p
                    for p in op.get("parameters", ())
                ]
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                responses["400"] = error_response()
        app.openapi_schema = doc
        return doc

    app.openapi = openapi
