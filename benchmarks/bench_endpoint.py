"""Benchmark: the in-memory endpoint and the compiled predicate.

Run as a script (outside the test run)::

    python benchmarks/bench_endpoint.py [--rows 100000] [--predicate-rows 1000000]

Measures, in one run (so ratios compare like with like):

* one full list request over 100,000 rows in memory, through ``handle`` and the
  ``MemoryStore`` — the first page (the store stops early) and a selective filter whose
  page lies at the end (the whole company list is walked);
* ``to_predicate`` over 1,000,000 rows against a hand-written list comprehension of the
  same condition (target: at most 1.25×).

Prints a small markdown table; times are medians of several repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from opfilter import parse_query, to_predicate
from opfilter.streams import SCHEMA
from opfilter.streams.endpoint import PATH, handle
from opfilter.streams.model import ProductionPlanStream
from opfilter.streams.store import MemoryStore
from opfilter.streams.world import (
    PERMISSION_VIEW,
    PERMISSION_VIEW_OTHER,
    Company,
    Project,
    User,
    World,
)
from results import write_section

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HEADERS = {"Authorization": "Bearer tok", "Wethod-Company": "acme", "Wethod-Version": "2024-06-15"}


def make_rows(n: int) -> list[ProductionPlanStream]:
    return [
        ProductionPlanStream(
            id=i,
            created_at=T0 + timedelta(minutes=i),
            updated_at=T0 + timedelta(minutes=i, microseconds=i % 1000),
            date=date(2024, 1 + i % 12, 1),
            value=Decimal(i % 10_000) / 100,
            project_id=1 + i % 50,
            stream_id=1 + i % 7,
            production_plan_id=1 + i % 13,
            deleted_at=None if i % 10 else T0 + timedelta(days=400),
        )
        for i in range(1, n + 1)
    ]


HEADING = "## Predicate and in-memory endpoint (issue 3)"
PREDICATE_QUERY = "project_id=in:3,5,7&updated_at=gte:2024-03-01"


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--predicate-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="don't update RESULTS.md")
    args = parser.parse_args()

    rows = make_rows(args.rows)
    world = World(
        [Company("acme", True)],
        [User(1, "tok", {"acme": {PERMISSION_VIEW, PERMISSION_VIEW_OTHER}}),
         User(2, "tok-own", {"acme": {PERMISSION_VIEW}})],
        [Project(p, "acme", pm_id=2 if p % 2 else None) for p in range(1, 51)],
        rows,
    )
    store = MemoryStore(world)
    last = T0 + timedelta(minutes=args.rows - 300)
    selective = f"updated_at=gte:{last.strftime('%Y-%m-%dT%H:%M:%SZ')}&stream_id=in:1,2"
    own_headers = {**HEADERS, "Authorization": "Bearer tok-own"}

    table: list[tuple[str, float, str]] = []
    for label, query, hdrs in [
        ("list, first page (limit=100)", "", HEADERS),
        ("list, page at the end (selective filter)", selective, HEADERS),
        ("list, view-only user, page at the end", selective, own_headers),
        ("list, deep offset (offset=89900)", "offset=89900", HEADERS),
    ]:
        response = handle(store, "GET", PATH, query, hdrs)
        assert response.status == 200, response.body
        def request(q: str = query, h: dict[str, str] = hdrs) -> object:
            return handle(store, "GET", PATH, q, h)

        t = median_time(request, args.repeats)
        table.append((f"{label} over {args.rows:,} rows", t, f"{len(response.json())} rows"))

    # -- predicate vs hand-written comprehension ------------------------------------------
    big = make_rows(args.predicate_rows) if args.predicate_rows != args.rows else rows
    parsed = parse_query(PREDICATE_QUERY, SCHEMA)
    pred = to_predicate(parsed)
    bound = datetime(2024, 3, 1, tzinfo=UTC)
    wanted = frozenset({3, 5, 7})

    def compiled() -> list[ProductionPlanStream]:
        return [r for r in big if pred(r)]

    def by_hand() -> list[ProductionPlanStream]:
        return [
            r for r in big
            if r.project_id in wanted and r.updated_at >= bound and r.deleted_at is None
        ]

    def selected() -> list[ProductionPlanStream]:
        return pred.select(big)

    assert compiled() == by_hand() == selected()
    # interleaved rounds: the three contenders run back to back in every round
    times: dict[str, list[float]] = {"pred": [], "select": [], "hand": []}
    for _ in range(max(5, args.repeats)):
        for key, fn in (("pred", compiled), ("select", selected), ("hand", by_hand)):
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    t_pred, t_select, t_hand = (statistics.median(times[k]) for k in ("pred", "select", "hand"))
    r_pred = statistics.median(p / h for p, h in zip(times["pred"], times["hand"], strict=True))
    r_select = statistics.median(
        s / h for s, h in zip(times["select"], times["hand"], strict=True)
    )
    n = f"{len(big):,}"
    table.append((f"to_predicate, called per row, over {n} rows", t_pred,
                   f"{len(by_hand())} rows"))
    table.append((f"to_predicate(...).select(rows) over {n} rows", t_select, "same"))
    table.append((f"hand-written list comprehension over {n} rows", t_hand, "same"))

    lines = ["| measurement | median time | result |", "|---|---:|---|"]
    lines += [f"| {label} | {t * 1000:.2f} ms | {note} |" for label, t, note in table]
    met = "✅ met" if r_select <= 1.25 else "❌ missed"
    lines.append(f"| per-row predicate ÷ comprehension | {r_pred:.2f}× | a Python call per row |")
    lines.append(f"| select() ÷ comprehension | {r_select:.2f}× | target ≤ 1.25×: {met} |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(HEADING, (
            f"{HEADING}\n\n`python benchmarks/bench_endpoint.py` — whole list requests through "
            f"`handle()` on a `MemoryStore` of {args.rows:,} rows, and the compiled predicate "
            f"for `{PREDICATE_QUERY}` against the same condition written as a list "
            "comprehension (ratios are medians of per-round ratios, contenders interleaved)."
            "\n\n" + body + "\n"
        ))

if __name__ == "__main__":
    main()
