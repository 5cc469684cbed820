"""Drives ``examples/django_app`` with Django's test client in a process of its own.

The test suite's process already has Django configured (``tests/djangoapp``), and Django
settings are once per process, so ``tests/test_examples.py`` runs the example project
here: ``DJANGO_SETTINGS_MODULE=streams_site.settings``, ``STREAMS_DB`` a scratch file, and
the example's directory on ``PYTHONPATH``.  It runs the project's real migrations, then
answers one JSON command per line on stdin with one JSON line on stdout:

* ``{"rows": [<fixture rows>]}`` replaces the table's rows → ``{"rows": <count>}``;
* ``{"get": "<raw query string>"}`` → ``{"status", "content_type", "body"}`` (the body's
  bytes as latin-1 text, so they come back exactly).
"""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from opfilter.streams.model import FIELDS, ProductionPlanStream
    from streams.models import Stream

    call_command("migrate", verbosity=0)
    setup_test_environment()  # the test client's host, "testserver", is allowed
    client = Client()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if "rows" in command:
            rows = [ProductionPlanStream.from_json(r) for r in command["rows"]]
            Stream.objects.all().delete()
            Stream.objects.bulk_create(
                Stream(**{name: getattr(r, name) for name in FIELDS}) for r in rows)
            answer: dict[str, object] = {"rows": Stream.objects.count()}
        else:
            r = client.get("/api/production-plan-streams?" + command["get"])
            answer = {"status": r.status_code, "content_type": r["Content-Type"],
                      "body": r.content.decode("latin-1")}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
