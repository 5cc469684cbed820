"""The ``ProductionPlanStream`` row (SPEC §4): constraints, exact JSON form, loading.

A row is a frozen, slotted dataclass whose constructor enforces the model's constraints
and normalizes datetimes to UTC, so every row that exists is valid::

    >>> from datetime import date, datetime, timezone
    >>> from decimal import Decimal
    >>> row = ProductionPlanStream(
    ...     id=1,
    ...     created_at=datetime(2026, 3, 27, 11, 39, 28, 826999, tzinfo=timezone.utc),
    ...     updated_at=datetime(2026, 3, 27, 11, 39, 28, 826000, tzinfo=timezone.utc),
    ...     date=date(2024, 1, 1), value=Decimal("15.60"),
    ...     project_id=1, stream_id=1, production_plan_id=1)
    >>> print(row.to_json())
    {"id":1,"created_at":"2026-03-27T11:39:28.826Z","updated_at":"2026-03-27T11:39:28.826Z","date":"2024-01-01","value":15.6,"project_id":1,"stream_id":1,"production_plan_id":1,"deleted_at":null}

The JSON form shows datetimes with milliseconds, **truncated**.  Rows are kept (and
filtered) to the microsecond, so a row whose ``updated_at`` has sub-millisecond digits
does not match ``updated_at=eq:`` of the value it is shown with.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import OpfilterError
from ..values import (
    INT64_MAX,
    BadValue,
    format_datetime,
    format_decimal,
    parse_date,
    parse_datetime,
    parse_decimal,
)

__all__ = [
    "FIELDS",
    "MAX_VALUE",
    "MAX_VALUE_DIGITS",
    "InvalidRow",
    "ProductionPlanStream",
    "format_api_datetime",
    "format_value",
]

UTC = dt.UTC
MAX_VALUE = Decimal(100)
MAX_VALUE_DIGITS = 100
"""Most digits ``value`` may have in its plain form (integer part plus fraction).

The upstream states no limit; this one keeps a hostile fixture (``-1e999999999``) from
producing a gigabyte of JSON, and is far beyond any percentage."""

FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "date",
    "value",
    "project_id",
    "stream_id",
    "production_plan_id",
    "deleted_at",
)
"""The row's fields, in the order of its JSON form."""


class InvalidRow(OpfilterError, ValueError):
    """A value breaks the model's constraints; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.problem = message
        super().__init__(f"{field}: {message}")


# -- formatting ---------------------------------------------------------------------------


format_value = format_decimal
"""The shortest exact decimal form of ``value`` (JSON numbers, SQLite text)."""


def format_api_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC, milliseconds truncated (never rounded)."""
    u = value.astimezone(UTC) if value.tzinfo is not UTC else value
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond // 1000:03d}Z"
    )


# -- checking -----------------------------------------------------------------------------


def _check_id(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRow(field, f"must be an integer, got {_show(value)}")
    if not 1 <= value <= INT64_MAX:
        raise InvalidRow(field, f"must be an integer from 1 to {INT64_MAX}, got {value}")
    return value


def _check_datetime(field: str, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise InvalidRow(field, f"must be a timezone-aware datetime, got {_show(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRow(field, f"must be timezone-aware, got the naive {value.isoformat()}")
    if value.tzinfo is UTC:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidRow(
            field, f"{value.isoformat()} is outside the range of UTC instants"
        ) from None


def _check_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidRow("date", f"must be a date, got {_show(value)}")
    if value.day != 1:
        raise InvalidRow("date", f"must be the first day of a month, got {value.isoformat()}")
    return value


def _check_value(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidRow("value", f"must be a Decimal, got {_show(value)}")
    d = Decimal(value)
    if not d.is_finite():
        raise InvalidRow("value", f"must be a finite number, got {d}")
    digits = _plain_digits(d)
    if digits > MAX_VALUE_DIGITS:
        raise InvalidRow(
            "value", f"has more than {MAX_VALUE_DIGITS} digits in its plain decimal form"
        )
    if d > MAX_VALUE:
        raise InvalidRow("value", f"must be at most 100, got {format_value(d)}")
    return d


def _plain_digits(d: Decimal) -> int:
    """How many digits :func:`format_value` writes for ``d`` (without computing it)."""
    if not d:
        return 1
    _, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    exponent += trailing
    return max(d.adjusted() + 1, 1) + max(-exponent, 0)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


@dataclass(frozen=True, slots=True)
class ProductionPlanStream:
    """One production plan stream (SPEC §4).

    The constructor checks every constraint and raises :class:`InvalidRow` (a
    ``ValueError``) naming the field: ids are ints from 1 to 2^63−1; datetimes are
    timezone-aware (naive ones are refused) and stored in UTC, to the microsecond;
    ``date`` is the first day of a month; ``value`` is a finite ``Decimal`` (an ``int`` is
    converted) of at most 100 and at most :data:`MAX_VALUE_DIGITS` plain digits.
    """

    id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    date: dt.date
    value: Decimal
    project_id: int
    stream_id: int
    production_plan_id: int
    deleted_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        s = object.__setattr__
        _check_id("id", self.id)
        s(self, "created_at", _check_datetime("created_at", self.created_at))
        s(self, "updated_at", _check_datetime("updated_at", self.updated_at))
        _check_date(self.date)
        s(self, "value", _check_value(self.value))
        _check_id("project_id", self.project_id)
        _check_id("stream_id", self.stream_id)
        _check_id("production_plan_id", self.production_plan_id)
        if self.deleted_at is not None:
            s(self, "deleted_at", _check_datetime("deleted_at", self.deleted_at))

    # -- the API's JSON form --------------------------------------------------------------

    def to_json(self) -> str:
        """The row's exact JSON text as the endpoint sends it (compact, keys in order)."""
        deleted = "null" if self.deleted_at is None else f'"{format_api_datetime(self.deleted_at)}"'
        return (
            f'{{"id":{self.id},'
            f'"created_at":"{format_api_datetime(self.created_at)}",'
            f'"updated_at":"{format_api_datetime(self.updated_at)}",'
            f'"date":"{self.date.isoformat()}",'
            f'"value":{format_value(self.value)},'
            f'"project_id":{self.project_id},'
            f'"stream_id":{self.stream_id},'
            f'"production_plan_id":{self.production_plan_id},'
            f'"deleted_at":{deleted}}}'
        )

    # -- the fixture form (SPEC §6) -------------------------------------------------------

    def to_fixture(self) -> dict[str, Any]:
        """A JSON-compatible mapping that :meth:`from_json` reads back to an equal row:
        datetimes in full (microsecond) precision, ``value`` as an exact decimal string."""
        return {
            "id": self.id,
            "created_at": format_datetime(self.created_at),
            "updated_at": format_datetime(self.updated_at),
            "date": self.date.isoformat(),
            "value": format_value(self.value),
            "project_id": self.project_id,
            "stream_id": self.stream_id,
            "production_plan_id": self.production_plan_id,
            "deleted_at": None if self.deleted_at is None else format_datetime(self.deleted_at),
        }

    @classmethod
    def from_json(cls, obj: object) -> ProductionPlanStream:
        """A row from its fixture mapping (SPEC §6); raises :class:`InvalidRow`.

        Unknown keys are ignored; ``deleted_at`` may be absent (null).  Datetimes are
        strings in the §2 syntax (``Z`` or an offset; none means UTC); ``date`` is
        ``YYYY-MM-DD``; ``value`` is a JSON number (read exactly when the JSON was parsed
        with ``parse_float=Decimal``; a ``float`` is read by its shortest repr) or a decimal
        string ``-?digits[.digits]``.
        """
        if not isinstance(obj, Mapping):
            raise InvalidRow("row", f"must be a JSON object, got {_show(obj)}")

        def need(name: str) -> object:
            if name not in obj:
                raise InvalidRow(name, "is missing")
            return obj[name]

        return cls(
            id=_check_id("id", need("id")),
            created_at=_read_datetime("created_at", need("created_at")),
            updated_at=_read_datetime("updated_at", need("updated_at")),
            date=_read_date(need("date")),
            value=_read_value(need("value")),
            project_id=_check_id("project_id", need("project_id")),
            stream_id=_check_id("stream_id", need("stream_id")),
            production_plan_id=_check_id("production_plan_id", need("production_plan_id")),
            deleted_at=(
                None
                if obj.get("deleted_at") is None
                else _read_datetime("deleted_at", obj["deleted_at"])
            ),
        )


def _read_datetime(field: str, value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise InvalidRow(field, f"must be a date-time string, got {_show(value)}")
    try:
        parsed = parse_datetime(value, allow_date=False)
    except BadValue as e:
        raise InvalidRow(field, f"{_show(value)} {e}") from None
    assert isinstance(parsed, dt.datetime)
    return parsed


def _read_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise InvalidRow("date", f"must be a date string YYYY-MM-DD, got {_show(value)}")
    try:
        return parse_date(value)
    except BadValue as e:
        raise InvalidRow("date", f"{_show(value)} {e}") from None


def _read_value(value: object) -> Decimal:
    if isinstance(value, bool):
        raise InvalidRow("value", f"must be a number, got {_show(value)}")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        try:
            return Decimal(repr(value))
        except InvalidOperation:  # pragma: no cover - repr of a float is always readable
            raise InvalidRow("value", f"must be a finite number, got {value!r}") from None
    if isinstance(value, str):
        try:
            return parse_decimal(value)
        except BadValue as e:
            raise InvalidRow("value", f"{_show(value)} {e}") from None
    raise InvalidRow("value", f"must be a number or a decimal string, got {_show(value)}")
