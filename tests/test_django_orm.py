"""opfilter.django.to_q on a real Django ORM, SQLite and PostgreSQL, differential against
the in-memory predicate (the oracle), NULL and whole-UTC-day rules included (SPEC §9).

Rows are written by Django itself (so SQLite holds Django's own datetime text, with the
fraction omitted when it is zero), and each example adds rows exactly at, and one
microsecond around, the query's own operands — UTC midnights of day operands and whole
seconds included — so boundaries are hit rather than missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from djangoapp import configure

configure()

from django.db import connections  # noqa: E402

from djangoapp.streams.models import Project, Stream  # noqa: E402
from opfilter import Query, parse_query, to_predicate  # noqa: E402
from opfilter.django import to_q  # noqa: E402
from opfilter.streams import SCHEMA  # noqa: E402
from opfilter.testing import queries, rows  # noqa: E402
from opfilter.values import INT64_MAX, INT64_MIN  # noqa: E402

_MIN_DT = datetime(1, 1, 2, tzinfo=UTC)
_MAX_DT = datetime(9999, 12, 30, tzinfo=UTC)


def _shifted(at: datetime, *deltas: timedelta) -> list[datetime]:
    out = []
    for d in deltas:
        try:
            v = at + d
        except OverflowError:
            continue
        if _MIN_DT <= v <= _MAX_DT:
            out.append(v)
    return out


def _near(value: Any) -> list[Any]:
    """The operand itself and its neighbours, as row values."""
    us = timedelta(microseconds=1)
    if isinstance(value, datetime):
        return _shifted(value.astimezone(UTC), timedelta(0), -us, us)
    if isinstance(value, date):
        d0 = datetime(value.year, value.month, value.day, tzinfo=UTC)
        day = timedelta(days=1)
        return _shifted(d0, timedelta(0), -us, day, day - us, timedelta(hours=12))
    if isinstance(value, int):
        return [v for v in (value - 1, value, value + 1) if INT64_MIN <= v <= INT64_MAX]
    return []


@st.composite
def cases(draw: st.DrawFn) -> tuple[Query, list[dict[str, Any]]]:
    q = draw(queries(SCHEMA, max_conditions=3))
    table = draw(st.lists(rows(SCHEMA), max_size=8))
    for c in q.all_conditions():
        for operand in c.operands:
            for v in _near(operand):
                row = dict(draw(rows(SCHEMA)))
                row[c.field] = v
                table.append(row)
    for row in table:  # Django's range for datetimes; the rest of the model constant
        for name in ("updated_at", "deleted_at"):
            v = row.get(name)
            if v is not None:  # the same instant in UTC (PostgreSQL refuses +23:59)
                v = v.astimezone(UTC)
                row[name] = v if _MIN_DT <= v <= _MAX_DT else _MIN_DT
    return q, table


def _stream(i: int, row: dict[str, Any]) -> Stream:
    return Stream(
        id=i, created_at=datetime(2024, 1, 1, tzinfo=UTC), updated_at=row["updated_at"],
        date=date(2024, 1, 1), value=Decimal("1.5"), project_id=row["project_id"],
        stream_id=row["stream_id"], production_plan_id=row["production_plan_id"],
        deleted_at=row["deleted_at"],
    )


def _check(alias: str, q: Query, table: list[dict[str, Any]]) -> None:
    Stream.objects.using(alias).all().delete()
    Stream.objects.using(alias).bulk_create([_stream(i, r) for i, r in enumerate(table, 1)])
    keep = to_predicate(q)
    expected = [i for i, r in enumerate(table, 1) if keep(r)]
    got = list(Stream.objects.using(alias).filter(to_q(q)).order_by("id")
               .values_list("id", flat=True))
    assert got == expected, (q, str(Stream.objects.using(alias).filter(to_q(q)).query))


def _create_tables(alias: str) -> None:
    conn = connections[alias]
    with conn.cursor() as cur:
        for model in (Stream, Project):
            cur.execute(f"DROP TABLE IF EXISTS {conn.ops.quote_name(model._meta.db_table)}")
    with conn.schema_editor() as editor:
        editor.create_model(Project)
        editor.create_model(Stream)


@pytest.fixture(scope="module")
def sqlite_db() -> str:
    _create_tables("default")
    return "default"


@pytest.fixture(scope="module")
def pg_db(pg_dsn: str) -> Iterator[str]:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(pg_dsn)
    cfg = {"pg": {"ENGINE": "django.db.backends.postgresql", "NAME": info.get("dbname"),
                  "USER": info.get("user", ""), "HOST": info.get("host", ""),
                  "PORT": str(info.get("port", "")), "PASSWORD": info.get("password", "")}}
    filled = connections.configure_settings({**connections.settings, **cfg})
    connections.settings["pg"] = filled["pg"]
    _create_tables("pg")
    yield "pg"
    connections["pg"].close()


@given(cases())
def test_to_q_matches_the_predicate_on_sqlite(sqlite_db: str,
                                              case: tuple[Query, list[dict[str, Any]]]) -> None:
    _check(sqlite_db, *case)


@pytest.mark.postgresql
@given(cases())
def test_to_q_matches_the_predicate_on_postgresql(pg_db: str,
                                                  case: tuple[Query, list[dict[str, Any]]]) -> None:
    _check(pg_db, *case)


@pytest.mark.parametrize("alias", ["default", pytest.param("pg", marks=pytest.mark.postgresql)])
def test_midnight_and_whole_seconds(alias: str, request: pytest.FixtureRequest) -> None:
    """The issue's wrong rows: Django writes 2024-06-05 08:00:00 (no fraction)."""
    db = request.getfixturevalue("sqlite_db" if alias == "default" else "pg_db")
    at = datetime(2024, 6, 5, 8, tzinfo=UTC)
    midnight = datetime(2024, 6, 5, tzinfo=UTC)
    table = [{"project_id": 1, "stream_id": 1, "production_plan_id": 1, "updated_at": t,
              "deleted_at": None} for t in (at, midnight, midnight - timedelta(microseconds=1))]
    for text, ids in [("updated_at=gte:2024-06-05T08:00:00Z", [1]),
                      ("updated_at=eq:2024-06-05T08:00:00Z", [1]),
                      ("updated_at=2024-06-05", [1, 2]),
                      ("updated_at=lt:2024-06-05", [3]),
                      ("updated_at=gt:2024-06-04", [1, 2])]:
        q = parse_query(text, SCHEMA)
        _check(db, q, table)
        got = list(Stream.objects.using(db).filter(to_q(q)).values_list("id", flat=True))
        assert sorted(got) == ids, text


def test_related_lookups_through_fields(sqlite_db: str) -> None:
    Stream.objects.all().delete()
    Project.objects.all().delete()
    p7 = Project.objects.create(external_id=7)
    p8 = Project.objects.create(external_id=8)
    base = {"created_at": datetime(2024, 1, 1, tzinfo=UTC), "date": date(2024, 1, 1),
            "value": Decimal(1), "stream_id": 1, "production_plan_id": 1,
            "updated_at": datetime(2024, 1, 1, tzinfo=UTC), "project_id": 0}
    Stream.objects.create(id=1, owner=p7, **base)
    Stream.objects.create(id=2, owner=p8, **base)
    Stream.objects.create(id=3, owner=None, **base)
    fields = {"project_id": "owner__external_id"}

    def ids(text: str) -> list[int]:
        q = to_q(parse_query(text, SCHEMA), fields)
        return sorted(Stream.objects.filter(q).values_list("id", flat=True))

    assert ids("project_id=7") == [1]
    assert ids("project_id=neq:7") == [2, 3]  # no project: NULL, and neq holds on NULL
    assert ids("project_id=nin:7,8") == [3]
    assert ids("project_id=gt:0") == [1, 2]
    with pytest.raises(KeyError, match="colour"):
        to_q(parse_query("", SCHEMA), {"colour": "x"})
