"""Flask recipe: ``GET /api/production-plan-streams`` over SQLite, filtered by opfilter.

Run it from the repository root (it creates, or resets, ``streams.sqlite3`` with a few
rows; ``STREAMS_DB`` names another file, ``PORT`` another port)::

    pip install 'opfilter[flask]'
    python examples/flask_app.py
    curl 'http://127.0.0.1:5000/api/production-plan-streams?project_id=in:1,2&limit=2'
    curl 'http://127.0.0.1:5000/api/production-plan-streams?project_id=ge:1'   # the 400
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask, Response

from opfilter import to_sql
from opfilter.backends.sql import sqlite_datetime
from opfilter.flask import install, parse_request
from opfilter.streams import SCHEMA
from opfilter.streams.model import FIELDS, ProductionPlanStream

DB = os.environ.get("STREAMS_DB", "streams.sqlite3")

app = Flask(__name__)
install(app)                                    # InvalidQuery -> the exact 400


@app.get("/api/production-plan-streams")
def list_streams() -> Response:
    q = parse_request(SCHEMA)                   # request.query_string, raw bytes
    where, params = to_sql(q, "sqlite")         # filters and deleted, values bound
    with closing(sqlite3.connect(DB)) as db:
        found = db.execute(
            f"SELECT {', '.join(FIELDS)} FROM streams WHERE {where} "
            "ORDER BY id LIMIT ? OFFSET ?", [*params, q.limit, q.offset]
        ).fetchall()
    body = "[" + ",".join(from_sqlite(r).to_json() for r in found) + "]"
    return Response(body, content_type="application/json; charset=utf-8")


# -- the SQLite table: datetimes as opfilter's fixed-width UTC text (what to_sql's
# -- "sqlite" fragments compare with), dates as YYYY-MM-DD, values as exact decimal text


def to_sqlite(row: ProductionPlanStream) -> list[Any]:
    values = [getattr(row, name) for name in FIELDS]
    return [sqlite_datetime(v) if isinstance(v, datetime)
            else v.isoformat() if isinstance(v, date)
            else str(v) if isinstance(v, Decimal) else v for v in values]


def from_sqlite(r: Sequence[Any]) -> ProductionPlanStream:
    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    return ProductionPlanStream(
        id=r[0], created_at=utc(r[1]), updated_at=utc(r[2]), date=date.fromisoformat(r[3]),
        value=Decimal(r[4]), project_id=r[5], stream_id=r[6], production_plan_id=r[7],
        deleted_at=None if r[8] is None else utc(r[8]))


def create_db(path: str, rows: Iterable[ProductionPlanStream]) -> None:
    """(Re)create the ``streams`` table in ``path`` holding ``rows``."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("DROP TABLE IF EXISTS streams")
        db.execute("CREATE TABLE streams (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, "
                   "updated_at TEXT NOT NULL, date TEXT NOT NULL, value TEXT NOT NULL, "
                   "project_id INTEGER NOT NULL, stream_id INTEGER NOT NULL, "
                   "production_plan_id INTEGER NOT NULL, deleted_at TEXT)")
        db.executemany(f"INSERT INTO streams VALUES ({', '.join('?' for _ in FIELDS)})",
                       map(to_sqlite, rows))


SAMPLE_ROWS = [
    ProductionPlanStream.from_json({
        "id": i, "created_at": "2024-01-03T09:00:00Z", "updated_at": updated,
        "date": "2024-01-01", "value": value, "project_id": project, "stream_id": 1 + i % 2,
        "production_plan_id": 1, "deleted_at": deleted})
    for i, (updated, value, project, deleted) in enumerate([
        ("2024-01-05T09:00:00.000Z", "15.6", 1, None),
        ("2024-02-01T00:00:00Z", "100", 1, None),
        ("2024-02-01T23:59:59.999999Z", "0.25", 2, None),
        ("2024-06-15T08:00:00Z", "-5.5", 2, "2024-06-20T12:00:00Z"),
        ("2024-06-15T10:00:00+02:00", "33.3", 3, None),
    ], start=1)
]

if __name__ == "__main__":
    create_db(DB, SAMPLE_ROWS)
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
