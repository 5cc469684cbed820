"""The SQL stores (SQLite, PostgreSQL) answer byte-identically to the in-memory reference.

Each Hypothesis example generates a world, loads it once into a fresh SQLite ``:memory:``
store and (for the PostgreSQL test) into this module's PostgreSQL schema, then sends many
generated requests — valid, noisy and invalid queries, good and bad headers, list and item
paths — through :func:`opfilter.streams.endpoint.handle` on every store and compares
status, headers and body byte for byte.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opfilter import parse_query
from opfilter.streams import SCHEMA, PostgresStore, SQLiteStore
from opfilter.streams.endpoint import PATH, SUPPORTED_VERSION, Response, handle
from opfilter.streams.model import ProductionPlanStream
from opfilter.streams.store import MemoryStore, Store
from opfilter.streams.strategies import SLUGS, rows, worlds
from opfilter.streams.world import (
    PERMISSION_VIEW,
    PERMISSION_VIEW_OTHER,
    Company,
    Project,
    User,
    World,
)
from opfilter.testing import invalid_query_strings, noisy_query_strings
from opfilter.values import INT64_MAX, format_datetime

if TYPE_CHECKING:
    import psycopg

UTC = dt.UTC
US = dt.timedelta(microseconds=1)

# -- generated requests -------------------------------------------------------------------

Request = tuple[str, str, str, list[tuple[str, str]]]


def _fmt(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, dt.datetime):
        return format_datetime(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


@st.composite
def _operand(draw: st.DrawFn, world: World, name: str, null: bool) -> object:
    """An operand likely to hit: a value some row holds (or a neighbour of it)."""
    if null and draw(st.integers(0, 5)) == 0:
        return None
    if name in ("updated_at", "deleted_at"):
        held = [getattr(r, name) for r in world.rows if getattr(r, name) is not None]
        if not held or draw(st.integers(0, 6)) == 0:
            return draw(st.sampled_from([dt.date(2024, 1, 1), dt.date(9999, 12, 31),
                                         dt.datetime(2024, 6, 15, tzinfo=UTC)]))
        base: dt.datetime = draw(st.sampled_from(held))
        how = draw(st.sampled_from(["same", "before", "after", "day"]))
        if how == "day":
            return base.date()
        if how == "before" and base > dt.datetime.min.replace(tzinfo=UTC):
            return base - US
        if how == "after" and base < dt.datetime.max.replace(tzinfo=UTC):
            return base + US
        return base
    held_ints = [getattr(r, name) for r in world.rows]
    if name == "project_id":
        held_ints += [p.id for p in world.projects]
    if not held_ints or draw(st.integers(0, 6)) == 0:
        return draw(st.sampled_from([0, 1, 2, -1, INT64_MAX, -INT64_MAX - 1]))
    return draw(st.sampled_from(held_ints)) + draw(st.sampled_from([0, 0, 0, -1, 1]))


def _sort_key(v: object) -> dt.datetime | int:
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=UTC)
    assert isinstance(v, int)
    return v


@st.composite
def _condition(draw: st.DrawFn, world: World) -> str:
    name = draw(st.sampled_from(["project_id", "project_id", "stream_id", "production_plan_id",
                                 "updated_at", "updated_at", "deleted_at", "deleted_at"]))
    op = draw(st.sampled_from(["eq", "neq", "in", "nin", "gt", "gte", "lt", "lte", "bt"]))
    nullable = name == "deleted_at" and op in ("eq", "neq", "in", "nin")
    if op in ("in", "nin"):
        items = draw(st.lists(_operand(world, name, nullable), min_size=1, max_size=4))
    elif op == "bt":
        a, b = draw(_operand(world, name, False)), draw(_operand(world, name, False))
        items = sorted([a, b], key=_sort_key)
    else:
        items = [draw(_operand(world, name, nullable))]
    return f"{name}={op}:" + ",".join(_fmt(v) for v in items)


@st.composite
def _targeted_query(draw: st.DrawFn, world: World) -> str:
    parts = draw(st.lists(_condition(world), max_size=3))
    deleted = draw(st.sampled_from([None, "include", None, "include", "only", "exclude"]))
    if deleted:
        parts.append(f"deleted={deleted}")
    limit = draw(st.sampled_from([None, None, 1, 2, 3, 100]))
    if limit is not None:
        parts.append(f"limit={limit}")
    offset = draw(st.sampled_from([None] * 6 + [0, 1, 2, 5, INT64_MAX, 2**62, 2**62 + 1]))
    if offset is not None:
        parts.append(f"offset={offset}")
    parts = draw(st.permutations(parts))
    return "&".join(parts)


@st.composite
def requests(draw: st.DrawFn, world: World) -> Request:
    """One request against ``world``: mostly one that gets past authorization."""
    method = draw(st.sampled_from(["GET"] * 12 + ["POST"]))
    row_ids = [r.id for r in world.rows]
    if draw(st.sampled_from([False, False, False, True])):
        segment = draw(st.one_of(
            st.sampled_from(row_ids) if row_ids else st.just("1"),
            st.sampled_from(["0", "abc", "-1", str(INT64_MAX), str(INT64_MAX + 1), "007", ""]),
            st.integers(1, 250),
        ))
        path = f"{PATH}/{segment}"
    else:
        path = draw(st.sampled_from([PATH] * 8 + ["/api/other", PATH + "/1/x"]))

    query = draw(st.one_of(
        _targeted_query(world),
        _targeted_query(world),
        _targeted_query(world),
        noisy_query_strings(SCHEMA).map(lambda pair: pair[0]),
        invalid_query_strings(SCHEMA).map(lambda pair: pair[0]),
        st.sampled_from(["", "deleted=include", "deleted=only", "deleted=nope"]),
    ))

    # the first choice of each sampled_from is the usual, good one (Hypothesis favours it)
    headers: list[tuple[str, str]] = []
    users = list(world.users)
    user = draw(st.sampled_from(users)) if users else None
    auth = draw(st.sampled_from(["good"] * 12 + ["lower", "unknown", "none", "double"]))
    if user is not None and auth in ("good", "double"):
        headers.append(("Authorization", f"Bearer {user.token}"))
        if auth == "double":
            headers.append(("Authorization", f"Bearer {user.token}"))
    elif user is not None and auth == "lower":
        headers.append(("authorization", f"bearer   {user.token}"))
    elif auth == "unknown":
        headers.append(("Authorization", "Bearer nobody"))

    own_slugs = sorted(user.memberships) if user is not None else []
    slug: str | None
    if own_slugs and draw(st.sampled_from([True] * 6 + [False])):
        slug = draw(st.sampled_from(own_slugs))
    else:
        slug = draw(st.sampled_from([*SLUGS, "ghost", "", None]))
    if slug is not None:
        headers.append(("Wethod-Company", slug))
    version = draw(st.sampled_from([SUPPORTED_VERSION] * 12 + ["2020-01-01", "", None]))
    if version is not None:
        headers.append(("Wethod-Version", version))
    return method, path, query, headers


@st.composite
def linked_worlds(draw: st.DrawFn) -> World:
    """:func:`worlds`, mostly made to hold answers: companies with Streams enabled, every
    row's project known, and users with a viewing permission in some company (the plain
    worlds seldom get past 403/412 with rows to show)."""
    world = draw(worlds())
    if draw(st.integers(0, 3)) == 0:
        return world
    slugs = [c.slug for c in world.companies]
    companies = [Company(c.slug, c.streams_enabled or draw(st.integers(0, 4)) > 0)
                 for c in world.companies]
    known = {p.id for p in world.projects}
    person = st.none() | st.sampled_from([u.id for u in world.users])
    projects = list(world.projects) + [
        Project(pid, draw(st.sampled_from(slugs)), draw(person), draw(person))
        for pid in sorted({r.project_id for r in world.rows} - known)
    ]
    both = frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER})
    perms = st.sampled_from([both, frozenset({PERMISSION_VIEW}), both,
                             frozenset({PERMISSION_VIEW_OTHER})])
    users = [
        User(u.id, u.token, {**u.memberships, draw(st.sampled_from(slugs)): draw(perms)})
        for u in world.users
    ]
    pids = [p.id for p in projects if p.company in slugs]
    extra = draw(st.lists(
        rows(ids=st.integers(201, 400), project_ids=st.sampled_from(pids)),
        min_size=5, max_size=25, unique_by=lambda r: r.id,
    )) if pids else []
    return World(companies, users, projects, [*world.rows, *extra])


# -- comparing stores ------------------------------------------------------------------------


def _answer(store: Store, request: Request) -> Response:
    method, path, query, headers = request
    return handle(store, method, path, query, headers)


def _check(
    stats: Counter[str], stores: dict[str, Store], request_list: list[Request]
) -> None:
    reference, *others = stores.items()
    for request in request_list:
        expected = _answer(reference[1], request)
        assert expected.status != 500, (request, expected.body)
        for name, store in others:
            got = _answer(store, request)
            assert (got.status, got.headers, got.body) == (
                expected.status, expected.headers, expected.body,
            ), (name, request)
        stats[str(expected.status)] += 1
        if expected.status == 200 and expected.body not in (b"[]",):
            stats["200 with rows"] += 1


def _assert_coverage(stats: Counter[str]) -> None:
    """The generated requests reach every status, and many pages hold rows."""
    total = sum(v for k, v in stats.items() if k.isdigit())
    for status in ("200", "400", "401", "403", "404"):
        assert stats[status] > 0, stats
    # at least 1 in 60 answers is a page with rows (about 1 in 40 is typical; the share
    # moves with the request strategy, so the bound leaves room below it)
    assert stats["200 with rows"] >= max(30, total // 60), stats


def test_sqlite_store_matches_memory_store() -> None:
    stats: Counter[str] = Counter()

    with SQLiteStore.from_world(World()) as sqlite:  # one database, reloaded per example

        @settings(max_examples=100)
        @given(world=linked_worlds(), data=st.data())
        def run(world: World, data: st.DataObject) -> None:
            request_list = data.draw(st.lists(requests(world), min_size=20, max_size=20))
            sqlite.load(world)
            _check(stats, {"memory": MemoryStore(world), "sqlite": sqlite}, request_list)

        run()
    _assert_coverage(stats)


@pytest.fixture(scope="module")
def pg_store(
    pg_dsn: str, pg_conn: psycopg.Connection[tuple[object, ...]]
) -> Iterator[PostgresStore]:
    schema = f"opfilter_test_sqlstore_{os.getpid()}"
    store = PostgresStore.from_world(World(), pg_dsn, schema=schema)
    try:
        yield store
    finally:
        store.close()
        pg_conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgresql
def test_postgresql_and_sqlite_stores_match_memory_store(pg_store: PostgresStore) -> None:
    stats: Counter[str] = Counter()

    with SQLiteStore.from_world(World()) as sqlite:  # reloaded per example, as pg_store is

        @settings(max_examples=80)
        @given(world=linked_worlds(), data=st.data())
        def run(world: World, data: st.DataObject) -> None:
            request_list = data.draw(st.lists(requests(world), min_size=20, max_size=20))
            pg_store.load(world)
            sqlite.load(world)
            stores: dict[str, Store] = {
                "memory": MemoryStore(world), "sqlite": sqlite, "postgresql": pg_store,
            }
            _check(stats, stores, request_list)

        run()
    _assert_coverage(stats)


# -- rows round-trip exactly --------------------------------------------------------------

T0 = dt.datetime(2024, 6, 15, 10, 0, 0, 123456, tzinfo=UTC)


def _row(i: int, project: int = 1, **changes: Any) -> ProductionPlanStream:
    fields: dict[str, Any] = {
        "id": i, "created_at": T0, "updated_at": T0 + (i % 1000) * US, "date": dt.date(2024, 1, 1),
        "value": Decimal("15.6"), "project_id": project, "stream_id": 1,
        "production_plan_id": 1, "deleted_at": None,
    }
    fields.update(changes)
    return ProductionPlanStream(**fields)


EDGE_ROWS = (
    _row(1, value=Decimal("100.000")),
    _row(2, value=Decimal("-0.00"), deleted_at=dt.datetime(1, 1, 1, tzinfo=UTC)),
    _row(3, value=Decimal("1E+2"), created_at=dt.datetime(9999, 12, 31, 23, 59, 59, 999999,
                                                              tzinfo=UTC)),
    _row(4, value=Decimal("-123456789012345678901234567890.123456789012345678901")),
    _row(5, value=Decimal("0.000001"), date=dt.date(9999, 12, 1)),
    _row(INT64_MAX, project=INT64_MAX, stream_id=INT64_MAX, production_plan_id=INT64_MAX,
         date=dt.date(1, 1, 1)),
)
EDGE_WORLD = World(
    [Company("acme", True)],
    [User(10, "tok", {"acme": frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER})}),
     User(11, "none", {"acme": frozenset()})],
    [Project(1, "acme"), Project(INT64_MAX, "acme", INT64_MAX, None)],
    EDGE_ROWS,
)
EVERYTHING = parse_query("deleted=include", SCHEMA)


def _round_trip(store: SQLiteStore | PostgresStore) -> None:
    got = store.list_rows("acme", 10, True, True, EVERYTHING)
    assert got == list(EDGE_ROWS)
    assert [r.to_json() for r in got] == [r.to_json() for r in EDGE_ROWS]
    assert [str(r.value) for r in got][3] == str(EDGE_ROWS[3].value)  # every digit kept
    assert store.get_row("acme", 10, True, True, INT64_MAX, EVERYTHING) == EDGE_ROWS[-1]
    assert store.get_row("acme", 10, True, True, 2, parse_query("", SCHEMA)) is None  # deleted
    assert store.permissions(11, "acme") == frozenset()  # a member without permissions
    assert store.permissions(10, "acme") == frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER})
    assert store.permissions(10, "Acme") is None
    assert store.authenticate("tok") == 10
    assert store.authenticate("TOK") is None
    assert store.company("acme") == Company("acme", True)
    assert store.company("ACME") is None
    big = parse_query(f"deleted=include&offset={INT64_MAX}", SCHEMA)
    assert store.list_rows("acme", 10, True, True, big) == []
    last = parse_query("deleted=include&offset=5&limit=100", SCHEMA)
    assert store.list_rows("acme", 10, True, True, last) == [EDGE_ROWS[-1]]


def test_sqlite_rows_round_trip_exactly() -> None:
    with SQLiteStore.from_world(EDGE_WORLD) as store:
        _round_trip(store)


@pytest.mark.postgresql
def test_postgresql_rows_round_trip_exactly(pg_store: PostgresStore) -> None:
    pg_store.load(EDGE_WORLD)
    _round_trip(pg_store)


# -- visibility, spelled out -----------------------------------------------------------------

VIS_WORLD = World(
    [Company("acme", True)],
    [User(1, "t1", {"acme": frozenset({PERMISSION_VIEW})})],
    [Project(1, "acme", 1, None), Project(2, "acme", None, 1), Project(3, "acme", None, None),
     Project(4, "acme", 2, 3), Project(5, "other", 1, 1)],
    [_row(i, project=p) for i, p in enumerate([1, 2, 3, 4, 5, 6], start=1)],
)


@pytest.mark.parametrize(
    ("own", "other", "expected"),
    [(True, False, [1, 2]), (False, True, [3, 4]), (True, True, [1, 2, 3, 4]),
     (False, False, [])],
)
def test_visibility_is_null_safe(own: bool, other: bool, expected: list[int]) -> None:
    q = parse_query("", SCHEMA)
    with SQLiteStore.from_world(VIS_WORLD) as store:
        assert [r.id for r in store.list_rows("acme", 1, own, other, q)] == expected
        assert [r.id for r in MemoryStore(VIS_WORLD).list_rows("acme", 1, own, other, q)] == (
            expected
        )
        for i in range(1, 7):
            assert (store.get_row("acme", 1, own, other, i, q) is not None) == (i in expected)


# -- the planner uses the indexes --------------------------------------------------------------


def _big_world(projects: int = 400, per_project: int = 50) -> World:
    rows = [
        _row(p * per_project + k + 1, project=p + 1, stream_id=k % 7 + 1,
             updated_at=T0 + dt.timedelta(minutes=p * per_project + k),
             deleted_at=None if k % 10 else T0 + dt.timedelta(minutes=p * per_project + k))
        for p in range(projects) for k in range(per_project)
    ]
    return World(
        [Company("acme", True)],
        [User(1, "t", {"acme": frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER})})],
        [Project(p + 1, "acme", 1 if p % 2 else None, None) for p in range(projects)],
        rows,
    )


@pytest.fixture(scope="module")
def big_sqlite() -> Iterator[tuple[World, SQLiteStore]]:
    world = _big_world()
    with SQLiteStore.from_world(world) as store:
        yield world, store


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("project_id=eq:123", "pps_project"),
        ("project_id=in:5,77&deleted=include", "pps_project"),
        ("updated_at=bt:2024-06-15T11:00:00Z,2024-06-15T11:10:00Z", "pps_updated_at"),
        ("updated_at=eq:2024-06-20&deleted=include", "pps_updated_at"),
        ("deleted=only&deleted_at=bt:2024-06-20T00:00:00Z,2024-06-20T02:00:00Z", "pps_deleted_at"),
        # one-sided "changed since" ranges: the store's bounded probe forces the index
        ("updated_at=gte:" + (T0 + dt.timedelta(minutes=19_900)).strftime("%Y-%m-%dT%H:%M:%SZ")
         + "&deleted=include", "pps_updated_at"),
        ("updated_at=gt:" + (T0 + dt.timedelta(minutes=19_000)).strftime("%Y-%m-%d"),
         "pps_updated_at"),
    ],
)
def test_selective_sqlite_list_uses_an_index(
    big_sqlite: tuple[World, SQLiteStore], query: str, index: str
) -> None:
    world, store = big_sqlite
    for own, other in ((True, True), (True, False), (False, True)):
        q = parse_query(query, SCHEMA)
        plan = store.explain(*store.list_sql("acme", 1, own, other, q))
        text = "\n".join(plan)
        assert f"USING INDEX {index}" in text, text
        assert "SCAN s" not in text, text  # never a full scan of the rows
        # and it answers like the reference
        assert store.list_rows("acme", 1, own, other, q) == MemoryStore(world).list_rows(
            "acme", 1, own, other, q
        )


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("query", "index"),
    [
        ("project_id=eq:123", "pps_project"),
        ("updated_at=bt:2024-06-15T11:00:00Z,2024-06-15T11:10:00Z", "pps_updated_at"),
        ("updated_at=gte:" + (T0 + dt.timedelta(minutes=19_900)).strftime("%Y-%m-%dT%H:%M:%SZ")
         + "&deleted=include", "pps_updated_at"),
    ],
)
def test_selective_postgresql_list_uses_an_index(
    big_postgres: tuple[World, PostgresStore], query: str, index: str
) -> None:
    world, store = big_postgres
    q = parse_query(query, SCHEMA)
    sql, params = store.list_sql("acme", 1, True, True, q)
    with store._pool.connection() as conn:
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, params).fetchall())
    assert index in plan, plan
    assert "Seq Scan on production_plan_streams" not in plan, plan
    assert store.list_rows("acme", 1, True, True, q) == MemoryStore(world).list_rows(
        "acme", 1, True, True, q
    )


@pytest.fixture(scope="module")
def big_postgres(pg_dsn: str) -> Iterator[tuple[World, PostgresStore]]:
    world = _big_world()
    with PostgresStore.from_world(world, pg_dsn, schema="big_world") as store:
        yield world, store
        store.drop_tables()


def test_a_broad_range_keeps_the_id_order_plan(big_sqlite: tuple[World, SQLiteStore]) -> None:
    world, store = big_sqlite
    q = parse_query("updated_at=gte:2000-01-01&deleted=include", SCHEMA)
    sql, _ = store.list_sql("acme", 1, True, True, q)
    assert "INDEXED BY" not in sql  # 20,000 matches: walking by id fills the page at once
    assert store.list_rows("acme", 1, True, True, q) == MemoryStore(world).list_rows(
        "acme", 1, True, True, q
    )


# -- helpers, files, threads -----------------------------------------------------------------


def test_sqlite_file_store_count_has_data_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with SQLiteStore(path) as fresh:
        assert fresh.count() == 0
        assert not fresh.has_data()
    with SQLiteStore.from_world(VIS_WORLD, path) as built:
        assert built.count() == 6
        assert built.has_data()
    with SQLiteStore(path) as reopened:  # the data persists; nothing is re-created
        assert reopened.count() == 6
        reopened.load(World([Company("x")]))
        assert reopened.count() == 0
        assert reopened.has_data()
    assert not (tmp_path / "db.sqlite3-wal").exists()  # closing checkpointed the WAL


def test_closed_store_refuses_requests() -> None:
    store = SQLiteStore.from_world(VIS_WORLD)
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.authenticate("t1")


def test_postgres_store_refuses_odd_schema_names() -> None:
    with pytest.raises(ValueError, match="schema"):
        PostgresStore("host=/nonexistent", schema='x"; DROP TABLE users; --')


@pytest.mark.parametrize("where", ["memory", "file"])
def test_sqlite_store_is_thread_safe(tmp_path: Path, where: str) -> None:
    world = _big_world(projects=40, per_project=25)
    path = ":memory:" if where == "memory" else tmp_path / "t.sqlite3"
    reference = MemoryStore(world)
    queries = [parse_query(f"project_id=eq:{p}&limit=7&offset={p % 3}", SCHEMA)
               for p in range(1, 41)]
    expected = [reference.list_rows("acme", 1, True, p % 2 == 0, q)
                for p, q in enumerate(queries)]
    errors: list[BaseException] = []
    with SQLiteStore.from_world(world, path) as store:

        def work() -> None:
            try:
                for _ in range(5):
                    for p, q in enumerate(queries):
                        got = store.list_rows("acme", 1, True, p % 2 == 0, q)
                        assert got == expected[p]
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[0]


@pytest.mark.postgresql
def test_postgres_store_is_thread_safe_and_counts(pg_store: PostgresStore) -> None:
    world = _big_world(projects=20, per_project=10)
    pg_store.load(world)
    assert pg_store.count() == 200
    assert pg_store.has_data()
    q = parse_query("project_id=in:3,4&limit=100", SCHEMA)
    expected = MemoryStore(world).list_rows("acme", 1, True, True, q)
    assert expected
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert pg_store.list_rows("acme", 1, True, True, q) == expected
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
