"""Bounded load test of the reference server on SQLite (loopback only).

    python benchmarks/load_test.py [--clients 32] [--seconds 30]

Starts ``opfilter serve`` on the demo world in a temporary SQLite file, then runs
``--clients`` keep-alive clients for ``--seconds`` seconds, mixing valid and invalid
requests; every answer is compared byte for byte with the in-memory reference for the same
world.  Reports errors, wrong answers, p50/p99 latency and the server's memory (RSS sampled
every second, and its peak), and rewrites the "## Load (issue 6)" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opfilter.streams.demo import DEMO_TOKENS, demo_world
from opfilter.streams.endpoint import PATH, handle
from opfilter.streams.store import MemoryStore
from results import write_section

HEADING = "## Load (issue 6)"


def make_requests(rng: random.Random, n: int) -> list[tuple[str, dict[str, str]]]:
    """(target, headers) pairs: mostly valid list and item requests, some invalid ones."""
    out = []
    for _ in range(n):
        kind = rng.choice(list(DEMO_TOKENS))
        company = {"globex": "globex", "initech": "initech"}.get(kind, "acme")
        headers = {"Authorization": f"Bearer {DEMO_TOKENS[kind]}", "Wethod-Company": company,
                   "Wethod-Version": "2024-06-15"}
        roll = rng.random()
        if roll < 0.45:
            pid = rng.randrange(1, 361)
            q = (f"project_id=in:{pid},{pid + 1}&updated_at=gte:2024-0{rng.randrange(1, 10)}-01"
                 f"&limit={rng.randrange(1, 101)}")
        elif roll < 0.6:
            q = f"updated_at=bt:2024-03-{rng.randrange(10, 28)},2024-03-{rng.randrange(28, 32)}"
        elif roll < 0.7:
            q = f"deleted=only&offset={rng.randrange(0, 500)}&limit=20"
        elif roll < 0.8:
            target = f"{PATH}/{rng.randrange(1, 130_000)}"
            out.append((target, headers))
            continue
        elif roll < 0.9:
            q = rng.choice(["project_id=ge:5", "limit=0", "updated_at=2024-13-01",
                            "deleted=eq:include&offset=-1", "project_id=in:1,,2"])
        else:
            headers = dict(headers)
            headers[rng.choice(["Authorization", "Wethod-Version"])] = "bogus"
            q = "limit=5"
        out.append((f"{PATH}?{q}", headers))
    return out


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--requests", type=int, default=2000, help="distinct requests in the mix")
    ap.add_argument("--no-write", action="store_true", help="don't update RESULTS.md")
    args = ap.parse_args()

    rng = random.Random(7)
    mix = make_requests(rng, args.requests)
    print("building the reference answers …", flush=True)
    reference = MemoryStore(demo_world())
    expected = []
    for target, headers in mix:
        path, _, query = target.partition("?")
        r = handle(reference, "GET", path, query, list(headers.items()))
        expected.append((r.status, r.body))

    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-m", "opfilter", "serve", "--port", "0", "--db",
             str(Path(tmp) / "demo.sqlite3")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert proc.stdout is not None
        port = 0
        for line in proc.stdout:
            m = re.search(r"http://127\.0\.0\.1:([0-9]+)", line)
            if m:
                port = int(m[1])
                break
        assert port, "the server did not start"
        latencies: list[float] = []
        errors: list[str] = []
        wrong: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        samples: list[tuple[float, int]] = []

        def client(seed: int) -> None:
            local = random.Random(seed)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine: list[float] = []
            while time.monotonic() < stop_at:
                i = local.randrange(len(mix))
                target, headers = mix[i]
                start = time.perf_counter()
                try:
                    conn.request("GET", target, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        errors.append(f"{target}: {e!r}")
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                mine.append(time.perf_counter() - start)
                if (resp.status, body) != expected[i]:
                    with lock:
                        wrong.append(f"{target}: {resp.status}")
            conn.close()
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        began = time.monotonic()
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            samples.append((time.monotonic() - began, rss_kib(proc.pid)))
            time.sleep(1.0)
        for t in threads:
            t.join()
        peak = rss_kib(proc.pid, "VmHWM")
        proc.terminate()
        proc.wait(timeout=30)

    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1e3 if lat else float("nan")
    p99 = lat[int(len(lat) * 0.99) - 1] * 1e3 if lat else float("nan")
    warm = [kb for t, kb in samples if t >= min(5.0, args.seconds / 3)]
    first, last = (warm[0], warm[-1]) if warm else (0, 0)
    growth = (last - first) / first * 100 if first else 0.0
    tail = [kb for t, kb in samples if t >= args.seconds * 2 / 3]
    tail_growth = (tail[-1] - tail[0]) / tail[0] * 100 if len(tail) > 1 and tail[0] else 0.0
    series = " ".join(f"{kb / 1024:.0f}" for _, kb in samples[::10])
    rows = [
        ("clients × duration", f"{args.clients} × {args.seconds:.0f} s (loopback, keep-alive)"),
        ("requests answered", f"{len(lat):,} ({len(lat) / args.seconds:,.0f}/s)"),
        ("transport errors", str(len(errors))),
        ("wrong answers (vs in-memory reference)", str(len(wrong))),
        ("latency p50 / p99", f"{p50:.1f} ms / {p99:.1f} ms"),
        ("server RSS after warm-up → end", f"{first / 1024:.1f} → {last / 1024:.1f} MiB "
                                           f"({growth:+.1f}%)"),
        ("server RSS growth over the last third", f"{tail_growth:+.1f}%"),
        ("server peak RSS (VmHWM)", f"{peak / 1024:.1f} MiB"),
        ("server RSS every 10 s (MiB)", series),
    ]
    table = "| measure | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    print(table)
    for line in (errors + wrong)[:10]:
        print("  ", line)
    if not args.no_write:
        section = (f"{HEADING}\n\n`python benchmarks/load_test.py --clients {args.clients} "
                   f"--seconds {args.seconds:.0f}` — the demo world (120,000 rows) on SQLite, a "
                   f"mix of {args.requests} valid and invalid requests, every answer checked "
                   f"against the in-memory reference.\n\n{table}")
        write_section(HEADING, section)
    return 1 if errors or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
