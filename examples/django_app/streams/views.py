"""``GET /api/production-plan-streams``: the page of rows the filters select, as the
endpoint's JSON, or the exact 400 of the reference server for a bad filter."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from opfilter import InvalidQuery
from opfilter.django import error_response, parse_request, to_q
from opfilter.streams import SCHEMA
from opfilter.streams.model import FIELDS, ProductionPlanStream

from .models import Stream


@require_GET
def list_streams(request: HttpRequest) -> HttpResponse:
    try:
        q = parse_request(request, SCHEMA)      # the raw QUERY_STRING
    except InvalidQuery as e:
        return error_response(e)                # the exact 400
    page = Stream.objects.filter(to_q(q)).order_by("id").values(*FIELDS)
    rows = page[q.offset:q.offset + q.limit]
    body = "[" + ",".join(ProductionPlanStream(**r).to_json() for r in rows) + "]"
    return HttpResponse(body, content_type="application/json; charset=utf-8")
