"""The wheel carries the grammar, and the installed package parses from it."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
         str(ROOT)],
        check=True, capture_output=True,
    )
    (whl,) = out.glob("opfilter-*.whl")
    return whl


def test_wheel_contains_the_grammar_and_typing_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "opfilter/filter.lark" in names
        assert "opfilter/py.typed" in names
        packaged = zf.read("opfilter/filter.lark").decode()
    assert packaged == (ROOT / "grammar" / "filter.lark").read_text(encoding="utf-8")


def test_installed_wheel_parses_with_its_own_grammar(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, clear=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True)
    script = (
        "import opfilter, opfilter.parser as p\n"
        "from importlib import resources\n"
        "assert 'site-packages' in opfilter.__file__, opfilter.__file__\n"
        "assert resources.files('opfilter').joinpath('filter.lark').is_file()\n"
        "from opfilter.streams import SCHEMA\n"
        "q = opfilter.parse_query('project_id=in:\"1\",2&updated_at=gte:2024-01-01', SCHEMA)\n"
        "print(opfilter.to_query_string(q))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(python), "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout == "project_id=in:1,2&updated_at=gte:2024-01-01\n"
