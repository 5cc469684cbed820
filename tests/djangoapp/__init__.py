"""A tiny Django project for the tests: settings configured in-process (no manage.py)."""

from __future__ import annotations

import django
from django.conf import settings


def configure() -> None:
    """Configure Django once per process: SQLite in memory, the test URLconf, the
    production-plan-streams model app."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=True,  # the TypeError of DEBUG cursors with '?' placeholders must not come back
        SECRET_KEY="opfilter-tests",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="djangoapp.urls",
        INSTALLED_APPS=["django.contrib.contenttypes", "djangoapp.streams"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        MIDDLEWARE=[],
    )
    django.setup()
