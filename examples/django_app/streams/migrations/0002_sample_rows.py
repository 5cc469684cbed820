"""A few rows to try the filters on (the same ones as the Flask and FastAPI recipes)."""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from opfilter.streams.model import ProductionPlanStream

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


def add_rows(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    stream = apps.get_model("streams", "Stream")
    stream.objects.bulk_create(
        stream(**{name: getattr(row, name) for name in row.__slots__}) for row in SAMPLE_ROWS
    )


def remove_rows(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("streams", "Stream").objects.filter(
        id__in=[row.id for row in SAMPLE_ROWS]).delete()


class Migration(migrations.Migration):
    dependencies = [("streams", "0001_initial")]

    operations = [migrations.RunPython(add_rows, remove_rows)]
