"""The store interface the endpoint is written against, and the in-memory reference store.

The endpoint (:mod:`opfilter.streams.endpoint`) does the HTTP part — headers, status
order, error bodies, JSON — and asks a :class:`Store` five questions.  Every question is
one simple lookup or one ``SELECT``, so an SQL store does all the work in the database::

    authenticate(token)             SELECT id FROM users WHERE token = ?
    company(slug)                   SELECT streams_enabled FROM companies WHERE slug = ?
    permissions(user_id, slug)      SELECT permission FROM memberships WHERE ...
    list_rows(...)                  SELECT s.* FROM production_plan_streams s
                                    JOIN projects p ON p.id = s.project_id
                                    WHERE p.company = ? AND <visibility> AND <to_sql(query)>
                                    ORDER BY s.id LIMIT ? OFFSET ?
    get_row(...)                    the same, AND s.id = ?, no LIMIT

where ``<visibility>`` is (``own`` meaning ``p.pm_id = :user OR p.account_id = :user``):
both permissions: ``TRUE``; only ``can_view_own``: ``own``; only ``can_view_other``:
``NOT own`` — written null-safely, since ``pm_id``/``account_id`` may be NULL, e.g.
``(p.pm_id IS NULL OR p.pm_id <> :user) AND (p.account_id IS NULL OR p.account_id <>
:user)``.  A row whose project is unknown is visible to nobody (the inner join drops it).

:class:`MemoryStore` is the reference: it answers with
:func:`opfilter.to_predicate`'s ``select`` over rows kept sorted by id, per company.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from itertools import islice
from typing import Protocol, runtime_checkable

from ..backends.predicate import to_predicate
from ..errors import OpfilterError
from ..query import Query
from .model import ProductionPlanStream
from .world import Company, Project, World

__all__ = ["MemoryStore", "Store", "StoreUnavailable"]


class StoreUnavailable(OpfilterError, RuntimeError):
    """The store cannot answer now: no connection could be had within its timeout (the
    pool is saturated), or the database is down or restarting.  The endpoint answers 503
    ``unavailable`` with a ``Retry-After`` header; the request may simply be retried."""


@runtime_checkable
class Store(Protocol):
    """What :func:`opfilter.streams.endpoint.handle` needs from a data store.

    Any method may raise :class:`StoreUnavailable` (answered 503).  The endpoint calls
    the methods in this order and stops at the first answer that ends the request:
    ``authenticate`` (401), ``company`` and ``permissions`` (403/412), then
    ``list_rows`` or ``get_row``.  ``list_rows``/``get_row`` are only called for a company
    that exists, has Streams enabled, and where the user holds at least one of the two
    permissions (so ``can_view_own or can_view_other`` is true).
    """

    def authenticate(self, token: str) -> int | None:
        """The id of the user whose API token is ``token`` (exact match), or ``None``."""
        ...

    def company(self, slug: str) -> Company | None:
        """The company whose slug is ``slug`` (case-sensitive), or ``None``."""
        ...

    def permissions(self, user_id: int, slug: str) -> AbstractSet[str] | None:
        """The user's permissions in company ``slug``; ``None`` when not a member."""
        ...

    def list_rows(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        query: Query,
    ) -> list[ProductionPlanStream]:
        """One page: the rows of ``company``'s projects that the user may see
        (``can_view_own``: projects where ``user_id`` is the PM or the Account;
        ``can_view_other``: the company's other projects), that satisfy
        ``query.all_conditions()`` (the filters and ``deleted``), ordered by id, skipping
        ``query.offset`` and at most ``query.limit`` long.  ``offset`` may be as large as
        2^63−1."""
        ...

    def get_row(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        row_id: int,
        query: Query,
    ) -> ProductionPlanStream | None:
        """The row with id ``row_id`` if the user may see it (as for :meth:`list_rows`)
        and it satisfies ``query.all_conditions()`` (for this endpoint: only what
        ``deleted`` implies); else ``None``.  ``row_id`` is from 1 to 2^63−1."""
        ...


class MemoryStore:
    """The reference :class:`Store`, over a :class:`~opfilter.streams.world.World`.

    Per company, the rows of its projects are precomputed as one list sorted by id, with
    each row's project; a request walks that list with the compiled predicate's
    ``select`` in growing batches and stops as soon as its page is full.
    """

    __slots__ = ("_by_company", "world")

    def __init__(self, world: World) -> None:
        self.world = world
        by_company: dict[str, list[tuple[ProductionPlanStream, Project]]] = {}
        projects = world.project_by_id
        for row in world.rows:  # sorted by id
            project = projects.get(row.project_id)
            if project is not None:
                by_company.setdefault(project.company, []).append((row, project))
        self._by_company = by_company

    def authenticate(self, token: str) -> int | None:
        user = self.world.user_by_token.get(token)
        return None if user is None else user.id

    def company(self, slug: str) -> Company | None:
        return self.world.company_by_slug.get(slug)

    def permissions(self, user_id: int, slug: str) -> AbstractSet[str] | None:
        user = self.world.user_by_id.get(user_id)
        if user is None:
            return None
        return user.memberships.get(slug)

    def _visible(
        self, company: str, user_id: int, can_view_own: bool, can_view_other: bool
    ) -> Iterator[ProductionPlanStream]:
        pairs = self._by_company.get(company, ())
        if can_view_own and can_view_other:
            return (row for row, _ in pairs)
        if can_view_own:
            return (
                row for row, p in pairs if p.pm_id == user_id or p.account_id == user_id
            )
        if can_view_other:
            return (
                row for row, p in pairs if p.pm_id != user_id and p.account_id != user_id
            )
        return iter(())

    def list_rows(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        query: Query,
    ) -> list[ProductionPlanStream]:
        offset = query.offset
        limit = query.limit
        candidates = self._by_company.get(company, ())
        if offset >= len(candidates) or limit == 0:
            return []
        select = to_predicate(query, access="attribute").select
        visible = self._visible(company, user_id, can_view_own, can_view_other)
        stop = offset + limit
        matches: list[ProductionPlanStream] = []
        batch = 256  # select() in growing batches: the first page still stops early
        while len(matches) < stop:
            rows = list(islice(visible, batch))
            if not rows:
                break
            matches += select(rows)
            batch = min(batch * 4, 65536)
        return matches[offset:stop]

    def get_row(
        self,
        company: str,
        user_id: int,
        can_view_own: bool,
        can_view_other: bool,
        row_id: int,
        query: Query,
    ) -> ProductionPlanStream | None:
        project_row = self._find(company, row_id)
        if project_row is None:
            return None
        row, project = project_row
        own = project.is_own(user_id)
        if not (can_view_own if own else can_view_other):
            return None
        return row if to_predicate(query, access="attribute")(row) else None

    def _find(self, company: str, row_id: int) -> tuple[ProductionPlanStream, Project] | None:
        pairs = self._by_company.get(company)
        if not pairs:
            return None
        lo = bisect_left(pairs, row_id, key=lambda pair: pair[0].id)
        if lo < len(pairs) and pairs[lo][0].id == row_id:
            return pairs[lo]
        return None
