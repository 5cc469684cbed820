"""The production plan stream as a Django model: fields named as the filter schema's
columns, so ``opfilter.django.to_q`` needs no ``fields=`` mapping.  (The annotations are
for mypy without the django-stubs plugin; Django does not need them.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models


class Stream(models.Model):
    id: models.BigIntegerField[int, int] = models.BigIntegerField(primary_key=True)
    created_at: models.DateTimeField[dt.datetime, dt.datetime] = models.DateTimeField()
    updated_at: models.DateTimeField[dt.datetime, dt.datetime] = models.DateTimeField()
    date: models.DateField[dt.date, dt.date] = models.DateField()
    value: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=20, decimal_places=6)
    project_id: models.BigIntegerField[int, int] = models.BigIntegerField()
    stream_id: models.BigIntegerField[int, int] = models.BigIntegerField()
    production_plan_id: models.BigIntegerField[int, int] = models.BigIntegerField()
    deleted_at: models.DateTimeField[dt.datetime | None, dt.datetime | None] = models.DateTimeField(
        null=True)
