"""``GET /api/production-plan-streams``: its schema (SPEC §5), and — loaded on first use —
the row model (:mod:`.model`), the world and fixtures (:mod:`.world`), the store interface
and the in-memory reference store (:mod:`.store`), the SQL stores (:mod:`.sqlite_store`,
:mod:`.pg_store`, sharing :mod:`.sqlstore`) and the endpoint (:mod:`.endpoint`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..nodes import Condition, Op
from ..schema import EnumParam, Filter, Limit, Offset, Schema

if TYPE_CHECKING:
    from .demo import DEMO_TOKENS, demo_store, demo_world
    from .endpoint import Response, handle
    from .model import InvalidRow, ProductionPlanStream
    from .openapi import openapi_document
    from .pg_store import PostgresStore
    from .sqlite_store import SQLiteStore
    from .store import MemoryStore, Store, StoreUnavailable
    from .world import (
        Company,
        FixtureError,
        Project,
        User,
        World,
        dump_world,
        dumps_world,
        load_world,
        loads_world,
    )

__all__ = [
    "DELETED_CHOICES",
    "DEMO_TOKENS",
    "SCHEMA",
    "Company",
    "FixtureError",
    "InvalidRow",
    "MemoryStore",
    "PostgresStore",
    "ProductionPlanStream",
    "Project",
    "Response",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
    "User",
    "World",
    "demo_store",
    "demo_world",
    "dump_world",
    "dumps_world",
    "handle",
    "load_world",
    "loads_world",
    "openapi_document",
]

_LAZY = {
    "DEMO_TOKENS": "demo",
    "demo_store": "demo",
    "demo_world": "demo",
    "openapi_document": "openapi",
    "Response": "endpoint",
    "handle": "endpoint",
    "InvalidRow": "model",
    "ProductionPlanStream": "model",
    "MemoryStore": "store",
    "Store": "store",
    "StoreUnavailable": "store",
    "SQLiteStore": "sqlite_store",
    "PostgresStore": "pg_store",
    "Company": "world",
    "FixtureError": "world",
    "Project": "world",
    "User": "world",
    "World": "world",
    "dump_world": "world",
    "dumps_world": "world",
    "load_world": "world",
    "loads_world": "world",
}


def __getattr__(name: str) -> Any:
    """The model, world, store and endpoint load on first use (they import the predicate
    backend), so importing the schema stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opfilter.streams' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

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
