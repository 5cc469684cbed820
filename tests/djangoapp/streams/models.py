"""ProductionPlanStream as a Django model (columns named as the schema's fields), and a
Project to reach through a relation (``fields={"project_id": "owner__external_id"}``)."""

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
