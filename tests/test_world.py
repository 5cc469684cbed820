"""The world and its fixture format (SPEC §6)."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from opfilter.streams.strategies import worlds
from opfilter.streams.world import (
    FixtureError,
    World,
    dump_world,
    dumps_world,
    load_world,
    loads_world,
)

SPEC_FIXTURE = """{
  "companies": [{"slug": "acme", "streams_enabled": true}],
  "users": [{"id": 10, "token": "tok-alice",
             "memberships": {"acme": ["production_plan.view", "production_plan.view_other"]}}],
  "projects": [{"id": 1, "company": "acme", "pm_id": 10, "account_id": 11}],
  "production_plan_streams": [{"id": 1, "created_at": "2024-01-03T09:00:00.000Z",
      "updated_at": "2024-01-05T09:00:00.000Z", "date": "2024-01-01", "value": 15.6,
      "project_id": 1, "stream_id": 1, "production_plan_id": 1, "deleted_at": null}]
}"""


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_FIXTURE, parse_float=Decimal)
    return data


def test_the_spec_example_loads() -> None:
    world = loads_world(SPEC_FIXTURE)
    assert world.company_by_slug["acme"].streams_enabled is True
    assert world.user_by_token["tok-alice"].id == 10
    assert world.project_by_id[1].account_id == 11
    (row,) = world.rows
    assert row.value == Decimal("15.6")
    assert row.deleted_at is None


def test_values_are_read_exactly_from_the_text() -> None:
    text = SPEC_FIXTURE.replace('"value": 15.6', '"value": 0.1000000000000000055511151231257827')
    assert loads_world(text).rows[0].value == Decimal("0.1000000000000000055511151231257827")


def test_defaults_and_unknown_keys() -> None:
    data = fixture()
    del data["companies"][0]["streams_enabled"]
    del data["production_plan_streams"][0]["deleted_at"]
    data["companies"][0]["colour"] = "blue"
    data["unknown_section"] = [1, 2, 3]
    del data["projects"]
    world = World.from_json(data)
    assert world.company_by_slug["acme"].streams_enabled is False
    assert world.rows[0].deleted_at is None
    assert world.projects == ()


def test_row_order_is_irrelevant() -> None:
    data = fixture()
    second = copy.deepcopy(data["production_plan_streams"][0])
    second["id"] = 0 + 5
    data["production_plan_streams"].insert(0, second)
    assert [r.id for r in World.from_json(data).rows] == [1, 5]


def _break(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = fixture()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("production_plan_streams", 0, "value"), Decimal("100.5"),
         "production_plan_streams[0] (id 1), field 'value': must be at most 100, got 100.5"),
        (("production_plan_streams", 0, "date"), "2024-01-15",
         "production_plan_streams[0] (id 1), field 'date': must be the first day of a month"),
        (("production_plan_streams", 0, "updated_at"), "2024-01-05T09:00:00.1234567Z",
         "production_plan_streams[0] (id 1), field 'updated_at': '2024-01-05T09:00:00.1234567Z'"
         " has more than 6 fractional digits"),
        (("production_plan_streams", 0, "created_at"), KeyError,
         "production_plan_streams[0] (id 1), field 'created_at': is missing"),
        (("production_plan_streams", 0, "id"), 0,
         "production_plan_streams[0] (id 0), field 'id': must be an integer from 1"),
        (("production_plan_streams", 0), "row",
         "production_plan_streams[0]: must be a JSON object"),
        (("users", 0, "token"), "has space",
         "users[0] (id 10), field 'token': must be a non-empty string"),
        (("users", 0, "memberships"), {"acme": "production_plan.view"},
         "users[0] (id 10), field 'memberships': the permissions in 'acme' must be a JSON array"),
        (("projects", 0, "pm_id"), "10",
         "projects[0] (id 1), field 'pm_id': must be an integer from 1"),
        (("projects", 0, "company"), KeyError, "projects[0] (id 1), field 'company': is missing"),
        (("companies", 0, "streams_enabled"), "yes",
         "companies[0] (id 'acme'), field 'streams_enabled': must be true or false"),
        (("companies", 0, "slug"), "", "companies[0], field 'slug': must be a non-empty"),
        (("projects",), {"id": 1}, "projects: must be a JSON array"),
    ],
)
def test_load_errors_name_the_row_and_field(
    path: tuple[Any, ...], value: Any, message: str
) -> None:
    with pytest.raises(FixtureError) as info:
        World.from_json(_break(path, value))
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("section", "key", "field"),
    [
        ("companies", "slug", "slug"),
        ("users", "id", "id"),
        ("users", "token", "token"),
        ("projects", "id", "id"),
        ("production_plan_streams", "id", "id"),
    ],
)
def test_duplicates_are_refused(section: str, key: str, field: str) -> None:
    data = fixture()
    twin = copy.deepcopy(data[section][0])
    for other in ("id", "token", "slug"):
        if other in twin and other != key:
            twin[other] = 99 if other == "id" else f"{twin[other]}-2"
    data[section].append(twin)
    with pytest.raises(FixtureError) as info:
        World.from_json(data)
    assert info.value.section == section
    assert info.value.index == 1
    assert info.value.field == field
    assert "duplicate" in str(info.value)
    if key == "token":
        assert "tok-alice" not in str(info.value)  # a secret is never echoed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "the fixture must be a JSON object"),
        ("{", "not valid JSON"),
        (SPEC_FIXTURE.replace("15.6", "NaN"), "NaN is not a number a fixture may hold"),
        (SPEC_FIXTURE.replace("15.6", "-1e999999999"),
         "production_plan_streams[0] (id 1), field 'value': has more than 100 digits"),
    ],
)
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(FixtureError, match=re.escape(message)):
        loads_world(text)


def test_load_world_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(SPEC_FIXTURE, encoding="utf-8")
    assert load_world(path) == loads_world(SPEC_FIXTURE)
    dump_world(load_world(path), tmp_path / "again.json")
    assert load_world(tmp_path / "again.json") == load_world(path)


def test_dumps_writes_values_as_json_numbers() -> None:
    text = dumps_world(loads_world(SPEC_FIXTURE))
    assert '"value": 15.6,' in text
    assert json.loads(text)["production_plan_streams"][0]["value"] == 15.6


@given(worlds())
def test_dump_and_load_round_trip(world: World) -> None:
    assert loads_world(dumps_world(world)) == world
    assert World.from_json(json.loads(json.dumps(world.to_json()))) == world
