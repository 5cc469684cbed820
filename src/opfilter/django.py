"""Django integration (extra ``opfilter[django]``, SPEC §9).

.. code-block:: python

    from opfilter import InvalidQuery
    from opfilter.django import error_response, parse_request
    from opfilter.streams import SCHEMA

    def list_streams(request):
        try:
            q = parse_request(request, SCHEMA)
        except InvalidQuery as e:
            return error_response(e)          # the exact 400 of SPEC §5
        ...

:func:`parse_request` reads the raw ``QUERY_STRING`` (not ``request.GET``, which has
already replaced undecodable bytes), so ``%FF`` gets SPEC §3's message.

:func:`to_q` renders a query's conditions (filters and ``deleted``) as a ``Q`` for the
ORM: ``Stream.objects.filter(to_q(q)).order_by("id")[q.offset:q.offset + q.limit]``.  It
only renders :mod:`opfilter.lowering`'s meanings, so NULL and whole-UTC-day rules are
SPEC §2's; the ORM binds values itself, so it works on every database Django supports
and whatever format Django stored datetimes in.  Decimals on SQLite are doubles: for
another database than ``default``, pass its alias (``to_q(q, using="replica")``) so that
decimal operands are rewritten for SQLite only when the query runs there.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, assert_never

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q

from .backends.sql import narrow_real
from .errors import CONTENT_TYPE, InvalidQuery
from .lowering import Interval, Meaning, Member, Never, NotMember, Within, lower
from .query import Query, parse_query
from .schema import Schema, Type

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

__all__ = ["error_response", "parse_request", "render", "to_q"]


def _raw_query(request: HttpRequest) -> str | bytes:
    """The query string as sent: WSGI hands it over as latin-1 text (bytes as code
    points); ASGI servers give it decoded the same way."""
    raw = request.META.get("QUERY_STRING", "")
    if isinstance(raw, bytes):
        return raw
    try:
        return str(raw).encode("latin-1")
    except UnicodeEncodeError:  # not from a server (a test client given text): as is
        return str(raw)


def parse_request(
    request: HttpRequest, schema: Schema, *, strict: bool | None = None
) -> Query:
    """``request``'s query string parsed with ``schema``; raises
    :class:`~opfilter.InvalidQuery`.  Without a ``QUERY_STRING`` (a request built by
    hand), ``request.GET`` is read instead."""
    if "QUERY_STRING" not in request.META:
        return parse_query(request.GET, schema, strict=strict)
    return parse_query(_raw_query(request), schema, strict=strict)


def error_response(exc: InvalidQuery) -> HttpResponse:
    """The exact 400 of SPEC §5 for ``exc`` (status, content type and body bytes)."""
    from django.http import HttpResponse

    return HttpResponse(exc.json(), status=400, content_type=CONTENT_TYPE)


# -- the ORM: a lowered meaning → Q ------------------------------------------------------


def _any(parts: list[Q]) -> Q:
    out = parts[0]
    for p in parts[1:]:
        out |= p
    return out


def _nothing() -> Q:
    return Q(pk__in=[])


_LOOKUPS = {operator.lt: "lt", operator.le: "lte", operator.gt: "gt", operator.ge: "gte"}
"""Django's lookup for each comparison the lowering's intervals test with."""


def _inside(path: str, i: Interval) -> Q:
    """Non-NULL values inside ``i``."""
    q = Q(**{f"{path}__isnull": False})
    for test, value in i.comparisons():
        q &= Q(**{f"{path}__{_LOOKUPS[test]}": value})
    return q


def _outside(path: str, i: Interval) -> Q:
    """Non-NULL values outside ``i`` (NULL is decided by the caller)."""
    parts = [Q(**{f"{path}__{_LOOKUPS[test]}": value}) for test, value in i.outside()]
    return _any(parts) if parts else _nothing()


def _points(path: str, points: tuple[Any, ...]) -> Q:
    if len(points) == 1:
        return Q(**{path: points[0]})
    return Q(**{f"{path}__in": list(points)})


def render(meaning: Meaning, path: str) -> Q:
    """One lowered condition → a ``Q`` over the lookup ``path``."""
    match meaning:
        case Member(points=points, intervals=intervals, null=null):
            parts = [_points(path, points)] if points else []
            parts += [_inside(path, i) for i in intervals]
            if null:
                parts.append(Q(**{f"{path}__isnull": True}))
            return _any(parts) if parts else _nothing()
        case NotMember(points=points, intervals=intervals, null=null):
            # Non-NULL values that are none of the points and outside every interval;
            # NULL too unless null was listed.  Points are excluded under isnull=False
            # so that Django's own NULL handling of ~Q cannot change the answer.
            kept = Q(**{f"{path}__isnull": False})
            if points:
                kept &= ~_points(path, points)
            for i in intervals:
                kept &= _outside(path, i)
            return kept if null else kept | Q(**{f"{path}__isnull": True})
        case Within(interval=interval):
            return _inside(path, interval)
        case Never():
            return _nothing()
        case _:  # pragma: no cover
            assert_never(meaning)


def to_q(
    query: Query, fields: Mapping[str, str] | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> Q:
    """``query``'s conditions (filters and ``deleted``; never ``limit``/``offset``) as one
    ``Q``.  Each field is looked up by its schema column, or by ``fields[name]`` (any
    Django lookup path, e.g. ``{"project_id": "project__external_id"}``).

    ``using`` is the alias of the database the ``Q`` will run on (that of
    ``.using(...)``, if any).  On SQLite a ``DecimalField`` holds doubles, so decimal
    operands are rewritten as ``to_sql(q, "sqlite")`` rewrites them
    (:func:`~opfilter.backends.sql.narrow_real`): exact for stored values of at most 15
    significant digits.  Other databases compare decimals as they are."""
    fields = fields or {}
    unknown = set(fields) - {f.name for f in query.schema.filters}
    if unknown:
        raise KeyError(f"fields= names no filter of the schema: {', '.join(sorted(unknown))}")
    doubles = connections[using].vendor == "sqlite"
    out = Q()
    for c in query.all_conditions():
        f = query.schema.field(c.field)
        meaning = lower(f, c).meaning
        if doubles and f.kind is Type.DECIMAL:
            meaning = narrow_real(meaning)
        out &= render(meaning, fields.get(f.name, f.column))
    return out
