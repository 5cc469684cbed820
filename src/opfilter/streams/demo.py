"""A deterministic demo world for ``opfilter serve`` (no ``--data``).

Three companies (``initech`` has Streams off), a user for each permission mix, 360
projects and 120,000 production plan streams, the same on every machine (seeded).
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import ProductionPlanStream
from .world import PERMISSION_VIEW, PERMISSION_VIEW_OTHER, Company, Project, User, World

if TYPE_CHECKING:
    from .sqlite_store import SQLiteStore

__all__ = ["DEMO_TOKENS", "DEMO_VERSION", "default_demo_path", "demo_store", "demo_world"]

DEMO_VERSION = 1
"""Bump when the demo world changes, so a cached demo database is rebuilt."""

VIEW, VIEW_OTHER = PERMISSION_VIEW, PERMISSION_VIEW_OTHER

DEMO_TOKENS = {
    "admin": "demo-admin",          # acme: view + view_other (sees every acme row)
    "pm": "demo-pm",                # acme: view only (sees the projects it manages)
    "other-viewer": "demo-other",   # acme: view_other only (sees everything but its own)
    "no-permission": "demo-none",   # acme member without either permission: 403
    "globex": "demo-globex",        # globex: both permissions; not an acme member: 403 there
    "initech": "demo-initech",      # initech has Streams disabled: 412
}

_UTC = UTC


def demo_world(
    progress: Callable[[int, int], None] | None = None,
    *,
    rows: int = 120_000,
    seed: int = 20240615,
) -> World:
    """The demo world; ``progress(done, total)`` is called as rows are made."""
    rng = random.Random(seed)
    companies = [Company("acme", True), Company("globex", True), Company("initech", False)]
    users = [
        User(1, DEMO_TOKENS["admin"], {"acme": frozenset({VIEW, VIEW_OTHER})}),
        User(2, DEMO_TOKENS["pm"], {"acme": frozenset({VIEW})}),
        User(3, DEMO_TOKENS["other-viewer"], {"acme": frozenset({VIEW_OTHER})}),
        User(4, DEMO_TOKENS["no-permission"], {"acme": frozenset()}),
        User(5, DEMO_TOKENS["globex"], {"globex": frozenset({VIEW, VIEW_OTHER})}),
        User(6, DEMO_TOKENS["initech"], {"initech": frozenset({VIEW, VIEW_OTHER})}),
    ]
    projects = []
    slugs = ["acme"] * 200 + ["globex"] * 100 + ["initech"] * 60
    for pid, slug in enumerate(slugs, 1):
        pm = rng.choice([2, 2, 3, 1, None]) if slug == "acme" else rng.choice([5, None])
        account = rng.choice([2, 3, None, None]) if slug == "acme" else None
        projects.append(Project(pid, slug, pm, account))
    start = datetime(2023, 1, 1, tzinfo=_UTC)
    made: list[ProductionPlanStream] = []
    step = max(1, rows // 50)
    for rid in range(1, rows + 1):
        project = rng.randrange(1, len(projects) + 1)
        created = start + timedelta(seconds=rng.randrange(0, 3 * 365 * 86400),
                                    microseconds=rng.randrange(0, 1_000_000))
        updated = created + timedelta(seconds=rng.randrange(0, 90 * 86400),
                                      microseconds=rng.randrange(0, 1_000_000))
        deleted = (updated + timedelta(days=rng.randrange(0, 30))
                   if rng.random() < 0.08 else None)
        month = created.month + rng.randrange(0, 12)
        made.append(ProductionPlanStream(
            id=rid,
            created_at=created,
            updated_at=updated,
            date=date(created.year + (month - 1) // 12, (month - 1) % 12 + 1, 1),
            value=Decimal(rng.randrange(0, 10001)).scaleb(-2),
            project_id=project,
            stream_id=rng.randrange(1, 41),
            production_plan_id=project * 10 + rng.randrange(0, 3),
            deleted_at=deleted,
        ))
        if progress is not None and (rid % step == 0 or rid == rows):
            progress(rid, rows)
    return World(companies, users, projects, made)


def default_demo_path() -> Path:
    """Where the demo database is cached: ``$XDG_CACHE_HOME/opfilter`` (else
    ``~/.cache/opfilter``), one file per :data:`DEMO_VERSION`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opfilter" / f"demo-{DEMO_VERSION}.sqlite3"


def demo_store(
    path: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    **store_options: Any,
) -> tuple[SQLiteStore, bool]:
    """The demo world in a SQLite file (``path``, default :func:`default_demo_path`),
    built on first use and reused after; returns ``(store, built_now)``.

    Safe when several processes start at once (gunicorn workers): each builds into its
    own temporary file and moves it into place atomically; the last one wins, and every
    copy is the same world.  ``store_options`` go to :class:`SQLiteStore`."""
    from .sqlite_store import SQLiteStore

    target = Path(path) if path is not None else default_demo_path()
    if target.exists():
        try:
            store = SQLiteStore(target, **store_options)
            if store.count() > 0:
                return store, False
            store.close()
        except sqlite3.DatabaseError:
            pass  # not a database of ours (corrupt, truncated): build it again
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.building")
    tmp.unlink(missing_ok=True)
    try:
        SQLiteStore.from_world(demo_world(progress), tmp).close()
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return SQLiteStore(target, **store_options), True
