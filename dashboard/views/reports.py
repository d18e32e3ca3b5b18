"""The weekly FinOps review on the dashboard: /reports/ picks an ISO week (by default the last complete
one) and a scope (a FinOps admin: the fleet or any team; a member: one of their teams), shows the
review's headline and links to the XLSX and CSV downloads; /reports/<week>/download returns the file.
Who may have which review is dashboard/reports/download.py, shared with the API."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from dashboard.reports import formats
from dashboard.reports.download import download_response, review_scope
from dashboard.reports.review import Review, WeekNotOver, build_review
from dashboard.reports.weeks import IsoWeek
from dashboard.services.scoping import is_finops_admin, visible_teams
from dashboard.tables import UNKNOWN, money, number, percent
from dashboard.views import fleet as fleet_page

FLEET = ""  # the scope choice for the whole fleet


class ReviewForm(forms.Form):
    # type=week: browsers that have a week picker send "2026-W47"; others show a text box for it.
    week = forms.CharField(
        label="Week", widget=forms.TextInput(attrs={"type": "week", "placeholder": "2026-W47"})
    )
    team = forms.ChoiceField(label="Scope", required=False)

    def __init__(self, data, *, teams, finops_admin: bool, latest: IsoWeek):
        super().__init__(data)
        self.latest = latest
        fleet = [(FLEET, "Whole fleet")] if finops_admin else []
        self.fields["team"].choices = fleet + [(t.slug, t.name) for t in teams]
        self.fields["week"].widget.attrs["max"] = latest.label

    def clean_week(self) -> IsoWeek:
        try:
            week = IsoWeek.parse(self.cleaned_data["week"])
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None
        if week > self.latest:
            raise forms.ValidationError(f"{week.label} has not ended yet: the latest complete week is "
                                        f"{self.latest.label}")  # fmt: skip
        return week


def summary_text(value, kind: str, currency: str) -> str:
    if value is None:
        return UNKNOWN
    if kind == "money":
        return money(value, currency)
    if kind == "percent":
        return percent(value)
    if kind == "int":
        return number(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, date):
        return f"{value:%a %Y-%m-%d}"
    return str(value)


def download_links(review: Review) -> list[dict]:
    url = reverse("report-download", args=[review.week.label])
    team = {"team": review.team.slug} if review.team else {}
    return [
        {"format": fmt, "label": label, "url": f"{url}?{urlencode({**team, 'format': fmt})}",
         "filename": formats.filename(review, fmt)}
        for fmt, label in (("xlsx", "Excel workbook (XLSX)"), ("csv", "CSV files (zip)"))
    ]  # fmt: skip


def reports(request):
    now = fleet_page.clock()
    latest = IsoWeek.last_complete(now)
    user = request.user
    finops_admin = is_finops_admin(user)
    teams = list(visible_teams(user))
    data = request.GET.copy()
    if not data.get("week"):
        data["week"] = latest.label
    if not finops_admin and not data.get("team") and teams:
        data["team"] = teams[0].slug  # a member has no fleet review: start with their first team
    form = ReviewForm(data, teams=teams, finops_admin=finops_admin, latest=latest)
    context = {
        "form": form,
        "nav_teams": teams,
        "finops_admin": finops_admin,
        "latest": latest,
        "review": None,
    }
    if not teams and not finops_admin:
        return render(request, "reports/index.html", context)
    if not form.is_valid():
        errors = [f"{form.fields[name].label}: {' '.join(e)}" for name, e in form.errors.items()]
        return render(request, "reports/index.html", {**context, "errors": errors}, status=400)

    slug = form.cleaned_data["team"]
    team = next((t for t in teams if t.slug == slug), None) if slug else None
    review = build_review(form.cleaned_data["week"], team=team, now=now)
    context.update(
        review=review,
        summary=[
            (label, summary_text(value, kind, review.currency)) for label, value, kind in review.summary
        ],
        movers=[
            {"name": name, "change": f"{change:+,.2f} {review.currency}", "up": change > 0}
            for name, change in review.headline["top_movers"]
        ],
        tables=[{"title": t.title, "rows": len(t.rows)} for t in review.tables],
        downloads=download_links(review),
    )
    return render(request, "reports/index.html", context)


def report_download(request, week):
    """The review of `week` as a file: ?team=<slug> (none: the fleet, FinOps admins only) and
    ?format=xlsx|csv. A team the user does not see is a 404, the fleet for a member a 403."""
    try:
        iso = IsoWeek.parse(week)
    except ValueError as e:
        return HttpResponseBadRequest(str(e), content_type="text/plain; charset=utf-8")
    fmt = request.GET.get("format") or "xlsx"
    if fmt not in formats.FORMATS:
        return HttpResponseBadRequest(
            f"unknown format {fmt!r}: use xlsx or csv", content_type="text/plain; charset=utf-8"
        )
    team = review_scope(request.user, request.GET.get("team"))
    try:
        review = build_review(iso, team=team, now=fleet_page.clock())
    except WeekNotOver as e:
        return HttpResponseBadRequest(str(e), content_type="text/plain; charset=utf-8")
    return download_response(review, fmt)
