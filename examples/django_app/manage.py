#!/usr/bin/env python
"""Django recipe: ``GET /api/production-plan-streams`` over SQLite, filtered by opfilter.

The project is ``streams_site`` (settings, urls); the app is ``streams`` (the model, the
view in ``streams/views.py``, and migrations that create the table and add a few rows).
Run it from this directory (``STREAMS_DB`` names another database file)::

    pip install 'opfilter[django]'
    python manage.py migrate              # creates db.sqlite3 with a few rows
    python manage.py runserver
    curl 'http://127.0.0.1:8000/api/production-plan-streams?project_id=in:1,2&limit=2'
    curl 'http://127.0.0.1:8000/api/production-plan-streams?project_id=ge:1'   # the 400
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streams_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
