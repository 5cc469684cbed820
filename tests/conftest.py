"""Shared test configuration: Hypothesis profiles (and, below, the PostgreSQL fixture)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI: derandomized, bounded, no deadline (the machine is shared and noisy).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Local default: still bounded, but random, so new cases keep turning up.
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Heavier local run: HYPOTHESIS_PROFILE=heavy pytest
settings.register_profile(
    "heavy",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# -- PostgreSQL (tests/pgcluster.py) ------------------------------------------------------
# `pg_dsn`: $OPFILTER_TEST_PG_DSN if set, else a throwaway cluster started for the session.
# `own_pg`: a throwaway cluster of the requesting module alone (its tests may stop and start
# it). Without PostgreSQL binaries the tests that need either are skipped — except under CI
# (env CI set), where that is a failure: CI must never silently skip the database tests.

import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402

if TYPE_CHECKING:
    import psycopg

    from pgcluster import Cluster

PG_FIXTURES = frozenset({"pg_dsn", "own_pg"})
"""The fixtures that start PostgreSQL: a test using one (directly or through another
fixture) is marked ``postgresql``; one reaching it via ``request.getfixturevalue`` must
carry the mark itself."""


@contextlib.contextmanager
def _throwaway_cluster(hint: str = "") -> Iterator[Cluster]:
    """A cluster started now and stopped at the end; without PostgreSQL, a skip (a
    failure under CI)."""
    import pgcluster

    try:
        cluster = pgcluster.start()
    except pgcluster.PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {e}", pytrace=False)
        pytest.skip(f"PostgreSQL is not available: {e}{hint}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    dsn = os.environ.get("OPFILTER_TEST_PG_DSN")
    if dsn:
        yield dsn
        return
    with _throwaway_cluster(" (set OPFILTER_TEST_PG_DSN to use a server)") as cluster:
        yield cluster.dsn


@pytest.fixture(scope="module")
def own_pg() -> Iterator[Cluster]:
    """A cluster of the requesting module alone, never the session's shared one."""
    with _throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg_conn(pg_dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """One autocommit psycopg 3 connection for the whole session (session time zone UTC)."""
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True, options="-c TimeZone=UTC") as conn:
        yield conn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the server (a fixture of :data:`PG_FIXTURES`, directly or
    through another fixture) carries the ``postgresql`` marker, so ``-m "not postgresql"``
    selects exactly the tests that run without one."""
    for item in items:
        if PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgresql)
