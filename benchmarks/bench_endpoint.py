"""Benchmark: the in-memory endpoint and the compiled predicate.

Run as a script (outside the test run)::

    python benchmarks/bench_endpoint.py [--rows 100000] [--predicate-rows 300000]

Measures, in one run (so ratios compare like with like):

* one full list request over 100,000 rows in memory, through ``handle`` and the
  ``MemoryStore`` — the first page (the store stops early) and a selective filter whose
  page lies at the end (the whole company list is walked);
* ``to_predicate`` over 300,000 rows (dicts and objects), for three query shapes, called
  per row and as ``select``, against a hand-written list comprehension of the same
  conditions, inlined and calling a hand-written function per row (SPEC §10: per row at
  most 1.25× the latter, ``select`` at most 1.05× the former).  Every round visits all
  six cases (shape × row kind) in a shuffled order, on fresh copies of the contenders'
  code; the inlined comprehension is also timed against itself (the noise floor).

Prints a small markdown table; times are medians of several repeats.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from harness import shuffled_cases
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

# SPEC §10's query shapes
B1 = datetime(2024, 3, 1, tzinfo=UTC)
B2 = datetime(2024, 4, 1, tzinfo=UTC)
GONE = frozenset({T0 + timedelta(days=400), T0 + timedelta(days=401)})


def shapes() -> list[tuple[str, str, Callable[[Any], bool], Callable[[Any], bool]]]:
    """(name, query, condition on a dict row, the same on an object row), each
    condition written by hand in the query's order."""
    p357 = frozenset({3, 5, 7})
    s12 = frozenset({1, 2})
    return [
        ("equality", "project_id=eq:7&stream_id=in:1,2",
         lambda r: r["project_id"] == 7 and r["stream_id"] in s12 and r["deleted_at"] is None,
         lambda r: r.project_id == 7 and r.stream_id in s12 and r.deleted_at is None),
        ("datetime range", "updated_at=gte:2024-03-01&updated_at=lt:2024-04-01",
         lambda r: B1 <= r["updated_at"] < B2 and r["deleted_at"] is None,
         lambda r: B1 <= r.updated_at < B2 and r.deleted_at is None),
        ("mixed, nin on nullable",
         "updated_at=gte:2024-03-01&project_id=in:3,5,7"
         "&deleted_at=nin:2025-02-04T00:00:00Z,2025-02-05T00:00:00Z&deleted=include",
         lambda r: r["updated_at"] >= B1 and r["project_id"] in p357
         and (r["deleted_at"] is None or r["deleted_at"] not in GONE),
         lambda r: r.updated_at >= B1 and r.project_id in p357
         and (r.deleted_at is None or r.deleted_at not in GONE)),
    ]


def predicate_ratios(objects: list[ProductionPlanStream], rounds: int) -> str:
    """The markdown table of per-row and select() ratios, per shape and row kind."""
    dicts = [
        {f: getattr(o, f) for f in ("id", "updated_at", "project_id", "stream_id",
                                     "deleted_at")}
        for o in objects
    ]
    cases: dict[str, dict[str, Callable[[], object]]] = {}
    sizes: dict[str, int] = {}
    for name, query, by_key, by_attr in shapes():
        parsed = parse_query(query, SCHEMA)
        for kind, table, cond in (("dict", dicts, by_key), ("object", objects, by_attr)):
            auto = to_predicate(parsed)
            explicit = to_predicate(parsed, access="mapping" if kind == "dict" else "attribute")
            hand = _inline(name, kind, table)  # the condition inlined: no call per row

            def per_row(t: list[Any] = table, p: Any = auto) -> list[Any]:
                return [r for r in t if p(r)]

            def per_row_explicit(t: list[Any] = table, p: Any = explicit) -> list[Any]:
                return [r for r in t if p(r)]

            def per_row_hand(t: list[Any] = table, p: Any = cond) -> list[Any]:
                return [r for r in t if p(r)]  # the same conditions, a hand-written function

            # the generated select itself is the contender, so relocating reaches its loop
            select = functools.partial(auto.select, table)
            select_explicit = functools.partial(explicit.select, table)
            expected = [r for r in table if cond(r)]
            assert hand() == per_row() == per_row_explicit() == expected, name
            assert select() == select_explicit() == per_row_hand() == expected, name
            label = f"| {name} (`{query}`) | {kind} |"
            sizes[label] = len(table)
            # "hand_copy" is the inlined comprehension again: its ratio to "hand" is what
            # identical code measures against itself in this run (the noise floor)
            cases[label] = {"auto": per_row, "explicit": per_row_explicit, "select": select,
                            "select_explicit": select_explicit, "hand": hand,
                            "hand_copy": hand, "hand_fn": per_row_hand}
    timed = shuffled_cases(cases, rounds, relocate=True)

    out = ["| shape | rows | inlined comprehension | hand-written function per row ÷ "
           "inlined | **per row ÷ hand-written function**, `auto` / explicit `access` | "
           "per row ÷ inlined, `auto` / explicit | **`select()` ÷ inlined**, `auto` / "
           "explicit | noise floor: the inlined comprehension ÷ itself |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    worst = {"auto": 0.0, "explicit": 0.0, "select": 0.0, "select_explicit": 0.0,
             "auto_fn": 0.0, "explicit_fn": 0.0, "hand_fn": 0.0, "hand_copy": 0.0}
    for label, times in timed.items():
        def ratio(key: str, base: str, times: dict[str, list[float]] = times) -> float:
            return statistics.median(
                a / b for a, b in zip(times[key], times[base], strict=True))

        ratios = {key: ratio(key, "hand") for key in ("auto", "explicit", "select",
                                                      "select_explicit", "hand_fn",
                                                      "hand_copy")}
        ratios["auto_fn"] = ratio("auto", "hand_fn")
        ratios["explicit_fn"] = ratio("explicit", "hand_fn")
        for key in worst:
            worst[key] = max(worst[key], ratios[key])
        out.append(f"{label} "
                   f"{statistics.median(times['hand']) * 1e9 / sizes[label]:.0f} ns/row | "
                   f"{ratios['hand_fn']:.2f}× | "
                   f"{ratios['auto_fn']:.2f}× / {ratios['explicit_fn']:.2f}× | "
                   f"{ratios['auto']:.2f}× / {ratios['explicit']:.2f}× | "
                   f"{ratios['select']:.2f}× / {ratios['select_explicit']:.2f}× | "
                   f"{ratios['hand_copy']:.2f}× |")

    def verdict(x: float, target: float) -> str:
        return f"{x:.2f}× ({'✅' if x <= target else '❌'} ≤ {target}×)"

    out.append(f"| **worst** | | | {worst['hand_fn']:.2f}× | "
               f"{verdict(worst['auto_fn'], 1.25)} / {verdict(worst['explicit_fn'], 1.25)} | "
               f"{worst['auto']:.2f}× / {worst['explicit']:.2f}× | "
               f"{verdict(worst['select'], 1.05)} / "
               f"{verdict(worst['select_explicit'], 1.05)} | "
               f"{worst['hand_copy']:.2f}× |")
    return "\n".join(out)


def _inline(name: str, kind: str, table: list[Any]) -> Callable[[], list[Any]]:
    """The hand-written comprehension, condition inlined (what a person would write)."""
    p357, s12 = frozenset({3, 5, 7}), frozenset({1, 2})
    b1, b2, gone = B1, B2, GONE
    if name == "equality":
        if kind == "dict":
            return lambda: [r for r in table if r["project_id"] == 7
                            and r["stream_id"] in s12 and r["deleted_at"] is None]
        return lambda: [r for r in table if r.project_id == 7 and r.stream_id in s12
                        and r.deleted_at is None]
    if name == "datetime range":
        if kind == "dict":
            return lambda: [r for r in table if b1 <= r["updated_at"] < b2
                            and r["deleted_at"] is None]
        return lambda: [r for r in table if b1 <= r.updated_at < b2 and r.deleted_at is None]
    if kind == "dict":
        return lambda: [r for r in table if r["updated_at"] >= b1 and r["project_id"] in p357
                        and (r["deleted_at"] is None or r["deleted_at"] not in gone)]
    return lambda: [r for r in table if r.updated_at >= b1 and r.project_id in p357
                    and (r.deleted_at is None or r.deleted_at not in gone)]


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
    parser.add_argument("--predicate-rows", type=int, default=300_000)
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

    # -- predicate vs hand-written comprehension (SPEC §10) --------------------------------
    big = make_rows(args.predicate_rows)
    predicate_table = predicate_ratios(big, max(15, 2 * args.repeats))

    lines = ["| measurement | median time | result |", "|---|---:|---|"]
    lines += [f"| {label} | {t * 1000:.2f} ms | {note} |" for label, t, note in table]
    body = "\n".join(lines) + "\n\n" + predicate_table
    print(body)
    if not args.no_write:
        write_section(HEADING, (
            f"{HEADING}\n\n`python benchmarks/bench_endpoint.py` — whole list requests through "
            f"`handle()` on a `MemoryStore` of {args.rows:,} rows; then the generated "
            f"predicate over {len(big):,} rows (dicts, and `ProductionPlanStream` objects) "
            "against a hand-written list comprehension of the same conditions, written in "
            "the query's order. SPEC §10: `select` ≤ 1.05× the inlined comprehension; per "
            "row ≤ 1.25× — measured against the same comprehension calling a hand-written "
            "function of the same conditions per row, since the call alone costs about as "
            "much as the inlined condition (the \"hand-written function ÷ inlined\" "
            "column: no callable meets 1.25× of the inlined form). `select` is judged "
            "with an explicit `access`: with `auto` each row's class is tested in the "
            "comprehension, so that a list mixing dicts and objects is read row by row "
            "(10–17% a row). Ratios are medians of "
            "per-round ratios. Every round visits the six cases and their contenders in a "
            "seeded shuffled order, each timed run after an untimed one, on fresh copies of "
            "the contenders' code (`harness.shuffled_cases`, `relocated`): on this shared "
            "host a case measured in one block, or one placement of its bytecode, could "
            "put identical code at 1.07–1.10× itself for a whole run. The last column, "
            "the inlined comprehension timed again as its own contender, shows what "
            "identical code measures against itself in the same run."
            "\n\n" + body + "\n"
        ))

if __name__ == "__main__":
    main()
