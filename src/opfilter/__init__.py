"""opfilter — parse, validate and compile ``operator:value`` API filters.

>>> from opfilter import parse_query, to_query_string
>>> from opfilter.streams import SCHEMA
>>> q = parse_query("project_id=in:3,1&updated_at=gte:2024-06-15T10:00:00%2B02:00", SCHEMA)
>>> to_query_string(q)
'project_id=in:3,1&updated_at=gte:2024-06-15T08:00:00Z'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backends.predicate import to_predicate
from .backends.querystring import to_query_string
from .backends.sql import to_sql
from .errors import InvalidQuery, OpfilterError
from .nodes import Condition, Op, Span, Value
from .query import Query, parse_query
from .schema import EnumParam, Filter, IntParam, Limit, Offset, Schema, Type

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy.sql.expression import FromClause

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

# SQLAlchemy is an optional dependency: it is imported when to_sqlalchemy is first called,
# so ``import opfilter`` and ``from opfilter import *`` work without it.


def to_sqlalchemy(query: Query, table: FromClause) -> ColumnElement[bool]:
    """A SQLAlchemy Core boolean expression over ``table`` (extra ``opfilter[sqlalchemy]``);
    see :func:`opfilter.backends.sqlalchemy.to_sqlalchemy`."""
    try:
        from .backends.sqlalchemy import to_sqlalchemy as compile_sqlalchemy
    except ModuleNotFoundError as e:
        if e.name != "sqlalchemy":
            raise
        raise ModuleNotFoundError(
            "to_sqlalchemy needs SQLAlchemy: pip install 'opfilter[sqlalchemy]'", name=e.name
        ) from None
    return compile_sqlalchemy(query, table)
