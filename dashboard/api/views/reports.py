"""/api/v1/reports/<week>: the weekly FinOps review as a file (XLSX, or a zip of CSVs), scoped as on the
dashboard (dashboard/reports/download.py). Errors are JSON like every API answer; the review is binary."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from dashboard.api import http
from dashboard.api.http import BadRequest, Forbidden, NotFound, api_view
from dashboard.reports.download import download_response, review_scope
from dashboard.reports.formats import FORMATS
from dashboard.reports.review import WeekNotOver, build_review
from dashboard.reports.weeks import IsoWeek


@api_view
def report_download(request, week):
    try:
        iso = IsoWeek.parse(week)
    except ValueError as e:
        raise BadRequest(str(e)) from None
    fmt = http.choice(request, "format", FORMATS, default="xlsx")
    try:
        team = review_scope(request.user, request.GET.get("team"))
    except PermissionDenied as e:
        raise Forbidden(str(e)) from None
    except Http404 as e:
        raise NotFound(str(e)) from None
    try:
        review = build_review(iso, team=team, now=http.now())
    except WeekNotOver as e:
        raise BadRequest(str(e)) from None
    return download_response(review, fmt)
