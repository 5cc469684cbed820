"""opfilter — parse, validate and compile ``operator:value`` API filters.

>>> from opfilter import parse_query, to_query_string
>>> from opfilter.streams import SCHEMA
>>> q = parse_query("project_id=in:3,1&updated_at=gte:2024-06-15T10:00:00%2B02:00", SCHEMA)
>>> to_query_string(q)
'project_id=in:3,1&updated_at=gte:2024-06-15T08:00:00Z'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backends.querystring import to_query_string
from .errors import InvalidQuery, OpfilterError
from .nodes import Condition, Op, Span, Value
from .query import Query, parse_query
from .schema import EnumParam, Filter, IntParam, Limit, Offset, Schema, Type

if TYPE_CHECKING:
    import polars
    import pyspark.sql
    from sqlalchemy.sql.elements import ColumnElement
    from sqlalchemy.sql.expression import FromClause

    from .backends.predicate import to_predicate
    from .backends.sql import to_sql

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
    "to_polars",
    "to_predicate",
    "to_query_string",
    "to_spark",
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
        raise _missing(e, "to_sqlalchemy", "SQLAlchemy", "sqlalchemy", "sqlalchemy") from None
    return compile_sqlalchemy(query, table)


def _missing(e: ModuleNotFoundError, verb: str, what: str, module: str,
             extra: str) -> ModuleNotFoundError:
    """The error for an optional dependency that is not installed (any other missing
    module is re-raised as it is)."""
    if e.name is None or e.name.split(".")[0] != module:
        raise e
    return ModuleNotFoundError(f"{verb} needs {what}: pip install 'opfilter[{extra}]'",
                               name=e.name)


def to_polars(query: Query) -> polars.Expr:
    """A Polars boolean expression for ``DataFrame.filter`` / ``LazyFrame.filter`` (extra
    ``opfilter[polars]``); see :func:`opfilter.backends.polars.to_polars`."""
    try:
        from .backends.polars import to_polars as compile_polars
    except ModuleNotFoundError as e:
        raise _missing(e, "to_polars", "Polars", "polars", "polars") from None
    return compile_polars(query)


def to_spark(query: Query) -> pyspark.sql.Column:
    """A PySpark boolean ``Column`` for ``DataFrame.filter`` (extra ``opfilter[spark]``);
    see :func:`opfilter.backends.spark.to_spark`."""
    try:
        from .backends.spark import to_spark as compile_spark
    except ModuleNotFoundError as e:
        raise _missing(e, "to_spark", "PySpark", "pyspark", "spark") from None
    return compile_spark(query)


_CORE_BACKENDS = {"to_predicate": "opfilter.backends.predicate", "to_sql": "opfilter.backends.sql"}


def __getattr__(name: str) -> object:
    """The core backends load on first use (``import opfilter`` stays cheap); they need
    nothing optional, so ``from opfilter import *`` loads them too."""
    module = _CORE_BACKENDS.get(name)
    if module is None:
        raise AttributeError(f"module 'opfilter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups find the function itself: no per-call cost
    return value
