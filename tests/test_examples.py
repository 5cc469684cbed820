"""The README's framework recipes are the files in ``examples/`` (SPEC §9, last bullet), and
they work: each runs against its real framework (Flask's and Starlette's test clients
in-process; Django's test client in a process of its own, see
``tests/django_example_driver.py``), and

* a valid query returns, byte for byte, the page the in-memory predicate selects from the
  same rows (ordered by id, ``limit``/``offset`` applied, each row's ``to_json``);
* an invalid one returns the reference 400 (``InvalidQuery.json()``) byte for byte;
* repeated filter parameters are ANDed, a repeated ``limit`` is a 400;

and each starts as its docstring says (``python examples/flask_app.py``,
``python examples/fastapi_app.py``, ``manage.py migrate`` + ``runserver``) and answers
over loopback HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opfilter import InvalidQuery, parse_query, to_predicate
from opfilter.errors import CONTENT_TYPE
from opfilter.streams import SCHEMA
from opfilter.streams.model import ProductionPlanStream
from opfilter.streams.strategies import rows as stream_rows
from opfilter.testing import invalid_query_strings, noisy_query_strings
from opfilter.values import format_datetime

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DJANGO_APP = EXAMPLES / "django_app"
URL = "/api/production-plan-streams"

Answer = tuple[int, str, bytes]
"""(status, content type, body) of one GET."""


def _module(path: Path) -> Any:
    """Import an example file under its own name (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected(rows: Sequence[ProductionPlanStream], query: str) -> tuple[int, bytes]:
    """What the endpoint must answer: the predicate's page over ``rows``, or the 400."""
    try:
        q = parse_query(query.encode("ascii"), SCHEMA)
    except InvalidQuery as e:
        return 400, e.json()
    keep = to_predicate(q)
    page = sorted((r for r in rows if keep(r)), key=lambda r: r.id)[q.offset:q.offset + q.limit]
    return 200, ("[" + ",".join(r.to_json() for r in page) + "]").encode()


# -- the three examples behind one interface ---------------------------------------------


class Example(Protocol):
    def load(self, rows: Sequence[ProductionPlanStream]) -> None: ...
    def get(self, query: str) -> Answer: ...


class FlaskExample:
    def __init__(self, db: Path) -> None:
        self.module = _module(EXAMPLES / "flask_app.py")
        self.module.DB = str(db)
        self.client = self.module.app.test_client()

    def load(self, rows: Sequence[ProductionPlanStream]) -> None:
        self.module.create_db(self.module.DB, rows)

    def get(self, query: str) -> Answer:
        r = self.client.get(f"{URL}?{query}")
        return r.status_code, r.headers["Content-Type"], r.data


class FastAPIExample:
    def __init__(self, db: Path) -> None:
        from fastapi.testclient import TestClient

        self.module = _module(EXAMPLES / "fastapi_app.py")
        self.module.DB = str(db)
        self.client = TestClient(self.module.app)

    def load(self, rows: Sequence[ProductionPlanStream]) -> None:
        self.module.create_db(self.module.DB, rows)

    def get(self, query: str) -> Answer:
        r = self.client.get(f"{URL}?{query}")
        return r.status_code, r.headers["Content-Type"], r.content


class DjangoExample:
    """The example project in ``tests/django_example_driver.py``'s process."""

    def __init__(self, db: Path) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "streams_site.settings",
               "STREAMS_DB": str(db), "PYTHONPATH": str(DJANGO_APP)}
        self.process = subprocess.Popen(
            [sys.executable, "-W", "error", str(ROOT / "tests" / "django_example_driver.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=DJANGO_APP)
        assert self._read() == {"ready": True}

    def _read(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the Django driver stopped (exit status {self.process.wait(10)})"
        return json.loads(line)

    def _ask(self, command: dict[str, Any]) -> Any:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self._read()

    def load(self, rows: Sequence[ProductionPlanStream]) -> None:
        assert self._ask({"rows": [r.to_fixture() for r in rows]}) == {"rows": len(rows)}

    def get(self, query: str) -> Answer:
        a = self._ask({"get": query})
        return a["status"], a["content_type"], a["body"].encode("latin-1")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if the driver hangs
            self.process.kill()
            self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture(scope="module", params=["flask", "fastapi", "django"])
def example(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    db = tmp_path_factory.mktemp(request.param) / "streams.sqlite3"
    if request.param == "django":
        django = DjangoExample(db)
        yield django
        django.close()
    elif request.param == "fastapi":
        yield FastAPIExample(db)
    else:
        yield FlaskExample(db)


def check(example: Example, rows: Sequence[ProductionPlanStream], query: str) -> int:
    status, content_type, body = example.get(query)
    assert (status, body) == expected(rows, query), query
    assert content_type == CONTENT_TYPE
    return status


# -- queries ------------------------------------------------------------------------------

FILTERS = [f.name for f in SCHEMA.filters]
OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "bt"]


@st.composite
def hits(draw: st.DrawFn, rows: Sequence[ProductionPlanStream]) -> str:
    """A query string whose operands are the rows' own values, or their UTC days (so that
    pages are seldom empty and day boundaries are met), with ``deleted``/``limit``/``offset``
    sometimes given; ordered operators on ``null`` and reversed ``bt`` make it a 400."""
    parts = []
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(FILTERS))
        op = draw(st.sampled_from(OPS))
        values = [getattr(r, name) for r in rows]
        n = 2 if op == "bt" else draw(st.integers(1, 3)) if op in ("in", "nin") else 1
        picked = [draw(st.sampled_from(values)) if values else None for _ in range(n)]
        if op == "bt" and None not in picked:
            picked.sort()
        operands = []
        for v in picked:
            if v is None:
                operands.append("null")
            elif isinstance(v, datetime):
                operands.append(v.date().isoformat() if draw(st.booleans()) else format_datetime(v))
            else:
                operands.append(str(v))
        parts.append(f"{name}={op}:{','.join(operands)}")
    deleted = draw(st.sampled_from(["", "exclude", "include", "include", "only"]))
    if deleted:
        parts.append("deleted=" + deleted)
    if draw(st.booleans()):
        parts.append(f"limit={draw(st.integers(1, 4))}")
    if draw(st.booleans()):
        parts.append(f"offset={draw(st.integers(0, 4))}")
    return "&".join(draw(st.permutations(parts)))


def tables() -> st.SearchStrategy[list[ProductionPlanStream]]:
    return st.lists(stream_rows(), max_size=10, unique_by=lambda r: r.id)


# -- the examples answer as the reference does --------------------------------------------


@settings(max_examples=60)
@given(rows=tables(), data=st.data())
def test_pages_are_the_predicates_and_errors_the_reference_400(
    example: Example, rows: list[ProductionPlanStream], data: st.DataObject
) -> None:
    example.load(rows)
    for _ in range(3):
        check(example, rows, data.draw(hits(rows), label="hit"))
    check(example, rows, data.draw(noisy_query_strings(SCHEMA), label="noisy")[0])
    raw, _ = data.draw(invalid_query_strings(SCHEMA), label="invalid")
    assert check(example, rows, raw) == 400


def test_hits_are_not_all_empty_pages(example: Example) -> None:
    """The property above is worth something only if its pages hold rows: on a fixed
    draw of tables and queries, most answers must."""
    sizes: list[int] = []

    @settings(max_examples=40, derandomize=True, database=None)
    @given(rows=tables().filter(lambda t: len(t) >= 3), data=st.data())
    def run(rows: list[ProductionPlanStream], data: st.DataObject) -> None:
        example.load(rows)
        query = data.draw(hits(rows))
        status = check(example, rows, query)
        sizes.append(len(json.loads(example.get(query)[2])) if status == 200 else -1)

    run()
    assert sum(1 for n in sizes if n > 0) >= 10, sizes


SAMPLE = [
    ProductionPlanStream.from_json({
        "id": i, "created_at": "2024-03-01T08:00:00Z", "updated_at": updated,
        "date": "2024-03-01", "value": "12.5", "project_id": project, "stream_id": 1,
        "production_plan_id": 7, "deleted_at": deleted})
    for i, (updated, project, deleted) in enumerate([
        ("2024-03-01T00:00:00Z", 1, None),
        ("2024-03-01T23:59:59.999999Z", 2, None),
        ("2024-03-02T00:00:00Z", 3, None),
        ("2024-03-02T12:00:00.123456Z", 4, "2024-03-05T00:00:00Z"),
        ("2024-03-03T00:00:00Z", 5, None),
    ], start=1)
]


@pytest.mark.parametrize(("query", "ids"), [
    ("", [1, 2, 3, 5]),
    ("project_id=gt:1&project_id=lt:5", [2, 3]),                  # repeated: AND
    ("project_id=in:1,2,3&project_id=nin:2", [1, 3]),
    ("project_id=1&project_id=2", []),                             # a legal, empty filter
    ("updated_at=2024-03-01", [1, 2]),                             # the whole UTC day
    ("updated_at=gt:2024-03-01&deleted=include", [3, 4, 5]),
    ("deleted=only", [4]),
    ("deleted_at=null&deleted=include", [1, 2, 3, 5]),
    ("limit=2&offset=1", [2, 3]),
    ("offset=9223372036854775807", []),
])
def test_known_pages(example: Example, query: str, ids: list[int]) -> None:
    example.load(SAMPLE)
    status, _, body = example.get(query)
    assert status == 200
    assert [row["id"] for row in json.loads(body)] == ids
    check(example, SAMPLE, query)


@pytest.mark.parametrize("query", [
    "limit=1&limit=2",                                   # a plain parameter given twice
    "project_id=ge:1&project_id=gt:x&limit=500",         # every failure, in order
    "project_id=%FF",                                    # undecodable bytes, raw
    "updated_at=gte:2024-01-01+10:00",                   # a fix-it message
    "deleted=eq:include&offset=-1",
    "offset=99999999999999999999",
])
def test_bad_queries_get_the_reference_400(example: Example, query: str) -> None:
    example.load(SAMPLE)
    status, content_type, body = example.get(query)
    with pytest.raises(InvalidQuery) as info:
        parse_query(query.encode("ascii"), SCHEMA)
    assert (status, content_type, body) == (400, CONTENT_TYPE, info.value.json())


# -- each example starts as its docstring says, and answers over loopback HTTP -----------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _http_get(port: int, query: str) -> Answer:
    url = f"http://127.0.0.1:{port}{URL}?{query}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers["Content-Type"], e.read()


def _serve(
    command: list[str], cwd: Path, env: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    """Start a server (its output to ``log``) and wait, at most 30 s, until its port
    accepts connections."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{command} exited {process.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait()
    pytest.fail(f"{command} did not listen on port {port} within 30 s: {log.read_text()}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flask", "fastapi", "django"])
def test_runs_as_its_docstring_says(name: str, tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "streams.sqlite3"
    env = {**os.environ, "PORT": str(port), "STREAMS_DB": str(db)}
    if name == "django":
        cwd = DJANGO_APP
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate"], cwd=cwd, env=env, check=True, timeout=60,
                       capture_output=True)
        command = [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
        sample = _module(DJANGO_APP / "streams" / "migrations" / "0002_sample_rows.py")
    else:
        cwd = tmp_path
        command = [sys.executable, str(EXAMPLES / f"{name}_app.py")]
        sample = _module(EXAMPLES / f"{name}_app.py")
    process = _serve(command, cwd, env, port, tmp_path / "server.log")
    try:
        for query in ["", "deleted=include&limit=3", "updated_at=gte:2024-02-01&deleted=include",
                      "project_id=ge:1", "limit=1&limit=2"]:
            status, content_type, body = _http_get(port, query)
            assert (status, body) == expected(sample.SAMPLE_ROWS, query), query
            assert content_type == CONTENT_TYPE
        assert json.loads(_http_get(port, "deleted=include")[2]), "no sample rows"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if it ignores SIGTERM
            process.kill()
            process.wait()


# -- the README quotes the files ----------------------------------------------------------

README = ROOT / "README.md"
RECIPES = {
    "#### Django — `opfilter.django`": "examples/django_app/",
    "#### FastAPI / Starlette — `opfilter.fastapi`": "examples/fastapi_app.py",
    "#### Flask — `opfilter.flask`": "examples/flask_app.py",
}


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    ends = [i for i in (text.find("\n#### ", start + 1), text.find("\n### ", start + 1))
            if i != -1]
    return text[start:min(ends)]


@pytest.mark.parametrize("heading", RECIPES)
def test_readme_recipes_are_quoted_from_the_examples(heading: str) -> None:
    """Every Python block of a framework's README section is preceded by the file it
    comes from (``From [`examples/…`](…)``), under that framework's example, and appears in
    that file verbatim — so the README cannot drift from the files the tests run."""
    section = _section(README.read_text(encoding="utf-8"), heading)
    blocks = list(re.finditer(r"^```python\n(.*?)^```$", section, re.M | re.S))
    assert blocks, f"{heading}: no recipe"
    for block in blocks:
        sources = re.findall(r"From \[`([^`]+)`\]\(\1\)", section[:block.start()])
        assert sources, f"{heading}: a Python block without 'From [`file`](file)' before it"
        path = sources[-1]
        assert path.startswith(RECIPES[heading]), path
        assert block[1] in (ROOT / path).read_text(encoding="utf-8"), (
            f"{heading}: this block is not in {path}:\n{block[1]}")
