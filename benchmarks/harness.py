"""Interleaved timing for the benchmarks, so a noisy neighbour slows every contender
alike; results are medians of per-call times and of per-round ratios.

* ``run_interleaved``: many small calls — every contender runs a batch in every round, in
  a rotating order, with the cyclic collector paused.
* ``shuffled_rounds`` / ``shuffled_cases``: whole jobs — every round runs every contender
  (of every case) once untimed and once timed, in a seeded shuffled order, optionally on
  fresh copies of its code (``relocated``)."""

from __future__ import annotations

import cProfile
import functools
import gc
import io
import pstats
import random
import statistics
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Contender:
    """One thing timed: ``fn`` applied to ``inputs`` (cycled through, batch by batch).

    ``hits`` reads a memo's hit counter (e.g. ``lru_cache.cache_info().hits``); the hits
    during this contender's batches are added up in ``cache_hits``, so a benchmark can
    prove that its "unique values" runs never hit the memo."""

    name: str
    fn: Callable[[Any], object]
    inputs: Sequence[Any]
    hits: Callable[[], int] | None = None
    per_call_us: list[float] = field(default_factory=list)
    batch: int = 1
    pos: int = 0
    cache_hits: int = 0
    calls: int = 0


def time_batch(fn: Callable[[Any], object], chunk: list[Any]) -> float:
    """Seconds to apply ``fn`` to every item of ``chunk``, with the GC paused."""
    gc.disable()
    try:
        t0 = time.perf_counter()
        for x in chunk:
            fn(x)
        return time.perf_counter() - t0
    finally:
        gc.enable()


def run_interleaved(
    contenders: list[Contender], rounds: int, batch_ms: float, probe: int = 20
) -> None:
    """Fill each contender's ``per_call_us`` (one entry per round)."""
    for c in contenders:  # warm up and calibrate on the tail, outside the first rounds' reach
        c.fn(c.inputs[-1])
        sample = [c.inputs[-1 - k] for k in range(min(probe, len(c.inputs)))]
        est = time_batch(c.fn, sample) / len(sample)
        c.batch = max(3, min(len(c.inputs) // 2, int(batch_ms / 1000 / max(est, 1e-9))))
    for r in range(rounds):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            n = len(c.inputs)
            chunk = [c.inputs[(c.pos + j) % n] for j in range(c.batch)]
            c.pos = (c.pos + c.batch) % n
            before = c.hits() if c.hits else 0
            elapsed = time_batch(c.fn, chunk)
            if c.hits:
                c.cache_hits += c.hits() - before
            c.calls += len(chunk)
            c.per_call_us.append(elapsed / len(chunk) * 1e6)
        gc.collect()


def med(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def ratio(num: Contender, den: Contender) -> float:
    """Median over rounds of the per-round ratio num ÷ den."""
    return med([a / b for a, b in zip(num.per_call_us, den.per_call_us, strict=True)])


def ok(met: bool) -> str:
    return "✅ met" if met else "❌ **missed**"


def profiled(fn: Callable[[Any], object], inputs: Sequence[Any]) -> pstats.Stats:
    """cProfile of ``fn`` over ``inputs[1:]`` (the first call warms up, unprofiled)."""
    fn(inputs[0])
    prof = cProfile.Profile()
    prof.enable()
    for x in inputs[1:]:
        fn(x)
    prof.disable()
    return pstats.Stats(prof, stream=io.StringIO())


def short_path(file: str) -> str:
    parts = Path(file).parts
    for anchor in ("site-packages", "src"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1 :])
    return Path(file).name


def profile_table(
    title: str, fn: Callable[[Any], object], inputs: Sequence[Any], top: int, unit: str
) -> list[str]:
    """A markdown table of the ``top`` functions by own time, per call of ``fn``."""
    stats = profiled(fn, inputs)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda kv: kv[1][2],
        reverse=True,
    )
    n = len(inputs) - 1
    lines = [
        f"{title}: cProfile over {n:,} inputs, one {unit} each (profiler overhead inflates "
        "small calls; read it for proportions):",
        "",
        f"| function | calls / {unit} | own time % | cumulative % |",
        "|---|--:|--:|--:|",
    ]
    for (file, line, name), (_cc, nc, tt, ct, _callers) in rows[:top]:
        where = f"{short_path(file)}:{line}" if line else file
        lines.append(
            f"| `{name}` ({where}) | {nc / n:.1f} | {100 * tt / total:.1f} "
            f"| {100 * ct / total:.1f} |"
        )
    return lines


def _copied(code: types.CodeType) -> types.CodeType:
    consts = tuple(_copied(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_consts=consts)  # a new code object: its bytecode lies elsewhere


def relocated(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with fresh copies of its code objects (nested ones too, such as a
    comprehension's): the same bytecode at another address.  Where a loop's bytecode
    happens to lie changes its speed by several per cent (identical code has measured
    1.07–1.10x itself for a whole run); copying the code every round samples that
    lottery instead of drawing once.  ``functools.partial`` is looked through."""
    if isinstance(fn, functools.partial):
        return functools.partial(relocated(fn.func), *fn.args, **fn.keywords)
    if not isinstance(fn, types.FunctionType):
        return fn
    copy = types.FunctionType(_copied(fn.__code__), fn.__globals__, fn.__name__,
                              fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


def shuffled_rounds(contenders: dict[str, Callable[[], object]], rounds: int,
                    seed: int = 20240615, *, relocate: bool = False) -> dict[str, list[float]]:
    """Seconds per run of each whole-job contender, one entry per round.  Every round runs
    the contenders in an order shuffled by a seeded generator — so none of them always
    follows the same one (a long Python loop leaves the caches, the allocator and Polars'
    threads cold for whatever runs next) — and each timed run is preceded by an untimed
    run of the same contender: what is measured is its steady state.  With ``relocate``
    each round times fresh copies of the contenders' code (``relocated``)."""
    return shuffled_cases({"": contenders}, rounds, seed, relocate=relocate)[""]


def shuffled_cases(cases: dict[str, dict[str, Callable[[], object]]], rounds: int,
                   seed: int = 20240615, *,
                   relocate: bool = False) -> dict[str, dict[str, list[float]]]:
    """``shuffled_rounds`` over several cases at once: every round visits every case, in
    a shuffled order, and runs its contenders as ``shuffled_rounds`` does.  A case's
    rounds are thus spread over the whole run, so a slow spell of the shared host (they
    last seconds here) falls on every case a little rather than on one case's rounds."""
    rng = random.Random(seed)
    times: dict[str, dict[str, list[float]]] = {
        case: {name: [] for name in contenders} for case, contenders in cases.items()}
    case_order = list(cases)
    orders = {case: list(contenders) for case, contenders in cases.items()}
    for _ in range(rounds):
        rng.shuffle(case_order)
        for case in case_order:
            order = orders[case]
            rng.shuffle(order)
            for name in order:
                fn = cases[case][name]
                if relocate:
                    fn = relocated(fn)
                fn()
                start = time.perf_counter()
                fn()
                times[case][name].append(time.perf_counter() - start)
    return times
