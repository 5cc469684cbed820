"""The public surface: star-imports without optional extras, and the plain-parameter
accessors on schemas whose parameters have other names."""

from __future__ import annotations

import subprocess
import sys
from typing import get_type_hints

import pytest

import opfilter
from opfilter import IntParam, Limit, Query, Schema, parse_query
from opfilter.query import QueryInput
from opfilter.streams import SCHEMA


def test_star_import_works_without_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "sys.modules['sqlalchemy'] = None  # as if it were not installed\n"
        "from opfilter import *\n"
        "from opfilter.streams import SCHEMA\n"
        "q = parse_query('project_id=1', SCHEMA)\n"
        "print(to_sql(q, 'sqlite')[0])\n"
        "try:\n"
        "    to_sqlalchemy(q, None)\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ['"project_id" = ? AND "deleted_at" IS NULL',
                   "to_sqlalchemy needs SQLAlchemy: pip install 'opfilter[sqlalchemy]'"]


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


def test_polars_and_spark_are_imported_only_when_called() -> None:
    code = (
        "import sys\n"
        "import opfilter\n"
        "from opfilter import *\n"
        "from opfilter.streams import SCHEMA\n"
        "print(sorted(m for m in ('polars', 'pyspark') if m in sys.modules))\n"
        "sys.modules['polars'] = None  # as if they were not installed\n"
        "sys.modules['pyspark'] = None\n"
        "q = parse_query('project_id=1', SCHEMA)\n"
        "print(to_predicate(q)({'project_id': 1}))\n"
        "for verb in (to_polars, to_spark):\n"
        "    try:\n"
        "        verb(q)\n"
        "    except ModuleNotFoundError as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["[]", "True",
                   "to_polars needs Polars: pip install 'opfilter[polars]'",
                   "to_spark needs PySpark: pip install 'opfilter[spark]'"]
