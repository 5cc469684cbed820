"""The benchmark harness's own mechanics: its numbers decide whether targets are met, so
what it claims to do (copy code, visit every case every round) is checked here."""

from __future__ import annotations

import functools
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).parent.parent / "benchmarks" / "harness.py"


def _harness() -> Any:
    spec = importlib.util.spec_from_file_location("bench_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _codes(code: types.CodeType) -> list[types.CodeType]:
    nested = [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return [code, *(inner for c in nested for inner in _codes(c))]


def test_relocated_copies_every_code_object_and_keeps_behaviour() -> None:
    harness = _harness()
    table = list(range(20))
    limit = 7

    def job(scale: int = 3, *, offset: int = 1) -> list[int]:
        return [x * scale + offset for x in table if x < limit]  # a closure and a nested code

    copy = harness.relocated(job)
    assert copy() == job() == [x * 3 + 1 for x in range(7)]
    assert copy(2, offset=0) == job(2, offset=0)
    old, new = _codes(job.__code__), _codes(copy.__code__)
    assert len(old) == len(new) == 2  # the function and its comprehension
    assert all(a is not b and a.co_code == b.co_code for a, b in zip(old, new, strict=True))

    bound = harness.relocated(functools.partial(job, 5))
    assert isinstance(bound, functools.partial) and bound.args == (5,)
    assert bound.func.__code__ is not job.__code__ and bound() == job(5)


def test_shuffled_cases_visits_every_case_every_round() -> None:
    harness = _harness()
    calls: list[str] = []

    def contender(label: str) -> Any:
        return lambda: calls.append(label)

    cases = {case: {name: contender(f"{case}.{name}") for name in ("x", "y", "z")}
             for case in ("a", "b")}
    times = harness.shuffled_cases(cases, 4, seed=3, relocate=True)
    assert {case: {name: len(t) for name, t in runs.items()} for case, runs in times.items()} \
        == {case: {"x": 4, "y": 4, "z": 4} for case in ("a", "b")}
    # each contender runs twice in a row (untimed, then timed); every round covers all six
    assert calls[::2] == calls[1::2] and len(calls) == 2 * 6 * 4
    rounds = [calls[i:i + 12:2] for i in range(0, len(calls), 12)]
    assert all(sorted(r) == sorted(f"{c}.{n}" for c in "ab" for n in "xyz") for r in rounds)
    # cases are interleaved: some round does not start with the case the first one did
    assert len({r[0][0] for r in rounds}) == 2
    assert harness.shuffled_cases(cases, 4, seed=3).keys() == times.keys()
