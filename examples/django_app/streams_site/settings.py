"""Settings of the recipe's Django project: one app, SQLite, times in UTC."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "opfilter-example-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["streams"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "streams_site.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("STREAMS_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True  # aware datetimes, stored in UTC: what opfilter.django.to_q compares with
TIME_ZONE = "UTC"
