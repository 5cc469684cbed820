"""``GET /api/production-plan-streams`` and ``GET /api/production-plan-streams/{id}``
(SPEC §5), framework-free: :func:`handle` takes the request's parts and a
:class:`~opfilter.streams.store.Store` and returns a :class:`Response`.

>>> from opfilter.streams.store import MemoryStore
>>> from opfilter.streams.world import World
>>> r = handle(MemoryStore(World()), "GET", "/api/production-plan-streams", "", {})
>>> r.status, r.json()["key"]
(401, 'unauthorized')

The checks run in SPEC §5's order and each stops the request: 401, the header 400s,
403, 412, the query 400 (with every failure), then 200 — and for ``{id}`` a 404 last.
Routing comes first: another path is 404 and another method on these paths is 405 (with
``Allow: GET``).  A store that cannot answer now (:class:`~.store.StoreUnavailable`: its
connections are all busy, or the database is down) gives 503 ``unavailable`` with
``Retry-After``.  Anything else unexpected is logged on the ``opfilter`` logger and
answered with a bare 500 ``internal_error``.

Headers mean the same through :func:`handle` and over HTTP (SPEC §11): names are
case-insensitive and ``_`` is not ``-``; ``Wethod-Company`` and ``Wethod-Version`` given
more than once — as several headers, or as one comma-separated value, which is how WSGI
servers hand several headers over — are the 400 "given more than once"; a company value
that cannot be a slug (:func:`~.world.is_slug`: NUL, control characters, spaces,
non-ASCII) is 403 without asking the store.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ..errors import CONTENT_TYPE, INVALID_DATA_MESSAGE, InvalidQuery, compact_json, utf8
from ..query import Query, parse_query
from ..schema import EnumParam, Schema
from ..values import INT64_MAX, preview
from . import DELETED_CHOICES, SCHEMA
from .model import ProductionPlanStream
from .store import Store, StoreUnavailable
from .world import PERMISSION_VIEW, PERMISSION_VIEW_OTHER, is_slug

__all__ = [
    "CONTENT_TYPE",
    "ITEM_SCHEMA",
    "MESSAGES",
    "PATH",
    "RETRY_AFTER",
    "STATUS",
    "SUPPORTED_VERSION",
    "HeadersInput",
    "Response",
    "error_body",
    "error_response",
    "handle",
]

logger = logging.getLogger("opfilter")

PATH = "/api/production-plan-streams"
SUPPORTED_VERSION = "2024-06-15"

MESSAGES: Mapping[str, str] = {
    "unauthorized": (
        "Authentication is required: send a valid API token as 'Authorization: Bearer <token>'."
    ),
    "invalid_data": INVALID_DATA_MESSAGE,
    "forbidden": "You do not have permission to view production plan streams in this company.",
    "precondition_failure": "Streams is not enabled in the company settings.",
    "not_found": "The requested resource was not found.",
    "method_not_allowed": "This method is not allowed on this resource; use GET.",
    "internal_error": "An internal error occurred. Please try again later.",
    "unavailable": "The service is busy or its database is unavailable; retry in a moment.",
}
"""The fixed English message of every error key."""

STATUS: Mapping[str, int] = {
    "unauthorized": 401,
    "invalid_data": 400,
    "forbidden": 403,
    "precondition_failure": 412,
    "not_found": 404,
    "method_not_allowed": 405,
    "internal_error": 500,
    "unavailable": 503,
}
"""The HTTP status of every error key (the OpenAPI document is built from it)."""

RETRY_AFTER = "1"
"""The ``Retry-After`` seconds of a 503 ``unavailable``."""

ITEM_SCHEMA = Schema(
    EnumParam("deleted", DELETED_CHOICES, default="exclude"),
    name="production-plan-stream",
)
"""What ``GET /api/production-plan-streams/{id}`` reads from its query: only ``deleted``
(every other parameter is ignored)."""

HeadersInput: TypeAlias = "Mapping[str, str | Iterable[str]] | Iterable[tuple[str, str]]"

_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([!-~]+)\Z")
_ID = re.compile(r"[0-9]+\Z")
_OWS = " \t"


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response: ``status``, ``headers`` as ``(name, value)`` pairs, ``body``."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lower = name.lower()
        return next((v for n, v in self.headers if n.lower() == lower), None)

    def json(self) -> Any:
        """The body, parsed (numbers that are not integers as ``Decimal``)."""
        from decimal import Decimal

        return json.loads(self.body, parse_float=Decimal)


# -- bodies ------------------------------------------------------------------------------


def error_body(key: str, failures: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """``{"key", "message"[, "failures"]}`` in that order, with the key's fixed message."""
    body: dict[str, Any] = {"key": key, "message": MESSAGES[key]}
    if failures is not None:
        body["failures"] = [{"field": f["field"], "message": f["message"]} for f in failures]
    return body


def _json_response(
    status: int, body: bytes, extra: list[tuple[str, str]] | None = None
) -> Response:
    headers = [("Content-Type", CONTENT_TYPE)]
    if extra:
        headers.extend(extra)
    return Response(status, headers, body)


def error_response(key: str, failures: list[dict[str, str]] | None = None) -> Response:
    """The answer for error ``key`` (its status, fixed message and extra headers)."""
    extra: list[tuple[str, str]] = []
    if key == "method_not_allowed":
        extra.append(("Allow", "GET"))
    elif key == "unauthorized":
        extra.append(("WWW-Authenticate", "Bearer"))
    elif key == "unavailable":
        extra.append(("Retry-After", RETRY_AFTER))
    return _json_response(STATUS[key], compact_json(error_body(key, failures)), extra)


def _rows_response(rows: Iterable[ProductionPlanStream]) -> Response:
    return _json_response(200, utf8("[" + ",".join(r.to_json() for r in rows) + "]"))


# -- headers -----------------------------------------------------------------------------


def _header_map(headers: Any) -> dict[str, list[str]]:
    """Header names lowercased → every value given, in order."""
    out: dict[str, list[str]] = {}
    if isinstance(headers, Mapping):
        items: Iterable[Any] = (
            (k, v)
            for k, vs in headers.items()
            for v in ([vs] if isinstance(vs, str | bytes) else vs)
        )
    else:
        items = headers
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out.setdefault(str(name).lower(), []).append(str(value))
    return out


def _one_header(
    hdrs: dict[str, list[str]], name: str, failures: list[dict[str, str]]
) -> str | None:
    values = [v.strip(_OWS) for v in hdrs.get(name.lower(), [])]
    if len(values) > 1 or any("," in v for v in values):
        failures.append({
            "field": name,
            "message": f"{name}: the header is given more than once (or holds a comma, which "
            "is how repeated headers are joined); give it exactly once",
        })
        return None
    if not values or not values[0]:
        return ""
    return values[0]


def _check_headers(hdrs: dict[str, list[str]]) -> tuple[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    slug = _one_header(hdrs, "Wethod-Company", failures)
    if slug == "":
        failures.append({
            "field": "Wethod-Company",
            "message": "Wethod-Company: the header is missing or empty; give the slug of the "
            "company you want to interact with, as in 'Wethod-Company: acme'",
        })
    version = _one_header(hdrs, "Wethod-Version", failures)
    if version == "":
        failures.append({
            "field": "Wethod-Version",
            "message": f"Wethod-Version: the header is missing or empty; give the API version, "
            f"'Wethod-Version: {SUPPORTED_VERSION}'",
        })
    elif version is not None and version != SUPPORTED_VERSION:
        failures.append({
            "field": "Wethod-Version",
            "message": f"Wethod-Version: '{preview(version)}' is not a supported version: "
            f"expected {SUPPORTED_VERSION}",
        })
    return slug or "", failures


def _bearer_token(hdrs: dict[str, list[str]]) -> str | None:
    values = hdrs.get("authorization", [])
    if len(values) != 1:
        return None
    m = _BEARER.match(values[0].strip(_OWS))
    return None if m is None else m[1]


# -- the request -------------------------------------------------------------------------


def _route(path: str) -> tuple[bool, str | None]:
    """(matched, the ``{id}`` segment or ``None`` for the list)."""
    if path == PATH:
        return True, None
    if path.startswith(PATH + "/"):
        rest = path[len(PATH) + 1 :]
        if rest and "/" not in rest:
            return True, rest
    return False, None


def _row_id(segment: str) -> int | None:
    if _ID.match(segment) is None or len(segment.lstrip("0")) > 19:
        return None
    n = int(segment)
    return n if 1 <= n <= INT64_MAX else None


def handle(
    store: Store,
    method: str,
    path: str,
    query: Any = "",
    headers: HeadersInput = (),
) -> Response:
    """Answer one request to the production plan streams endpoints (SPEC §5).

    ``path`` is the decoded path without the query string; ``query`` a raw query string
    (``str`` or ``bytes``) or any already-decoded form :func:`opfilter.parse_query`
    accepts; ``headers`` a mapping (values a string or a list of strings) or ``(name,
    value)`` pairs, names case-insensitive.  Never raises: a
    :class:`~.store.StoreUnavailable` is answered 503 ``unavailable`` (with
    ``Retry-After``); any other exception is logged and answered with 500
    ``internal_error``.
    """
    try:
        return _handle(store, method, path, query, headers)
    except StoreUnavailable as e:
        logger.warning("opfilter: store unavailable answering %s %s: %s", method, path, e)
        return error_response("unavailable")
    except Exception:
        logger.exception("opfilter: unhandled error answering %s %s", method, path)
        return error_response("internal_error")


def _handle(store: Store, method: str, path: str, query: Any, headers: Any) -> Response:
    matched, segment = _route(path)
    if not matched:
        return error_response("not_found")
    if method != "GET":
        return error_response("method_not_allowed")
    hdrs = _header_map(headers)

    token = _bearer_token(hdrs)
    user_id = None if token is None else store.authenticate(token)
    if user_id is None:
        return error_response("unauthorized")

    slug, header_failures = _check_headers(hdrs)
    if header_failures:
        return error_response("invalid_data", header_failures)

    if not is_slug(slug):  # NUL, control characters, non-ASCII: no company has it
        return error_response("forbidden")
    company = store.company(slug)
    permissions = None if company is None else store.permissions(user_id, slug)
    if company is None or permissions is None:
        return error_response("forbidden")
    can_own = PERMISSION_VIEW in permissions
    can_other = PERMISSION_VIEW_OTHER in permissions
    if not (can_own or can_other):
        return error_response("forbidden")

    if not company.streams_enabled:
        return error_response("precondition_failure")

    try:
        if segment is None:
            parsed = parse_query(query, SCHEMA)
        else:
            deleted = parse_query(query, ITEM_SCHEMA).deleted
            parsed = Query._checked(SCHEMA, (), {"deleted": deleted})  # a parsed value
    except InvalidQuery as e:
        return error_response("invalid_data", e.failures)

    if segment is None:
        return _rows_response(store.list_rows(slug, user_id, can_own, can_other, parsed))
    row_id = _row_id(segment)
    row = (
        None
        if row_id is None
        else store.get_row(slug, user_id, can_own, can_other, row_id, parsed)
    )
    if row is None:
        return error_response("not_found")
    return _json_response(200, utf8(row.to_json()))
