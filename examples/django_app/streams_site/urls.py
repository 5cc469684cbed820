"""The recipe's one URL."""

from __future__ import annotations

from django.urls import path

from streams.views import list_streams

urlpatterns = [path("api/production-plan-streams", list_streams)]
