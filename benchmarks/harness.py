"""Interleaved timing for the benchmarks: every contender runs a batch in every round,
in a rotating order, so a noisy neighbour slows all of them alike; results are medians of
per-call times and of per-round ratios."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
