"""``GET /api/production-plan-streams``: its schema (SPEC §5)."""

from __future__ import annotations

from ..nodes import Condition, Op
from ..schema import EnumParam, Filter, Limit, Offset, Schema

__all__ = ["DELETED_CHOICES", "SCHEMA"]

DELETED_CHOICES = ("exclude", "include", "only")

SCHEMA = Schema(
    Filter("project_id", "int"),
    Filter("stream_id", "int"),
    Filter("production_plan_id", "int"),
    Filter("updated_at", "datetime"),
    Filter("deleted_at", "datetime", nullable=True),
    EnumParam(
        "deleted",
        DELETED_CHOICES,
        default="exclude",
        implies={
            "exclude": (Condition("deleted_at", Op.EQ, (None,)),),
            "only": (Condition("deleted_at", Op.NEQ, (None,)),),
        },
    ),
    Limit(default=100, max=100),
    Offset(),
    name="production-plan-streams",
)
"""The query parameters of ``GET /api/production-plan-streams``, in canonical order."""
