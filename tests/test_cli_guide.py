"""``opfilter check``: --strict, and the text form (a flag, or a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from opfilter.cli import main

pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opfilter", "check", *args],
                          capture_output=True, text=True, timeout=60)


def test_piped_output_is_the_json_line_with_warning_dicts() -> None:
    done = _run("projectId=5&limit=10")
    assert done.returncode == 0 and done.stdout.count("\n") == 1
    out = json.loads(done.stdout)
    assert out["warnings"] == [{
        "field": "projectId",
        "message": "'projectId' is not a parameter of this endpoint and is ignored — did you "
        "mean 'project_id'? Write project_id=5.",
    }]
    assert out["canonical"] == "limit=10"


def test_strict_flag() -> None:
    done = _run("--strict", "projectId=5")
    assert done.returncode == 1
    (failure,) = json.loads(done.stdout)["failures"]
    assert failure["field"] == "projectId"
    assert failure["message"].startswith("unknown parameter 'projectId' — did you mean")
    assert _run("--format", "json", "--strict", "limit=5").returncode == 0


def test_text_form_puts_a_caret_under_the_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--format", "text", "project_id=in:1,,2&updated_at=2024-13-01"]) == 1
    text = capsys.readouterr().out
    lines = text.splitlines()
    at = lines.index("    project_id=in:1,,2")
    assert lines[at + 1] == "    " + " " * len("project_id=in:1,") + "^"
    at = lines.index("    updated_at=2024-13-01")
    assert lines[at + 1] == "    " + " " * len("updated_at=") + "^"
    assert lines[-1] == "invalid: 2 failures"
    assert not text.startswith("{")


def test_text_form_of_a_valid_query_shows_canonical_and_sql(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--format", "text", "project_id=1&project_id[]=2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("warning: 'project_id[]' is not a parameter")
    assert "canonical: project_id=eq:1\n" in text
    assert 'sqlite: WHERE "project_id" = ?' in text


def test_a_terminal_gets_the_text_form() -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "opfilter", "check", "limit=abc"],
                                stdout=follower, stderr=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the child has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 1
    finally:
        os.close(leader)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert "error: limit: 'abc' is not an integer: expected an integer from 1 to 100" in text
    assert "    limit=abc\n          ^\n" in text
