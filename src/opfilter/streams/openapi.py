"""The OpenAPI 3.1 document of both production-plan-streams endpoints (SPEC §5, §9).

The reference server serves it at ``GET /openapi.json``; Schemathesis checks the server
against it in CI.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from .. import __version__
from ..openapi import error_response, error_schema, parameters
from ..values import INT64_MAX
from . import SCHEMA
from .endpoint import ITEM_SCHEMA, MESSAGES, PATH, RETRY_AFTER, STATUS, SUPPORTED_VERSION

__all__ = ["openapi_document"]

_JSON = "application/json"

_DATETIME = {"type": "string", "format": "date-time",
             "description": "UTC with milliseconds (truncated), e.g. 2026-03-27T11:39:28.826Z"}
_ID = {"type": "integer", "minimum": 1, "maximum": INT64_MAX}

_ROW: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _ID,
        "created_at": _DATETIME,
        "updated_at": _DATETIME,
        "date": {"type": "string", "format": "date", "description": "the first day of a month"},
        "value": {"type": "number", "maximum": 100,
                  "description": "shortest exact decimal form, e.g. 15.6"},
        "project_id": _ID,
        "stream_id": _ID,
        "production_plan_id": _ID,
        "deleted_at": {**_DATETIME, "type": ["string", "null"]},
    },
    "additionalProperties": False,
}
_ROW["required"] = list(_ROW["properties"])

_HEADERS = [
    {
        "name": "Wethod-Company",
        "in": "header",
        "required": True,
        "description": "The slug of the company (case-sensitive).",
        "schema": {"type": "string", "minLength": 1},
        "example": "acme",
    },
    {
        "name": "Wethod-Version",
        "in": "header",
        "required": True,
        "description": "The API version.",
        "schema": {"type": "string", "enum": [SUPPORTED_VERSION]},
        "example": SUPPORTED_VERSION,
    },
]

_DESCRIPTIONS = {
    "unauthorized": "No bearer token, or an unknown one.",
    "forbidden": "Unknown company, not a member, or neither view permission.",
    "precondition_failure": "Streams is not enabled in the company settings.",
    "not_found": "The id is not a positive 64-bit integer, or the row is not visible.",
    "unavailable": "No worker or database connection became free in time, or the database "
    "is down or restarting; retry after `Retry-After` seconds.",
}

_ERROR_HEADERS = {  # the headers endpoint.error_response adds (besides Content-Type)
    "unauthorized": {"WWW-Authenticate": {"description": "The scheme: `Bearer`.",
                                          "schema": {"type": "string", "const": "Bearer"}}},
    "unavailable": {"Retry-After": {"description": "Seconds to wait before retrying.",
                                    "schema": {"type": "integer", "minimum": 0},
                                    "example": int(RETRY_AFTER)}},
}


def _error(key: str) -> dict[str, Any]:
    schema = error_schema(key, failures=False)
    schema["properties"]["message"] = {"type": "string", "const": MESSAGES[key]}
    response: dict[str, Any] = {"description": _DESCRIPTIONS[key]}
    if key in _ERROR_HEADERS:
        response["headers"] = copy.deepcopy(_ERROR_HEADERS[key])
    response["content"] = {_JSON: {"schema": schema}}
    return response


def _bad_request() -> dict[str, Any]:
    response = error_response()
    response["description"] = (
        "A missing or unsupported Wethod-Company / Wethod-Version header (the failure's "
        "field is the header name), or an invalid query: " + response["description"]
    )
    return response


def _operation(summary: str, op_id: str, params: list[dict[str, Any]], ok: dict[str, Any],
               errors: tuple[str, ...]) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok, str(STATUS["invalid_data"]): _bad_request()}
    for key in errors:
        responses[str(STATUS[key])] = _error(key)
    return {
        "summary": summary,
        "operationId": op_id,
        "parameters": [*copy.deepcopy(_HEADERS), *params],
        "responses": dict(sorted(responses.items())),
    }


@cache
def _document() -> dict[str, Any]:
    row_ref = {"$ref": "#/components/schemas/ProductionPlanStream"}
    id_param = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "The row's id.",
        "schema": _ID,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Production plan streams (opfilter reference)",
            "version": __version__,
            "description": "The list semantics of GET /api/production-plan-streams as "
            "implemented by opfilter. Filters take `op:value` (eq, neq, gt, gte, lt, lte, in, "
            "nin, bt); a bare value means eq.",
        },
        "security": [{"bearer": []}],
        "paths": {
            PATH: {
                "get": _operation(
                    "List production plan streams", "listProductionPlanStreams",
                    parameters(SCHEMA),
                    {"description": "The page, ordered by id ascending (a page shorter than "
                     "`limit` is the last).",
                     "content": {_JSON: {"schema": {"type": "array", "items": row_ref}}}},
                    ("unauthorized", "forbidden", "precondition_failure", "unavailable"),
                ),
            },
            PATH + "/{id}": {
                "get": _operation(
                    "Get one production plan stream", "getProductionPlanStream",
                    [id_param, *parameters(ITEM_SCHEMA)],
                    {"description": "The row.", "content": {_JSON: {"schema": row_ref}}},
                    ("unauthorized", "forbidden", "precondition_failure", "not_found",
                     "unavailable"),
                ),
            },
        },
        "components": {
            "schemas": {"ProductionPlanStream": _ROW},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Authorization: Bearer <token>"},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of both endpoints (a fresh copy; change it freely)."""
    return copy.deepcopy(_document())
