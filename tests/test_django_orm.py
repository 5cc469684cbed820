"""opfilter.django.to_q on a real Django ORM, SQLite and PostgreSQL, differential against
the in-memory predicate (the oracle), NULL and whole-UTC-day rules included (SPEC §9).

Two schemas: the streams SCHEMA (int and datetime filters, on ``Stream``) and TYPED
(decimal, date, bool, string and enum, some nullable, on ``Sample``).  Rows are written by
Django itself (so SQLite holds Django's own datetime text, with the fraction omitted when it
is zero, and decimals as doubles), and each example adds rows exactly at, and next to, the
query's own operands — one microsecond, one day, one unit, the neighbouring 15-digit
decimals; UTC midnights of day operands and whole seconds included — so boundaries are hit
rather than missed.  Decimal operands are sometimes moved to a 17-digit neighbour, between
two values SQLite can store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from djangoapp import configure

configure()

from django.core.exceptions import EmptyResultSet  # noqa: E402
from django.db import connections, models  # noqa: E402

from djangoapp.streams.models import Project, Sample, Stream  # noqa: E402
from opfilter import Condition, Filter, Query, Schema, parse_query, to_predicate  # noqa: E402
from opfilter.backends.sql import real_domain  # noqa: E402
from opfilter.django import to_q  # noqa: E402
from opfilter.schema import Type  # noqa: E402
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


TYPED = Schema(
    Filter("amount", "decimal", nullable=True),
    Filter("day", "date"),
    Filter("flag", "bool", nullable=True),
    Filter("label", "string", nullable=True),
    Filter("colour", "enum", choices=("red", "green", "blue")),
    name="django-typed",
)
"""The filters of ``Sample`` (columns named as the fields)."""

_DIGITS15 = Context(prec=15)
_DIGITS17 = Context(prec=17)


def _storable(v: Decimal) -> bool:
    """Exact in SQLite (the REAL domain) and in ``numeric(60, 40)``."""
    exponent = v.as_tuple().exponent
    return real_domain(v) and isinstance(exponent, int) and exponent >= -40 and abs(v) < 10**20


def _near(f: Filter, value: Any) -> list[Any]:
    """The operand itself and its neighbours, as row values of ``f``."""
    us = timedelta(microseconds=1)
    if value is None:
        return []
    if isinstance(value, datetime):
        return _shifted(value.astimezone(UTC), timedelta(0), -us, us)
    if isinstance(value, date) and f.kind is Type.DATETIME:  # a whole UTC day
        d0 = datetime(value.year, value.month, value.day, tzinfo=UTC)
        day = timedelta(days=1)
        return _shifted(d0, timedelta(0), -us, day, day - us, timedelta(hours=12))
    if isinstance(value, date):
        out = [value]
        for step in (timedelta(days=-1), timedelta(days=1)):
            with suppress(OverflowError):
                out.append(value + step)
        return out
    if isinstance(value, bool):
        return [value]
    if isinstance(value, int):
        return [v for v in (value - 1, value, value + 1) if INT64_MIN <= v <= INT64_MAX]
    if isinstance(value, Decimal):  # the nearest 15-digit value and its two neighbours
        r = _DIGITS15.plus(value)
        near = [value, r, _DIGITS15.next_minus(r), _DIGITS15.next_plus(r)]
        return [v for v in near if _storable(v)]
    return [value]


def _nudged(c: Condition, step: int) -> Condition:
    """``c`` with its decimal operands moved one 17th digit up (``step`` 1) or down (-1):
    between two REAL values, so the SQLite rewrite is exercised (order is kept for bt)."""
    if step == 0 or not any(isinstance(v, Decimal) and v != 0 for v in c.operands):
        return c
    move = _DIGITS17.next_plus if step > 0 else _DIGITS17.next_minus
    return Condition(c.field, c.op, tuple(
        move(v) if isinstance(v, Decimal) and v != 0 else v for v in c.operands))


@st.composite
def cases(draw: st.DrawFn, schema: Schema) -> tuple[Query, list[dict[str, Any]]]:
    q = draw(queries(schema, max_conditions=3))
    if schema is TYPED:
        q = Query(schema, [_nudged(c, draw(st.sampled_from([0, 1, -1]))) for c in q.conditions],
                  q.params)
    table = draw(st.lists(rows(schema), max_size=8))
    for c in q.all_conditions():
        f = schema.field(c.field)
        for operand in c.operands:
            for v in _near(f, operand):
                row = dict(draw(rows(schema)))
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


def _sample(i: int, row: dict[str, Any]) -> Sample:
    return Sample(id=i, **row)


def _check(alias: str, q: Query, table: list[dict[str, Any]]) -> None:
    model: type[models.Model] = Sample if q.schema is TYPED else Stream
    make: Callable[[int, dict[str, Any]], models.Model] = (
        _sample if q.schema is TYPED else _stream)
    objects = model._default_manager.using(alias)
    objects.all().delete()
    objects.bulk_create([make(i, r) for i, r in enumerate(table, 1)])
    keep = to_predicate(q)
    expected = [i for i, r in enumerate(table, 1) if keep(r)]
    found = objects.filter(to_q(q, using=alias)).order_by("id")
    got = list(found.values_list("id", flat=True))
    if got != expected:
        try:
            sql = str(found.query)
        except EmptyResultSet:  # Q(pk__in=[]): Django runs no SQL at all
            sql = "(no SQL: matches nothing)"
        raise AssertionError(f"{q}: got {got}, expected {expected}; {sql}")


def _create_tables(alias: str) -> None:
    conn = connections[alias]
    with conn.cursor() as cur:
        for model in (Stream, Project, Sample):
            cur.execute(f"DROP TABLE IF EXISTS {conn.ops.quote_name(model._meta.db_table)}")
    with conn.schema_editor() as editor:
        editor.create_model(Project)
        editor.create_model(Stream)
        editor.create_model(Sample)


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


_SCHEMAS = pytest.mark.parametrize("schema", [SCHEMA, TYPED], ids=["streams", "typed"])


@_SCHEMAS
@given(data=st.data())
def test_to_q_matches_the_predicate_on_sqlite(sqlite_db: str, schema: Schema,
                                              data: st.DataObject) -> None:
    _check(sqlite_db, *data.draw(cases(schema)))


@pytest.mark.postgresql
@_SCHEMAS
@given(data=st.data())
def test_to_q_matches_the_predicate_on_postgresql(pg_db: str, schema: Schema,
                                                  data: st.DataObject) -> None:
    _check(pg_db, *data.draw(cases(schema)))


_ALIASES = pytest.mark.parametrize(
    "alias", ["default", pytest.param("pg", marks=pytest.mark.postgresql)])


def _db(alias: str, request: pytest.FixtureRequest) -> str:
    db = request.getfixturevalue("sqlite_db" if alias == "default" else "pg_db")
    assert isinstance(db, str)
    return db


@_ALIASES
def test_decimals_between_two_doubles(alias: str, request: pytest.FixtureRequest) -> None:
    """SQLite stores DecimalField as a double: 0.10000000000000001 would be bound as the
    double 0.1 and equal the row 0.1; it is an exact decimal comparison on both (on
    PostgreSQL without any rewrite: numeric holds the 17 digits)."""
    db = _db(alias, request)
    base = {"day": date(2024, 1, 1), "flag": None, "label": None, "colour": "red"}
    table = [{**base, "amount": Decimal(v)} for v in ("0.1", "0.100000000000001", "0.2")]
    table.append({**base, "amount": None})
    for text, ids in [("amount=eq:0.10000000000000001", []),
                      ("amount=neq:0.10000000000000001", [1, 2, 3, 4]),
                      ("amount=in:0.10000000000000001,0.2", [3]),
                      ("amount=nin:0.10000000000000001,0.2", [1, 2, 4]),
                      ("amount=gte:0.10000000000000001", [2, 3]),
                      ("amount=lte:0.10000000000000001", [1]),
                      ("amount=bt:0.09999999999999999,0.10000000000000001", [1])]:
        q = parse_query(text, TYPED)
        _check(db, q, table)
        got = Sample.objects.using(db).filter(to_q(q, using=db)).values_list("id", flat=True)
        assert sorted(got) == ids, text
    if alias == "pg":  # numeric stays exact: a 17-digit row is found as it is
        table.append({**base, "amount": Decimal("0.10000000000000001")})
        q = parse_query("amount=eq:0.10000000000000001", TYPED)
        _check(db, q, table)
        assert list(Sample.objects.using(db).filter(to_q(q, using=db))
                    .values_list("id", flat=True)) == [5]


@_ALIASES
def test_midnight_and_whole_seconds(alias: str, request: pytest.FixtureRequest) -> None:
    """The issue's wrong rows: Django writes 2024-06-05 08:00:00 (no fraction)."""
    db = _db(alias, request)
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
        got = list(Stream.objects.using(db).filter(to_q(q, using=db)).values_list("id", flat=True))
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
