"""ProductionPlanStream as a Django model (columns named as the schema's fields), a
Project to reach through a relation (``fields={"project_id": "owner__external_id"}``), and
Sample: one column of each other field type (``test_django_orm.TYPED``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models

_DT = models.DateTimeField
_INT = models.BigIntegerField


class Project(models.Model):
    external_id: _INT[int, int] = models.BigIntegerField(unique=True)

    class Meta:
        app_label = "streams"


class Stream(models.Model):
    id: _INT[int, int] = models.BigIntegerField(primary_key=True)
    created_at: _DT[dt.datetime, dt.datetime] = models.DateTimeField()
    updated_at: _DT[dt.datetime, dt.datetime] = models.DateTimeField()
    date: models.DateField[dt.date, dt.date] = models.DateField()
    value: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=30, decimal_places=10)
    project_id: _INT[int, int] = models.BigIntegerField()
    stream_id: _INT[int, int] = models.BigIntegerField()
    production_plan_id: _INT[int, int] = models.BigIntegerField()
    deleted_at: _DT[dt.datetime | None, dt.datetime | None] = models.DateTimeField(null=True)
    owner: models.ForeignKey[Project | None, Project | None] = models.ForeignKey(
        Project, null=True, on_delete=models.SET_NULL, related_name="streams",
        db_column="owner_ref")

    class Meta:
        app_label = "streams"


class Sample(models.Model):
    """Decimal, date, bool, string and enum columns, some nullable.  ``amount`` is
    ``numeric(60, 40)`` on PostgreSQL (room for the tests' values); SQLite stores it with
    NUMERIC affinity (a double, or an integer when whole)."""

    id: _INT[int, int] = models.BigIntegerField(primary_key=True)
    amount: models.DecimalField[Decimal | None, Decimal | None] = models.DecimalField(
        max_digits=60, decimal_places=40, null=True)
    day: models.DateField[dt.date, dt.date] = models.DateField()
    flag: models.BooleanField[bool | None, bool | None] = models.BooleanField(null=True)
    label: models.TextField[str | None, str | None] = models.TextField(null=True)
    colour: models.TextField[str, str] = models.TextField()

    class Meta:
        app_label = "streams"
