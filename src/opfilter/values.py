"""Reading and writing the scalar types of SPEC §2 (the text of one operand).

Readers raise :class:`BadValue` with a plain-words description of what was expected; the
caller adds the parameter name, the offending text and its column.  Writers produce the
canonical text of SPEC §3.  Everything here is strict: what is not described is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "BadValue",
    "day_bounds",
    "decimal_digits",
    "format_date",
    "format_datetime",
    "format_decimal",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_int",
    "preview",
    "to_utc",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class BadValue(ValueError):
    """An operand's text is not a value of the expected type; ``str()`` says why."""


_INT = re.compile(r"-?[0-9]+\Z")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?"
    r"(Z|[+\- ][0-9]{2}:[0-9]{2})?\Z"
)

INT_EXPECTED = "an integer such as 42 or -7 (digits, an optional leading '-')"
DECIMAL_EXPECTED = "a decimal number such as 15.6 or -3 (no exponent)"
DATE_EXPECTED = "a calendar date YYYY-MM-DD such as 2024-01-31"
DATETIME_EXPECTED = (
    "a date-time YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or an offset ±HH:MM "
    "(e.g. 2024-06-15T10:00:00Z), or a date YYYY-MM-DD meaning that whole UTC day"
)


def parse_int(text: str, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
    if _INT.match(text) is None:
        # examples that fit the range: `limit` says "an integer from 1 to 100"
        expected = INT_EXPECTED if (lo, hi) == (INT64_MIN, INT64_MAX) else (
            f"an integer from {lo} to {hi}")
        raise BadValue(f"is not an integer: expected {expected}")
    # int() of thousands of digits is slow (and capped by sys.get_int_max_str_digits()):
    # anything with more than 19 significant digits is out of any 64-bit range anyway.
    n = int(text) if len(text) <= 19 or len(text.lstrip("-").lstrip("0")) <= 19 else hi + 1
    if not lo <= n <= hi:
        raise BadValue(f"is out of range: expected an integer from {lo} to {hi}")
    return n


def parse_decimal(text: str, max_digits: int | None = None) -> Decimal:
    if _DECIMAL.match(text) is None:
        raise BadValue(f"is not a decimal number: expected {DECIMAL_EXPECTED}")
    d = Decimal(text)
    if max_digits is not None and decimal_digits(d) > max_digits:
        raise BadValue(f"has more than {max_digits} significant digits")
    return d


def decimal_digits(d: Decimal) -> int:
    """Significant digits, counted exactly (``normalize()`` would round to the context's
    28 digits first); trailing zeros do not count, zero has one."""
    digits = "".join(map(str, d.as_tuple().digits)).strip("0")
    return len(digits) or 1


def parse_date(text: str) -> date:
    m = _DATE.match(text)
    if m is None:
        raise BadValue(f"is not a date: expected {DATE_EXPECTED}")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise BadValue(f"is not a real calendar date: expected {DATE_EXPECTED}") from None


_OFFSETS: dict[str, timezone] = {}  # "+02:00" → its timezone (at most 3 × 24 × 60 entries)


def _offset(off: str) -> timezone:
    """The timezone of a ``[+- ]HH:MM`` offset (a space stands for ``+``)."""
    tz = _OFFSETS.get(off)
    if tz is None:
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 23 or om > 59:
            raise BadValue("has an offset out of range: hours must be 00-23, minutes 00-59")
        delta = timedelta(hours=oh, minutes=om)
        tz = _OFFSETS[off] = timezone(-delta) if off[0] == "-" else timezone(delta)
    return tz


def parse_datetime(text: str, *, allow_date: bool = True) -> datetime | date:
    """An aware datetime; a bare date (when allowed) stays a ``date`` (a whole UTC day)."""
    m = _DATETIME.match(text)
    if m is None:
        if allow_date and _DATE.match(text):
            return parse_date(text)
        raise BadValue(f"is not a date-time: expected {DATETIME_EXPECTED}")
    year, month, day, hour, minute, second, frac, off = m.groups()
    if frac is not None and len(frac) > 6:
        raise BadValue("has more than 6 fractional digits: at most microseconds are supported")
    tz = UTC if off is None or off == "Z" else _offset(off)
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int(frac.ljust(6, "0")) if frac else 0, tzinfo=tz,
        )
    except ValueError:
        raise BadValue(
            "is not a real date and time (check the month, day, hour, minute and second; "
            "leap seconds are not supported)"
        ) from None
    # An offset is under a day, so only the first and the last year can leave the range.
    if tz is not UTC and (value.year == 1 or value.year == 9999):
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise BadValue("is outside the supported range of instants") from None
    return value


def preview(text: str, width: int = 40) -> str:
    """``text`` cut to ``width`` characters (with ``…``), for quoting input in messages."""
    return text if len(text) <= width else text[:width] + "…"


def day_bounds(day: date) -> tuple[datetime, datetime | None]:
    """The UTC day ``[start, end)``; ``end`` is ``None`` (unbounded) for the last day."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if day == date.max:
        return start, None
    return start, start + timedelta(days=1)


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_decimal(value: Decimal) -> str:
    """Shortest exact form: no exponent, no trailing zeros, ``0`` for any zero.
    (``Decimal.normalize`` would round to the context's precision; this never rounds.)"""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_date(value: date) -> str:
    return value.isoformat()


def format_datetime(value: datetime) -> str:
    """UTC with ``Z``; the fraction without trailing zeros, omitted when zero."""
    u = to_utc(value)
    head = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        head += "." + f"{u.microsecond:06d}".rstrip("0")
    return head + "Z"
