"""Loading the one-case-per-line fixture files in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def lines(name: str) -> list[str]:
    """The non-comment lines of a fixture file (blank lines count only if they hold ' ==> ')."""
    out = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or (not line.strip() and "==>" not in line):
            continue
        out.append(line)
    return out


def cases(name: str) -> list[Any]:
    """``input  ==>  expected`` lines as pytest params, each its own test id."""
    out = []
    for line in lines(name):
        left, sep, right = line.partition("  ==>  ")
        if not sep:
            left, right = line.removesuffix("  ==>"), ""
        raw = left.strip(" ") if left.strip() else ""
        out.append(pytest.param(raw, right, id=left or "<empty>"))
    return out
