"""opfilter — parse, validate and compile ``operator:value`` API filters.

>>> from opfilter import parse_query, to_query_string
>>> from opfilter.streams import SCHEMA
>>> q = parse_query("project_id=in:3,1&updated_at=gte:2024-06-15T10:00:00%2B02:00", SCHEMA)
>>> to_query_string(q)
'project_id=in:3,1&updated_at=gte:2024-06-15T08:00:00Z'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .backends.querystring import to_query_string
from .errors import InvalidQuery, OpfilterError
from .nodes import Condition, Op, Span, Value
from .query import Query, parse_query
from .schema import EnumParam, Filter, IntParam, Limit, Offset, Schema, Type

if TYPE_CHECKING:
    from .backends.predicate import to_predicate
    from .backends.sql import to_sql
    from .backends.sqlalchemy import to_sqlalchemy

__version__ = "0.1.0"

__all__ = [
    "Condition",
    "EnumParam",
    "Filter",
    "IntParam",
    "InvalidQuery",
    "Limit",
    "Offset",
    "Op",
    "OpfilterError",
    "Query",
    "Schema",
    "Span",
    "Type",
    "Value",
    "parse_query",
    "to_predicate",
    "to_query_string",
    "to_sql",
    "to_sqlalchemy",
]

_LAZY = {
    "to_predicate": "opfilter.backends.predicate",
    "to_sql": "opfilter.backends.sql",
    "to_sqlalchemy": "opfilter.backends.sqlalchemy",
}


def __getattr__(name: str) -> Any:
    """Backends load on first use, so ``import opfilter`` stays cheap."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opfilter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
