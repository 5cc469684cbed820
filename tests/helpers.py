"""Loading the one-case-per-line fixture files in tests/fixtures/."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def lines(name: str) -> list[str]:
    """The non-comment lines of a fixture file (blank lines count only if they hold ' ==> ')."""
    out = []
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip() and "==>" not in line:
            continue
        out.append(line)
    return out


def cases(name: str) -> list[object]:
    """``input  ==>  expected`` lines as pytest params, each its own test id."""
    out = []
    for line in lines(name):
        left, sep, right = line.partition("  ==>  ")
        if not sep:
            left, right = line.removesuffix("  ==>"), ""
        out.append(pytest.param(left.strip(" ") if left.strip() else "", right, id=left or "<empty>"))
    return out
