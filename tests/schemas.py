"""Test schemas covering every field type."""

from __future__ import annotations

from opfilter import EnumParam, Filter, Limit, Offset, Schema

ALL_TYPES = Schema(
    Filter("i", "int"),
    Filter("d", "decimal", max_digits=15),
    Filter("day", "date"),
    Filter("ts", "datetime"),
    Filter("ts_null", "datetime", nullable=True),
    Filter("s", "string", nullable=True),
    Filter("b", "bool"),
    Filter("e", "enum", choices=("red", "green", "blue")),
    Filter("small", "int", nullable=True, min=-10, max=10, max_items=3),
    EnumParam("mode", ("fast", "slow"), default="fast"),
    Limit(default=20, max=50),
    Offset(),
    name="all-types",
)
