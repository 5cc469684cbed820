"""The ProductionPlanStream model (SPEC §4): constraints and the exact JSON form."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from opfilter.streams.model import (
    FIELDS,
    InvalidRow,
    ProductionPlanStream,
    format_api_datetime,
    format_value,
)
from opfilter.streams.strategies import rows

T0 = datetime(2026, 3, 27, 11, 39, 28, 826000, tzinfo=UTC)


def make(**changes: Any) -> ProductionPlanStream:
    fields: dict[str, Any] = {
        "id": 1,
        "created_at": T0,
        "updated_at": T0,
        "date": date(2024, 1, 1),
        "value": Decimal("15.6"),
        "project_id": 1,
        "stream_id": 1,
        "production_plan_id": 1,
        "deleted_at": None,
    }
    fields.update(changes)
    return ProductionPlanStream(**fields)


def test_upstream_example_is_reproduced_byte_for_byte() -> None:
    row = make(deleted_at=T0)
    assert row.to_json() == (
        '{"id":1,"created_at":"2026-03-27T11:39:28.826Z","updated_at":"2026-03-27T11:39:28.826Z",'
        '"date":"2024-01-01","value":15.6,"project_id":1,"stream_id":1,"production_plan_id":1,'
        '"deleted_at":"2026-03-27T11:39:28.826Z"}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("15.6", "15.6"),
        ("15.60", "15.6"),
        ("100", "100"),
        ("100.000", "100"),
        ("1E+2", "100"),
        ("0.25", "0.25"),
        ("0", "0"),
        ("-0.00", "0"),
        ("-5.5", "-5.5"),
        ("-1E+3", "-1000"),
        ("0.000001", "0.000001"),
        ("1E-7", "0.0000001"),
        ("-12345678901234567890123456789.123456789", "-12345678901234567890123456789.123456789"),
    ],
)
def test_value_is_written_in_shortest_exact_form(value: str, text: str) -> None:
    row = make(value=Decimal(value))
    assert format_value(row.value) == text
    assert f'"value":{text},' in row.to_json()


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2024, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC), "2024-01-01T00:00:00.999Z"),
        (datetime(2024, 1, 1, 0, 0, 0, 1_999, tzinfo=UTC), "2024-01-01T00:00:00.001Z"),
        (datetime(2024, 1, 1, 0, 0, 0, 999, tzinfo=UTC), "2024-01-01T00:00:00.000Z"),
        (datetime(2024, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "2024-12-31T23:59:59.999Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (
            datetime(2024, 6, 15, 10, 0, 0, 500_500, tzinfo=timezone(timedelta(hours=2))),
            "2024-06-15T08:00:00.500Z",
        ),
    ],
)
def test_datetimes_are_utc_with_truncated_milliseconds(instant: datetime, text: str) -> None:
    row = make(created_at=instant, updated_at=instant, deleted_at=instant)
    assert format_api_datetime(row.created_at) == text
    assert json.loads(row.to_json())["deleted_at"] == text
    assert row.created_at.tzinfo is UTC
    assert row.created_at == instant  # same instant, microseconds kept


def test_json_keys_are_in_order_and_compact() -> None:
    text = make().to_json()
    assert list(json.loads(text)) == list(FIELDS)
    assert " " not in text
    assert json.loads(text)["deleted_at"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": 0}, "id"),
        ({"id": 2**63}, "id"),
        ({"id": True}, "id"),
        ({"id": "1"}, "id"),
        ({"project_id": -1}, "project_id"),
        ({"stream_id": 0}, "stream_id"),
        ({"production_plan_id": 2**63}, "production_plan_id"),
        ({"date": date(2024, 1, 2)}, "date"),
        ({"date": datetime(2024, 1, 1, tzinfo=UTC)}, "date"),
        ({"value": Decimal("100.0000001")}, "value"),
        ({"value": Decimal("NaN")}, "value"),
        ({"value": Decimal("-Infinity")}, "value"),
        ({"value": 15.6}, "value"),
        ({"value": Decimal("-1E+200")}, "value"),
        ({"created_at": datetime(2024, 1, 1)}, "created_at"),
        ({"updated_at": "2024-01-01T00:00:00Z"}, "updated_at"),
        ({"deleted_at": datetime(2024, 1, 1)}, "deleted_at"),
        (
            {"deleted_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))},
            "deleted_at",
        ),
    ],
)
def test_constraints_are_enforced_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRow) as info:
        make(**changes)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_edges_that_are_valid() -> None:
    row = make(id=2**63 - 1, value=Decimal(100), date=date(9999, 12, 1))
    assert (row.id, row.value, row.date) == (2**63 - 1, Decimal(100), date(9999, 12, 1))
    assert make(value=-(10**50)).value == Decimal(-(10**50))


def test_row_is_frozen() -> None:
    row = make()
    with pytest.raises(AttributeError):
        row.id = 2  # type: ignore[misc]


FIXTURE_ROW: dict[str, Any] = {
    "id": 7,
    "created_at": "2024-01-03T09:00:00.000Z",
    "updated_at": "2024-01-05T10:00:00.123456+01:00",
    "date": "2024-01-01",
    "value": Decimal("15.60"),
    "project_id": 1,
    "stream_id": 2,
    "production_plan_id": 3,
    "extra": "ignored",
}


def test_from_json_reads_the_fixture_form() -> None:
    row = ProductionPlanStream.from_json(FIXTURE_ROW)
    assert row.deleted_at is None
    assert row.updated_at == datetime(2024, 1, 5, 9, 0, 0, 123456, tzinfo=UTC)
    assert row.value == Decimal("15.6")
    negative = ProductionPlanStream.from_json({**FIXTURE_ROW, "value": "-3.50"})
    assert negative.value == Decimal("-3.5")
    assert ProductionPlanStream.from_json({**FIXTURE_ROW, "value": 100}).value == 100
    assert ProductionPlanStream.from_json({**FIXTURE_ROW, "updated_at": "2024-01-05T10:00:00"}
                                          ).updated_at == datetime(2024, 1, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": None}, "id"),
        ({"created_at": "2024-01-03"}, "created_at"),
        ({"created_at": "2024-01-03 09:00:00Z"}, "created_at"),
        ({"updated_at": 1704445200}, "updated_at"),
        ({"deleted_at": "yesterday"}, "deleted_at"),
        ({"date": "2024-02-30"}, "date"),
        ({"date": "2024-02-15"}, "date"),
        ({"value": "1e3"}, "value"),
        ({"value": "100.01"}, "value"),
        ({"value": True}, "value"),
        ({"value": None}, "value"),
        ({"project_id": "1"}, "project_id"),
    ],
)
def test_from_json_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRow) as info:
        ProductionPlanStream.from_json({**FIXTURE_ROW, **changes})
    assert info.value.field == field


def test_from_json_names_a_missing_field() -> None:
    data = dict(FIXTURE_ROW)
    del data["stream_id"]
    with pytest.raises(InvalidRow, match="stream_id: is missing"):
        ProductionPlanStream.from_json(data)


@given(rows())
def test_fixture_form_round_trips_and_json_form_is_faithful(row: ProductionPlanStream) -> None:
    assert ProductionPlanStream.from_json(row.to_fixture()) == row
    shown = json.loads(row.to_json(), parse_float=Decimal)
    assert shown["value"] == row.value
    assert list(shown) == list(FIELDS)
    created = datetime.strptime(shown["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(0) <= row.created_at - created < timedelta(milliseconds=1)
