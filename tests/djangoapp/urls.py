"""URLconf of the test project: one view listing the canonical query or the exact 400."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from opfilter import InvalidQuery, to_query_string
from opfilter.django import error_response, parse_request
from opfilter.streams import SCHEMA


def items(request: HttpRequest) -> HttpResponse:
    try:
        q = parse_request(request, SCHEMA)
    except InvalidQuery as e:
        return error_response(e)
    return HttpResponse(to_query_string(q), content_type="text/plain")


urlpatterns = [path("items", items)]
