"""The ``Stream`` table (written by ``makemigrations``, then tidied)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Stream",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("date", models.DateField()),
                ("value", models.DecimalField(decimal_places=6, max_digits=20)),
                ("project_id", models.BigIntegerField()),
                ("stream_id", models.BigIntegerField()),
                ("production_plan_id", models.BigIntegerField()),
                ("deleted_at", models.DateTimeField(null=True)),
            ],
        ),
    ]
