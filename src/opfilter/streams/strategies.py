"""Hypothesis strategies for production plan stream rows and whole worlds.

For testing a server that embeds the endpoint against the reference
(:class:`~opfilter.streams.store.MemoryStore`)::

    from hypothesis import given
    from opfilter.streams.strategies import worlds

    @given(worlds())
    def test_my_server_agrees(world): ...

Values cluster on the edges filters care about: instants on UTC day boundaries and one
microsecond either side, sub-millisecond digits (the JSON form truncates them), the first
and last representable days; ``value`` at 100, zero, negative and with trailing zeros;
ids at 1 and 2^63−1.  Worlds hold several companies (one whose slug differs only in case),
users with every combination of the two permissions (and unrelated ones), projects with
and without PM/Account, memberships of unknown companies, and rows of unknown projects.

Requires Hypothesis (``pip install opfilter[testing]``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from ..values import INT64_MAX
from .model import ProductionPlanStream
from .world import PERMISSION_VIEW, PERMISSION_VIEW_OTHER, Company, Project, User, World

__all__ = [
    "BASE_DAYS",
    "SLUGS",
    "decimals",
    "instants",
    "month_starts",
    "rows",
    "worlds",
]

UTC = dt.UTC

BASE_DAYS = (
    dt.date(2024, 1, 1),
    dt.date(2024, 2, 29),
    dt.date(2024, 6, 15),
    dt.date(2026, 3, 27),
)
"""Days whose boundaries :func:`instants` clusters on (queries built from these hit)."""

SLUGS = ("acme", "globex", "Acme", "initech")
"""Company slugs :func:`worlds` draws from (``Acme`` checks case-sensitivity)."""

_EDGE_OFFSETS = (
    dt.timedelta(0),
    dt.timedelta(microseconds=1),
    dt.timedelta(microseconds=-1),
    dt.timedelta(microseconds=999),
    dt.timedelta(milliseconds=1),
    dt.timedelta(hours=9, microseconds=826_999),
    dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
)
_EXTREMES = (
    dt.datetime(1, 1, 1, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    dt.datetime(9999, 12, 31, tzinfo=UTC),
)


def instants() -> st.SearchStrategy[dt.datetime]:
    """Aware UTC datetimes, mostly on or beside the boundaries of :data:`BASE_DAYS`."""
    edges = st.builds(
        lambda day, off: dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + off,
        st.sampled_from(BASE_DAYS),
        st.sampled_from(_EDGE_OFFSETS),
    )
    anywhere = st.datetimes(
        min_value=dt.datetime(2023, 12, 30),
        max_value=dt.datetime(2026, 4, 2),
        timezones=st.just(UTC),
    )
    return st.one_of(edges, edges, anywhere, st.sampled_from(_EXTREMES))


def month_starts() -> st.SearchStrategy[dt.date]:
    """First days of months (the only valid ``date`` of a row)."""
    return st.builds(
        lambda y, m: dt.date(y, m, 1), st.integers(2023, 2027), st.integers(1, 12)
    ) | st.sampled_from((dt.date(1, 1, 1), dt.date(9999, 12, 1)))


def decimals() -> st.SearchStrategy[Decimal]:
    """Valid ``value`` s: at most 100, edges and trailing zeros included."""
    edges = st.sampled_from(
        [Decimal(s) for s in ("100", "100.000", "99.999999", "0", "-0.00", "0.25", "15.6",
                              "15.60", "-5.5", "1E+2", "-1E+3", "0.000001", "33.333333")]
    )
    some = st.decimals(
        min_value=Decimal(-1000), max_value=Decimal(100), places=3, allow_nan=False,
        allow_infinity=False,
    )
    return edges | some


def _ids(small: int) -> st.SearchStrategy[int]:
    return st.integers(1, small) | st.just(INT64_MAX)


def rows(
    ids: st.SearchStrategy[int] | None = None,
    project_ids: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[ProductionPlanStream]:
    """Valid rows; ``deleted_at`` is null about half the time."""
    return st.builds(
        ProductionPlanStream,
        id=ids if ids is not None else _ids(1000),
        created_at=instants(),
        updated_at=instants(),
        date=month_starts(),
        value=decimals(),
        project_id=project_ids if project_ids is not None else _ids(10),
        stream_id=_ids(4),
        production_plan_id=_ids(4),
        deleted_at=st.none() | instants(),
    )


_EDIT = "production_plan.edit"
_PERMISSIONS = st.sampled_from([
    frozenset({PERMISSION_VIEW}),
    frozenset({PERMISSION_VIEW_OTHER}),
    frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER}),
    frozenset({PERMISSION_VIEW, PERMISSION_VIEW_OTHER, _EDIT}),
    frozenset({PERMISSION_VIEW, _EDIT}),
    frozenset({_EDIT}),
    frozenset(),
])


@st.composite
def worlds(
    draw: st.DrawFn,
    *,
    max_companies: int = 3,
    max_users: int = 4,
    max_projects: int = 6,
    min_rows: int = 0,
    max_rows: int = 30,
) -> World:
    """Small valid worlds for differential and property tests.

    User ``i`` has the token ``tok-<i>``; user ids come from 1..6, so some PMs and
    Accounts are not users; projects may belong to an unknown company (``ghost``), rows
    to an unknown project (most rows belong to a known one, most companies have Streams
    enabled, so that generated requests mostly reach the rows).
    """
    slugs = draw(st.lists(st.sampled_from(SLUGS), min_size=1, max_size=max_companies,
                          unique=True))
    companies = [Company(s, draw(st.sampled_from((True, True, True, False)))) for s in slugs]
    member_of = st.sampled_from([*slugs, *slugs, "ghost"])
    memberships: st.SearchStrategy[dict[str, frozenset[str]]] = st.dictionaries(
        member_of, _PERMISSIONS, min_size=1, max_size=3
    ) | st.just({})
    user_ids = draw(st.lists(st.integers(1, 6), min_size=1, max_size=max_users, unique=True))
    users = [
        User(uid, f"tok-{uid}", draw(memberships))
        for uid in user_ids
    ]
    person = st.none() | st.integers(1, 6)
    project_ids = draw(
        st.lists(st.integers(1, 9), min_size=min(1, max_projects), max_size=max_projects,
                 unique=True)
    )
    projects = [
        Project(pid, draw(member_of), draw(person), draw(person)) for pid in project_ids
    ]
    row_ids = st.integers(1, 200) | st.just(INT64_MAX)
    known = st.sampled_from(project_ids) if project_ids else st.integers(1, 10)
    row_list = draw(
        st.lists(
            rows(ids=row_ids, project_ids=known | known | known | st.integers(1, 10)),
            min_size=min_rows,
            max_size=max_rows,
            unique_by=lambda r: r.id,
        )
    )
    return World(companies, users, projects, row_list)
