"""The public surface: star-imports without an optional extra, parse_query's annotation,
and the plain-parameter accessors on schemas whose parameters have other names."""

from __future__ import annotations

from typing import get_type_hints

import pytest

import opfilter
from helpers import run_python
from opfilter import IntParam, Limit, Query, Schema, parse_query
from opfilter.query import QueryInput
from opfilter.streams import SCHEMA


@pytest.mark.parametrize(("extra", "call", "message"), [
    ("sqlalchemy", "to_sqlalchemy(q, None)",
     "to_sqlalchemy needs SQLAlchemy: pip install 'opfilter[sqlalchemy]'"),
    ("polars", "to_polars(q)", "to_polars needs Polars: pip install 'opfilter[polars]'"),
    ("pyspark", "to_spark(q)", "to_spark needs PySpark: pip install 'opfilter[spark]'"),
])
def test_star_import_works_without_an_extra(extra: str, call: str, message: str) -> None:
    """Without ``extra`` the rest works and its verb names the extra to install (that no
    import pulls an extra in is tests/test_lazy_frameworks.py's)."""
    out = run_python(
        "import sys\n"
        f"sys.modules[{extra!r}] = None  # as if it were not installed\n"
        "from opfilter import *\n"
        "from opfilter.streams import SCHEMA\n"
        "q = parse_query('project_id=1', SCHEMA)\n"
        "print(to_sql(q, 'sqlite')[0])\n"
        "print(to_predicate(q)({'project_id': 1}))\n"
        "try:\n"
        f"    {call}\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    assert out == ['"project_id" = ? AND "deleted_at" IS NULL', "True", message]


def test_every_name_in_all_exists() -> None:
    for name in opfilter.__all__:
        assert getattr(opfilter, name) is not None, name


def test_parse_query_is_annotated_with_its_input_forms() -> None:
    assert get_type_hints(parse_query)["query"] == QueryInput


def test_plain_parameter_accessors() -> None:
    q = parse_query("limit=5", SCHEMA)
    assert (q.limit, q.offset, q.deleted) == (5, 0, "exclude")
    assert q.param("limit") == 5
    other = Schema(Limit(name="size"), IntParam("page", default=1, min=1))
    q2 = parse_query("size=7", other)
    assert q2.param("size") == 7 and q2.param("page") == 1
    with pytest.raises(AttributeError, match=r"no plain integer parameter 'limit'.*size, page"):
        _ = q2.limit
    with pytest.raises(AttributeError, match="'deleted'"):
        _ = q2.deleted
    with pytest.raises(KeyError, match="'limit' is not a plain parameter"):
        q2.param("limit")
    assert Query(other).param("size") == 100
