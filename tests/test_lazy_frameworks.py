"""`import opfilter` (and its framework-free modules) imports no optional framework."""

from __future__ import annotations

import subprocess
import sys


def test_no_framework_is_imported_until_an_integration_is_used() -> None:
    code = (
        "import sys, opfilter, opfilter.streams, opfilter.openapi, opfilter.server\n"
        "bad = [m for m in ('django', 'fastapi', 'flask', 'starlette', 'werkzeug') "
        "if m in sys.modules]\n"
        "import opfilter.flask\n"
        "late = 'flask' in sys.modules\n"
        "print(bad, late)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[] False"
