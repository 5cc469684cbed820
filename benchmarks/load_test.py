"""Bounded load test of the reference server on SQLite and PostgreSQL (loopback only).

    python benchmarks/load_test.py [--clients 32] [--seconds 30] [--only NAME ...]

Builds the demo world (120,000 rows) into a temporary SQLite file and into a throwaway
PostgreSQL cluster (``tests/pgcluster.py``; or ``--dsn``), then, for each configuration,
starts a server on 127.0.0.1 and runs ``--clients`` keep-alive clients for ``--seconds``
seconds, mixing valid and invalid requests; every answer is compared byte for byte with
the in-memory reference for the same world.  Configurations: ``opfilter serve`` on each
store, and ``gunicorn --preload -k gthread`` with 1 and 2 workers on each store (extra
``opfilter[bench]``), to show that throughput grows with worker processes (and that a
store built before the fork works in the children).  Reports throughput, errors, wrong
answers, 503s, p50/p99 latency and the server's memory (RSS of the server and its worker
processes, sampled every second), and rewrites the "## Load (issue 13)" section of
RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from opfilter.streams import PostgresStore, SQLiteStore
from opfilter.streams.demo import DEMO_TOKENS, demo_world
from opfilter.streams.endpoint import PATH, handle
from opfilter.streams.store import MemoryStore
from results import write_section

HEADING = "## Load (issue 13)"


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
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


GUNICORN_APP = """
import os
from opfilter.server import make_app
from opfilter.streams import PostgresStore, SQLiteStore
if os.environ["OPFILTER_LOAD_STORE"] == "postgresql":
    store = PostgresStore(os.environ["OPFILTER_LOAD_DSN"], max_size=8)
else:
    store = SQLiteStore(os.environ["OPFILTER_LOAD_DB"], max_connections=8)
store.count()  # touch the database in the parent: the children must not reuse this connection
app = make_app(store)
"""


def start_server(kind: str, store: str, db: Path, dsn: str, tmp: Path,
                 log: Any) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {**os.environ, "OPFILTER_LOAD_STORE": store, "OPFILTER_LOAD_DB": str(db),
           "OPFILTER_LOAD_DSN": dsn, "PYTHONPATH": str(tmp)}
    if kind == "serve":
        where = ["--dsn", dsn] if store == "postgresql" else ["--db", str(db)]
        cmd = [sys.executable, "-m", "opfilter", "serve", "--port", str(port), "--store", store,
               *where]
    else:
        workers = kind.split("-w")[1]
        (tmp / "opfilter_load_app.py").write_text(GUNICORN_APP)
        cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", workers, "-k", "gthread",
               "--threads", "8", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               "opfilter_load_app:app"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, text=True, env=env)
    wait_for(port, proc)
    return proc, port


def run_load(port: int, pid: int, mix: list[tuple[str, dict[str, str]]],
             expected: list[tuple[int, bytes]], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    wrong: list[str] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
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
            with lock:
                statuses[resp.status] += 1
                if resp.status != 503 and (resp.status, body) != expected[i]:
                    wrong.append(f"{target}: {resp.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - began,
                        sum(rss_kib(p) for p in process_tree(pid))))
        time.sleep(1.0)
    for t in threads:
        t.join()
    lat = sorted(latencies)
    return {
        "n": len(lat), "errors": errors, "wrong": wrong, "statuses": statuses,
        "p50": statistics.median(lat) * 1e3 if lat else float("nan"),
        "p99": lat[max(int(len(lat) * 0.99) - 1, 0)] * 1e3 if lat else float("nan"),
        "samples": samples,
    }


CONFIGS = ["serve/sqlite", "serve/postgresql", "gunicorn-w1/sqlite", "gunicorn-w2/sqlite",
           "gunicorn-w1/postgresql", "gunicorn-w2/postgresql"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--requests", type=int, default=2000, help="distinct requests in the mix")
    ap.add_argument("--only", nargs="*", choices=CONFIGS, help="run only these configurations")
    ap.add_argument("--dsn", help="a PostgreSQL database to use (default: a throwaway cluster)")
    ap.add_argument("--no-write", action="store_true", help="don't update RESULTS.md")
    args = ap.parse_args()
    configs = args.only or CONFIGS
    if any(c.startswith("gunicorn") for c in configs) and shutil.which("gunicorn") is None \
            and not Path(sys.executable).with_name("gunicorn").exists():
        raise SystemExit("gunicorn is not installed: pip install -e '.[bench]'")

    load_start = os.getloadavg()[0]
    rng = random.Random(7)
    mix = make_requests(rng, args.requests)
    print("building the demo world and the reference answers …", flush=True)
    world = demo_world()
    reference = MemoryStore(world)
    expected = []
    for target, headers in mix:
        path, _, query = target.partition("?")
        answer = handle(reference, "GET", path, query, list(headers.items()))
        expected.append((answer.status, answer.body))

    cluster = None
    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = tmp / "demo.sqlite3"
        SQLiteStore.from_world(world, db).close()
        dsn = args.dsn or ""
        if any(c.endswith("postgresql") for c in configs) and not dsn:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            import pgcluster

            cluster = pgcluster.start()
            dsn = cluster.dsn
        if dsn:
            PostgresStore.from_world(world, dsn).close()
        try:
            for config in configs:
                kind, store = config.split("/")
                with open(tmp / f"{kind}-{store}.log", "w") as log:
                    proc, port = start_server(kind, store, db, dsn, tmp, log)
                    try:
                        print(f"{config}: {args.clients} clients × {args.seconds:.0f} s …",
                              flush=True)
                        results.append((config, run_load(port, proc.pid, mix, expected,
                                                         args.clients, args.seconds)))
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)
        finally:
            if cluster is not None:
                cluster.stop()

    lines = ["| server / store | requests/s | p50 / p99 | 503s | transport errors | wrong "
             "answers | RSS after warm-up → end (all processes) |", "|---|---|---|---|---|---|---|"]
    for config, r in results:
        warm = [kb for t, kb in r["samples"] if t >= min(5.0, args.seconds / 3)]
        first, last = (warm[0], warm[-1]) if warm else (0, 0)
        lines.append(
            f"| {config} | {r['n'] / args.seconds:,.0f} | {r['p50']:.1f} / {r['p99']:.1f} ms | "
            f"{r['statuses'][503]} | {len(r['errors'])} | {len(r['wrong'])} | "
            f"{first / 1024:.0f} → {last / 1024:.0f} MiB |")
    table = "\n".join(lines) + "\n"
    print(table)
    for _, r in results:
        for line in (r["errors"] + r["wrong"])[:5]:
            print("  ", line)
    if not args.no_write:
        section = (
            f"{HEADING}\n\n`python benchmarks/load_test.py --clients {args.clients} "
            f"--seconds {args.seconds:.0f}` — the demo world (120,000 rows), a mix of "
            f"{args.requests} valid and invalid requests, every answer checked against the "
            f"in-memory reference; {os.cpu_count()} CPUs shared by the clients and the server, "
            f"load average {load_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the "
            "end (other jobs share the machine) "
            "(the load generator is Python threads on the same machine, so absolute numbers "
            "are a floor).  `serve` is `opfilter serve` (one process: 8 workers, 64 "
            "connections, pool of 8); `gunicorn-wN` is `gunicorn --preload -w N -k gthread "
            "--threads 8` over `make_app(store)`, the store opened in the master before the "
            f"fork.\n\n{table}")
        write_section(HEADING, section)
    bad = any(r["errors"] or r["wrong"] for _, r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
