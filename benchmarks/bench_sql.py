"""SQL store benchmark (issue 4): selective list requests, SQLite vs the in-memory scan.

Run it as a plain script (it is not part of the test run)::

    .venv/bin/python benchmarks/bench_sql.py              # 1,000,000 rows, updates RESULTS.md
    .venv/bin/python benchmarks/bench_sql.py --rows 100000 --no-write   # smoke test

It builds one world — one company, ``--projects`` projects (2,000 by default), ``--rows``
rows spread over them at random (so one project holds ~0.05% of the rows), ``updated_at``
rising with the id, every 10th row soft-deleted — loads it into a
:class:`~opfilter.streams.SQLiteStore` in a file in a temporary directory and into a
:class:`~opfilter.streams.store.MemoryStore`, checks both give byte-identical responses, and
then times whole requests through :func:`opfilter.streams.endpoint.handle` (headers, query
parsing, the store, JSON), interleaved: every round times each request once per store, in
alternating order; the table shows the median per-request time and the median of the
per-round ratios (memory ÷ SQLite).  ``EXPLAIN QUERY PLAN`` of each SQLite query is printed
below the table.

The markdown goes to stdout and, under ``## SQL store (issue 4)``, into
``benchmarks/RESULTS.md`` when that file exists (only this section is rewritten).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from opfilter.streams import SQLiteStore
from opfilter.streams.endpoint import PATH, SUPPORTED_VERSION, handle
from opfilter.streams.model import ProductionPlanStream
from opfilter.streams.store import MemoryStore, Store
from opfilter.streams.world import (
    PERMISSION_VIEW,
    PERMISSION_VIEW_OTHER,
    Company,
    Project,
    User,
    World,
)
from results import RESULTS, write_section

HEADING = "## SQL store (issue 4)"
UTC = dt.UTC
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
HEADERS = [
    ("Authorization", "Bearer tok-bench"),
    ("Wethod-Company", "acme"),
    ("Wethod-Version", SUPPORTED_VERSION),
]


def build_world(n_rows: int, n_projects: int, seed: int = 4) -> World:
    rng = random.Random(seed)
    projects = [
        Project(p, "acme", 1 if p % 3 == 0 else None, None) for p in range(1, n_projects + 1)
    ]
    values = [Decimal(v) for v in ("15.6", "100", "0.25", "-5.5", "33.333")]
    rows = []
    for i in range(1, n_rows + 1):
        at = T0 + dt.timedelta(seconds=30 * i, microseconds=rng.randrange(1_000_000))
        rows.append(ProductionPlanStream(
            id=i, created_at=at, updated_at=at, date=dt.date(2024, 1 + i % 12, 1),
            value=values[i % 5], project_id=rng.randrange(1, n_projects + 1),
            stream_id=rng.randrange(1, 50), production_plan_id=rng.randrange(1, 200),
            deleted_at=at if i % 10 == 0 else None,
        ))
    users = [User(1, "tok-bench", {"acme": frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER})})]
    return World([Company("acme", True)], users, projects, rows)


def requests(world: World) -> list[tuple[str, str]]:
    """(label, query string) of the requests timed."""
    n = len(world.rows)
    mid = world.rows[n // 2].updated_at
    late = world.rows[n - n // 2000].updated_at

    def z(t: dt.datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    narrow = f"updated_at=bt:{z(mid)},{z(mid + dt.timedelta(minutes=30))}"
    pid = world.rows[n // 3].project_id
    return [
        (f"one project (project_id=eq:{pid}), first page", f"project_id=eq:{pid}"),
        ("one project, deleted=include, offset=300",
         f"project_id=eq:{pid}&deleted=include&offset=300"),
        ("narrow updated_at range (bt, 30 min)", narrow),
        ("one project and a month (updated_at=bt:day,day)",
         f"project_id=eq:{pid}&updated_at=bt:{mid.date()},{mid.date() + dt.timedelta(days=30)}"),
        ("recent changes (one-sided updated_at=gte:, last 0.05%)",
         f"updated_at=gte:{z(late)}&deleted=include"),
        ("no filter, first page (not selective)", ""),
    ]


def timed(store: Store, query: str) -> float:
    t = time.perf_counter()
    r = handle(store, "GET", PATH, query, HEADERS)
    elapsed = time.perf_counter() - t
    assert r.status == 200, r.body
    return elapsed


def measure(
    memory: MemoryStore, sqlite: SQLiteStore, query: str, rounds: int
) -> tuple[float, float, float, int]:
    """(median memory s, median sqlite s, median ratio, rows on the page)."""
    a = handle(memory, "GET", PATH, query, HEADERS)
    b = handle(sqlite, "GET", PATH, query, HEADERS)
    assert (a.status, a.headers, a.body) == (b.status, b.headers, b.body), query
    page = len(a.json())
    mem, sql, ratio = [], [], []
    gc.disable()
    try:
        for i in range(rounds):
            if i % 2:
                s = timed(sqlite, query)
                m = timed(memory, query)
            else:
                m = timed(memory, query)
                s = timed(sqlite, query)
            mem.append(m)
            sql.append(s)
            ratio.append(m / s)
    finally:
        gc.enable()
    return statistics.median(mem), statistics.median(sql), statistics.median(ratio), page


def matching(world: World, query: str) -> int:
    """How many rows the query matches in all (not just the page)."""
    from opfilter import parse_query, to_predicate
    from opfilter.streams import SCHEMA

    pred = to_predicate(parse_query(query, SCHEMA))
    return sum(1 for r in world.rows if pred(r))


def ms(s: float) -> str:
    return f"{s * 1000:.3f}" if s < 0.01 else f"{s * 1000:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--projects", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = ap.parse_args(argv)

    started = time.time()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t = time.perf_counter()
    world = build_world(args.rows, args.projects)
    t_world = time.perf_counter() - t
    t = time.perf_counter()
    memory = MemoryStore(world)
    t_memory = time.perf_counter() - t

    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="opfilter-bench-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        t = time.perf_counter()
        sqlite = SQLiteStore.from_world(world, path)
        t_load = time.perf_counter() - t
        size = path.stat().st_size
        try:
            cases = requests(world)
            out += [
                HEADING,
                "",
                f"`benchmarks/bench_sql.py`: {args.rows:,} rows over {args.projects:,} projects "
                f"of one company, SQLite {sqlite3.sqlite_version} file ({size / 2**20:.0f} MiB) "
                f"in a temp dir vs `MemoryStore` (the in-memory reference, a scan with the "
                f"compiled predicate); whole requests through `endpoint.handle`, "
                f"{args.rounds} interleaved rounds, medians.  Python {platform.python_version()}, "
                f"{os.cpu_count()} CPUs, load average {load:.2f} at the start.",
                "",
                f"Setup: building the world {t_world:.1f} s, `MemoryStore` {t_memory:.1f} s, "
                f"`SQLiteStore.from_world` (executemany, indexes built after, ANALYZE) "
                f"{t_load:.1f} s.",
                "",
                "| request | rows matching | page | memory ms | SQLite ms | memory ÷ SQLite |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            plans: list[str] = []
            from opfilter import parse_query
            from opfilter.streams import SCHEMA

            for label, query in cases:
                m, s, ratio, page = measure(memory, sqlite, query, args.rounds)
                n = matching(world, query)
                share = f"{n:,} ({100 * n / len(world.rows):.2f}%)"
                shown = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
                out.append(f"| {label} | {share} | {page} | {ms(m)} | {ms(s)} | **{shown}×** |")
                plan = sqlite.explain(*sqlite.list_sql("acme", 1, True, True,
                                                       parse_query(query, SCHEMA)))
                plans += [f"`{query or '(no query)'}`:", "", "```", *plan, "```", ""]
                print(f"  {label}: memory {ms(m)} ms, sqlite {ms(s)} ms, {ratio:.1f}x",
                      file=sys.stderr)
        finally:
            sqlite.close()
    out += [
        "",
        "Selective requests are answered from an index (`pps_project` = `(project_id, id)`, "
        "`pps_updated_at`), so their cost does not grow with the table; the memory store "
        "walks the company's rows until its page is full (all of them when fewer match).  "
        "A one-sided range (`gte:`) is the planner's blind spot: without `SQLITE_ENABLE_STAT4` "
        "SQLite cannot tell from a bound parameter that the range is narrow, and prefers "
        "walking the rows in id order (no sort for `ORDER BY id LIMIT`).  `SQLiteStore` "
        "therefore counts, index-only and bounded to `RANGE_PROBE_ROWS` entries, how many rows "
        "an `updated_at` range matches, and forces `INDEXED BY pps_updated_at` when it is "
        "narrow (before that probe this request was only 2.5–7.5× faster than memory).",
        "",
        "EXPLAIN QUERY PLAN of each request's SQLite query:",
        "",
        *plans,
    ]
    section = "\n".join(out).rstrip("\n") + "\n"
    print(section)
    if not args.no_write and RESULTS.exists():
        write_section(HEADING, section)
        print(f"wrote {RESULTS} ({time.time() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
