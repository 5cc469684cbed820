"""`import opfilter` and its modules import no optional dependency: the framework
integrations and the backends with an extra import theirs only when used."""

from __future__ import annotations

import pytest

from helpers import run_python

OPTIONAL = ("django", "fastapi", "flask", "starlette", "werkzeug", "sqlalchemy", "psycopg",
            "psycopg_pool", "polars", "pyspark")
"""What the extras install (and what the frameworks bring along)."""


@pytest.mark.parametrize("statement", [
    "import opfilter",
    "from opfilter import *",
    "import opfilter.streams",
    "import opfilter.openapi",
    "import opfilter.server",
    "import opfilter.flask",  # (opfilter.django is the Django adapter: it imports Django)
])
def test_importing_pulls_no_optional_dependency(statement: str) -> None:
    out = run_python(f"import sys\n{statement}\n"
                     f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))\n")
    assert out == ["[]"]
