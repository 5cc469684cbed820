"""opfilter.openapi and the served OpenAPI document (SPEC §9)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openapi_spec_validator import validate

from opfilter import EnumParam, Filter, InvalidQuery, Limit, Schema, parse_query
from opfilter.openapi import error_response, parameters, pattern
from opfilter.server import make_app
from opfilter.streams import SCHEMA, endpoint, openapi_document
from opfilter.streams.endpoint import ITEM_SCHEMA, STATUS
from opfilter.streams.store import MemoryStore
from opfilter.streams.world import World
from opfilter.testing import noisy_query_strings
from schemas import ALL_TYPES

ODD_ENUM = Schema(
    Filter("w", "enum", choices=("a-b", "c]d", "^e", "back\\slash", "[f"), nullable=True),
    Filter("flag", "bool", nullable=True),
    Filter("amount", "decimal", nullable=True),
    Filter("day", "date", nullable=True),
    EnumParam("mode", ("x", "y"), default="x"),
    Limit(),
    name="odd",
)

SCHEMAS = [SCHEMA, ALL_TYPES, ODD_ENUM, ITEM_SCHEMA]


def _patterns(schema: Schema) -> dict[str, re.Pattern[str]]:
    out = {}
    for p in parameters(schema):
        regex = p["schema"].get("pattern")
        if regex is not None:
            out[p["name"]] = re.compile(regex)
    return out


@pytest.mark.parametrize("schema", [SCHEMA, ALL_TYPES, ODD_ENUM], ids=lambda s: s.name)
@given(data=st.data())
def test_every_valid_value_matches_its_pattern(schema: Schema, data: st.DataObject) -> None:
    """SPEC §9: the pattern is a necessary condition (noisy spellings: quotes, spaces around
    commas, the '+' repair, leading zeros, offsets, day operands, null)."""
    text, query = data.draw(noisy_query_strings(schema))
    assert parse_query(text, schema) == query
    patterns = _patterns(schema)
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name in patterns:
            assert patterns[name].search(value), (name, value, patterns[name].pattern)


@pytest.mark.parametrize(
    ("schema", "name", "value"),
    [
        (SCHEMA, "project_id", "ge:1"),
        (SCHEMA, "project_id", "abc"),
        (SCHEMA, "updated_at", "gte:2024-01-01t00:00:00z"),
        (SCHEMA, "deleted_at", "eq:nil"),
        (ALL_TYPES, "b", "True"),
        (ALL_TYPES, "e", "eq:purple"),
        (ODD_ENUM, "w", "in:a_b"),
    ],
)
def test_values_outside_the_pattern_are_invalid(schema: Schema, name: str, value: str) -> None:
    assert not _patterns(schema)[name].search(value)
    with pytest.raises(InvalidQuery):
        parse_query([(name, value)], schema)


def test_parameters_follow_the_schema() -> None:
    params = parameters(SCHEMA)
    assert [p["name"] for p in params] == [p.name for p in SCHEMA.params]
    assert all(p["in"] == "query" and p["required"] is False for p in params)
    by_name = {p["name"]: p for p in params}
    assert by_name["deleted"]["schema"]["enum"] == ["exclude", "include", "only"]
    assert by_name["limit"]["schema"] | {} == {"type": "integer", "minimum": 1, "maximum": 100,
                                               "default": 100}
    assert by_name["offset"]["schema"]["maximum"] == 2**63 - 1
    assert by_name["project_id"]["x-opfilter-repeatable"] is True
    for op in ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "bt"):
        assert op in by_name["updated_at"]["description"]
    assert "null" in by_name["deleted_at"]["description"]
    assert "null" not in by_name["updated_at"]["description"]
    eq_only = parameters(ALL_TYPES)
    e = next(p for p in eq_only if p["name"] == "e")
    assert "gt" not in e["description"].split("Operators:")[1].split(",")[0]
    assert "pattern" not in next(p for p in eq_only if p["name"] == "s")["schema"]
    assert pattern(ALL_TYPES.field("b")) == '^(?:(?:eq|neq|in|nin):)?[ ",aeflrstu]+$'


def test_error_response_describes_the_400_body() -> None:
    from jsonschema import Draft202012Validator

    schema = error_response()["content"]["application/json"]["schema"]
    with pytest.raises(InvalidQuery) as info:
        parse_query("project_id=x&limit=0", SCHEMA)
    Draft202012Validator(schema).validate(json.loads(info.value.json()))
    assert not Draft202012Validator(schema).is_valid({"key": "invalid_data", "message": "x"})


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = openapi_document()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    list_op = doc["paths"]["/api/production-plan-streams"]["get"]
    item_op = doc["paths"]["/api/production-plan-streams/{id}"]["get"]
    assert set(list_op["responses"]) == {"200", "400", "401", "403", "412", "503"}
    assert set(item_op["responses"]) == {"200", "400", "401", "403", "404", "412", "503"}
    names = [p["name"] for p in list_op["parameters"]]
    assert names == ["Wethod-Company", "Wethod-Version", *(p.name for p in SCHEMA.params)]
    assert [p["name"] for p in item_op["parameters"]] == [
        "Wethod-Company", "Wethod-Version", "id", "deleted"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# what each operation can answer besides 200: every error key but the routing ones (another
# path or method) and the last-resort 500; only the {id} operation has a 404
_LIST_ERRORS = {"invalid_data", "unauthorized", "forbidden", "precondition_failure",
                "unavailable"}
_OPERATION_ERRORS = {"/api/production-plan-streams": _LIST_ERRORS,
                     "/api/production-plan-streams/{id}": _LIST_ERRORS | {"not_found"}}


@pytest.mark.parametrize("path", list(_OPERATION_ERRORS))
def test_every_error_the_endpoint_writes_is_documented(path: str) -> None:
    """SPEC §9: every status with its body schema — the status from the endpoint's own
    table, the body the endpoint writes valid against the schema, its headers named."""
    from jsonschema import Draft202012Validator

    responses = openapi_document()["paths"][path]["get"]["responses"]
    keys = _OPERATION_ERRORS[path]
    assert set(responses) == {"200", *(str(STATUS[key]) for key in keys)}
    for key in keys:
        documented = responses[str(STATUS[key])]
        failures = [{"field": "limit", "message": "x"}] if key == "invalid_data" else None
        answer = endpoint.error_response(key, failures)
        schema = documented["content"]["application/json"]["schema"]
        Draft202012Validator(schema).validate(answer.json())
        assert schema["properties"]["key"]["const"] == key
        extra = {name for name, _ in answer.headers} - {"Content-Type"}
        assert extra == set(documented.get("headers", {})), key


def test_rows_match_the_200_schema() -> None:
    from jsonschema import Draft202012Validator

    from opfilter.streams.demo import demo_world

    row_schema = openapi_document()["components"]["schemas"]["ProductionPlanStream"]
    validator = Draft202012Validator(row_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for row in demo_world(rows=300).rows:
        validator.validate(json.loads(row.to_json()))


def _get(app: Any, method: str, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": ""}
    body = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], body


def test_the_reference_server_serves_the_document_without_authentication() -> None:
    app = make_app(MemoryStore(World()))
    status, headers, body = _get(app, "GET", "/openapi.json")
    assert status == "200 OK"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == openapi_document()
    assert b": " not in body[:200]
    status, headers, body = _get(app, "POST", "/openapi.json")
    assert status.startswith("405") and headers["Allow"] == "GET"
    assert json.loads(body)["key"] == "method_not_allowed"
