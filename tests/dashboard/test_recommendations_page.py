"""The recommendations page: who sees which recommendations, ranking and filters, the open savings, the
expandable evidence, Accept / Dismiss / Reopen (recorded, scoped, CSRF-protected), the CSV export of the
same table, the quota headroom section, and a query count that does not grow with the recommendations."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.insights import model as rules
from dashboard.models import AwsAccount, Endpoint, ProductionVariant, Recommendation
from tests.conftest import NOW
from tests.dashboard.test_fleet_page import csv_rows, page_clock  # noqa: F401  (page_clock is a fixture)

URL = "/recommendations/"


def make_rec(endpoint=None, *, rule=rules.IDLE_ENDPOINT, saving="10", account=None, region=None, **fields):
    """A recommendation as the engine would store it; `endpoint` None: account-wide (quota)."""
    account = account or endpoint.account
    target = f"{endpoint.pk}/AllTraffic" if endpoint else f"{account.account_id}/{region}"
    defaults = dict(
        key=f"{rule}:{target}:{Recommendation.objects.count()}", rule=rule, endpoint=endpoint,
        variant="AllTraffic" if endpoint else "", account=account, region=region or endpoint.region,
        team=endpoint.team if endpoint else None, title=f"{rules.RULES[rule]} on {endpoint or region}",
        summary="Peak memory 1.2 GB of 6 GB over 14 days.",
        current={"memory_mb": 6144, "max_concurrency": 20},
        proposed={"memory_mb": 2048, "max_concurrency": 20},
        evidence={"peak_memory_pct": 19.5, "hours_with_data": 310, "billed_window": "41.20"},
        warnings=[], monthly_saving=None if saving is None else Decimal(saving), currency="USD",
        confidence=0.8, window_start=NOW - timedelta(days=14), window_end=NOW, computed_at=NOW,
        first_seen_at=NOW - timedelta(days=3),
    )  # fmt: skip
    return Recommendation.objects.create(**{**defaults, **fields})


def endpoint(account, name, team, *, region="us-east-1", serverless=True, max_concurrency=20, deleted=False):
    e = Endpoint.objects.create(
        account=account, region=region, name=name, status="InService", team=team, arn=f"arn:{name}",
        first_seen=NOW, last_seen=NOW, deleted_at=NOW if deleted else None,
    )  # fmt: skip
    shape = (
        {"kind": "serverless", "memory_mb": 6144, "max_concurrency": max_concurrency}
        if serverless
        else {"kind": "instance", "instance_type_id": "ml.g5.xlarge", "current_instance_count": 2}
    )
    ProductionVariant.objects.create(endpoint=e, name="AllTraffic", first_seen=NOW, last_seen=NOW, **shape)
    return e


def build_estate(team_search, team_vision) -> dict:
    """Search: a serverless ranker and a GPU endpoint; Vision: a serverless detector in the same account
    and region; nobody: a serverless endpoint in another account. Recommendations for each, two
    account-wide quota ones, a dismissed and an inactive one."""
    prod = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])
    research = AwsAccount.objects.create(account_id="222222222222", label="research", regions=["eu-west-1"])
    ranker = endpoint(prod, "search-ranker", team_search, max_concurrency=30)
    gpu = endpoint(prod, "search-gpu", team_search, serverless=False)
    detector = endpoint(prod, "vision-detector", team_vision, max_concurrency=50)
    lab = endpoint(research, "lab-model", None, region="eu-west-1", max_concurrency=10)
    recs = {
        "memory": make_rec(ranker, rule=rules.MEMORY_OVER, saving="120.5", confidence=0.9),
        "gpu": make_rec(gpu, rule=rules.GPU_RIGHTSIZE, saving="300", confidence=0.5,
                        proposed={"instance_type": "ml.g5.xlarge", "instance_count": 1},
                        current={"instance_type": "ml.g5.2xlarge", "instance_count": 1}),
        "cold": make_rec(ranker, rule=rules.COLD_STARTS, saving="-40", warnings=["adds a fixed cost"],
                         proposed={"provisioned_concurrency": 2}),
        "throttle": make_rec(ranker, rule=rules.THROTTLING, saving=None, confidence=0.6),
        "vision": make_rec(detector, rule=rules.IDLE_ENDPOINT, saving="500"),
        "quota": make_rec(None, rule=rules.QUOTA, saving=None, account=prod, region="us-east-1",
                          confidence=0.3),
        "research": make_rec(None, rule=rules.QUOTA, saving=None, account=research, region="eu-west-1"),
        "lab": make_rec(lab, rule=rules.IDLE_ENDPOINT, saving="80"),
        "dismissed": make_rec(ranker, rule=rules.PC_UNUSED, saving="50", status="dismissed"),
        "inactive": make_rec(gpu, rule=rules.IDLE_ENDPOINT, saving="999", active=False, resolved_at=NOW),
    }  # fmt: skip
    return {"recs": recs, "endpoints": {"ranker": ranker, "gpu": gpu, "detector": detector, "lab": lab}}


@pytest.fixture
def estate(db, team_search, team_vision, page_clock):  # noqa: F811
    return build_estate(team_search, team_vision)


def shown(response) -> list[int]:
    """Recommendation ids in page order."""
    return [int(pk) for pk in re.findall(r'<tr id="rec-\d+" data-rec="(\d+)"', response.content.decode())]


def ids(estate, *names) -> list[int]:
    return [estate["recs"][n].pk for n in names]


def section(body: str, element_id: str) -> str:
    start = body.index(f'id="{element_id}"')
    return " ".join(body[start : body.index("</section>", start)].split())


# --- who sees what -----------------------------------------------------------------------------------
def test_anonymous_user_is_sent_to_login(client, estate):
    for response in (
        client.get(URL),
        client.get(URL, {"format": "csv"}),
        client.post(
            reverse("recommendation-status", args=[estate["recs"]["memory"].pk]), {"action": "accept"}
        ),
    ):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Recommendation.objects.get(pk=estate["recs"]["memory"].pk).status == "open"


def test_member_sees_their_teams_open_recommendations_ranked_by_saving(client, estate, member_search):
    client.force_login(member_search)
    response = client.get(URL)
    assert response.status_code == 200
    # 300 > 120.5 > costs 40 more > unknown (ranked by confidence: throttling 0.6, then quota 0.3). The
    # quota one is account-wide in prod/us-east-1, where the member sees endpoints.
    assert shown(response) == ids(estate, "gpu", "memory", "cold", "throttle", "quota")
    body = response.content.decode()
    assert "vision-detector" not in section(body, "recommendations-table") and "lab-model" not in body


def test_finops_admin_sees_every_teams_and_every_accounts(client, estate, finops_admin):
    client.force_login(finops_admin)
    response = client.get(URL)
    assert shown(response) == ids(
        estate, "vision", "gpu", "memory", "lab", "cold", "research", "throttle", "quota"
    )


def test_outsider_sees_an_empty_page(client, estate, outsider):
    client.force_login(outsider)
    response = client.get(URL)
    assert response.status_code == 200 and shown(response) == []
    body = response.content.decode()
    assert "No open recommendations" in body and "ask an admin to add you to a team" in body
    assert "No live serverless endpoints of your teams" in section(body, "quota-headroom")
    assert [r for r in csv_rows(client.get(URL, {"format": "csv"}))] == []


def test_member_of_another_team_sees_only_theirs(client, estate, django_user_model, team_vision):
    viktor = django_user_model.objects.create_user("viktor", password="correct horse battery")
    team_vision.members.add(viktor)
    client.force_login(viktor)
    assert shown(client.get(URL)) == ids(estate, "vision", "quota")


def test_inactive_recommendations_never_show(client, estate, finops_admin):
    client.force_login(finops_admin)
    assert estate["recs"]["inactive"].pk not in shown(client.get(URL, {"status": "all"}))


# --- filters and totals ------------------------------------------------------------------------------
def test_filters_by_status_rule_team_account_and_region(client, estate, finops_admin):
    client.force_login(finops_admin)
    assert shown(client.get(URL, {"status": "dismissed"})) == ids(estate, "dismissed")
    assert estate["recs"]["dismissed"].pk in shown(client.get(URL, {"status": "all"}))
    assert shown(client.get(URL, {"rule": rules.QUOTA})) == ids(estate, "research", "quota")
    assert shown(client.get(URL, {"team": "vision"})) == ids(estate, "vision")
    assert shown(client.get(URL, {"team": "none"})) == ids(estate, "lab", "research", "quota")
    assert shown(client.get(URL, {"account": "222222222222"})) == ids(estate, "lab", "research")
    assert shown(client.get(URL, {"region": "us-east-1", "rule": rules.IDLE_ENDPOINT})) == ids(
        estate, "vision"
    )


def test_a_team_the_member_cannot_see_is_a_bad_filter(client, estate, member_search):
    client.force_login(member_search)
    response = client.get(URL, {"team": "vision"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_open_savings_total_the_positive_savings_and_name_the_rest(client, estate, member_search):
    client.force_login(member_search)
    totals = section(client.get(URL).content.decode().replace("</p>", "</section>"), "rec-totals")
    assert "Open savings: <strong>420.50 USD a month</strong> over 5 open recommendations" in totals
    assert "the 1 that add capacity cost 40.00 USD a month more" in totals
    assert "2 with no saving figure" in totals
    # The totals are of the open ones whatever status the table shows.
    other = client.get(URL, {"status": "dismissed"}).content.decode()
    assert "420.50 USD a month" in other


def test_columns_say_costs_more_confidence_and_proposed_configuration(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(URL).content.decode()
    row = lambda name: " ".join(  # noqa: E731
        re.search(rf'<tr id="rec-{estate["recs"][name].pk}".*?</tr>', body, re.S).group(0).split()
    )
    assert "costs 40.00 USD more" in row("cold") and "provisioned concurrency 2" in row("cold")
    assert (
        "300.00 USD" in row("gpu")
        and "ml.g5.xlarge × 1" in row("gpu")
        and "now: ml.g5.2xlarge × 1" in row("gpu")
    )
    assert "high (90%)" in row("memory") and "medium (50%)" in row("gpu") and "low (30%)" in row("quota")
    assert f'href="{reverse("endpoint", args=[estate["endpoints"]["ranker"].pk])}"' in row("memory")
    assert "prod / us-east-1" in row("quota") and "account-wide" in row("quota")
    assert "memory 2048 MB" in row("memory") and "2026-11-20 10:17" in row("memory")
    assert rules.RULES[rules.MEMORY_OVER] in row("memory")


def test_each_row_expands_to_summary_evidence_warnings_and_window(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(URL).content.decode()
    cold = re.search(rf'<tr id="rec-{estate["recs"]["cold"].pk}".*?</tr>', body, re.S).group(0)
    details = " ".join(re.search(r"<details>.*?</details>", cold, re.S).group(0).split())
    assert "<summary>" in details and "Peak memory 1.2 GB of 6 GB over 14 days." in details
    assert "<dt>Peak memory</dt><dd>19.50%</dd>" in details
    assert (
        "<dt>Hours with data</dt><dd>310</dd>" in details
        and "<dt>Billed window</dt><dd>41.20</dd>" in details
    )
    assert "adds a fixed cost" in details
    assert "window 2026-11-06 10:17 – 2026-11-20 10:17 UTC (14 days)" in details


# --- accept, dismiss, reopen ------------------------------------------------------------------------
def status_url(rec) -> str:
    return reverse("recommendation-status", args=[rec.pk])


def test_accept_records_who_when_and_the_note_and_returns_to_the_filtered_page(client, estate, member_search):
    client.force_login(member_search)
    rec = estate["recs"]["memory"]
    back = f"{URL}?rule={rules.MEMORY_OVER}&status=open"
    response = client.post(
        status_url(rec), {"action": "accept", "note": "  done in ticket ML-12 ", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    rec.refresh_from_db()
    assert (rec.status, rec.status_changed_by, rec.status_changed_at) == ("accepted", member_search, NOW)
    assert rec.status_note == "done in ticket ML-12"
    page = client.get(back)
    assert shown(page) == [] and f"Accepted: {rec.title}" in page.content.decode()
    accepted = client.get(URL, {"status": "accepted"})
    assert shown(accepted) == [rec.pk] and "sam, 2026-11-20 10:17 UTC" in accepted.content.decode()


def test_dismiss_then_reopen(client, estate, member_search):
    client.force_login(member_search)
    rec = estate["recs"]["quota"]  # account-wide: the member may act on it too
    client.post(status_url(rec), {"action": "dismiss", "note": "we asked for a quota raise"})
    rec.refresh_from_db()
    assert (rec.status, rec.status_note) == ("dismissed", "we asked for a quota raise")
    response = client.post(status_url(rec), {"action": "reopen"})
    assert response["Location"] == URL  # no `next`: back to the page
    rec.refresh_from_db()
    assert (rec.status, rec.status_note, rec.status_changed_by) == ("open", "", member_search)


def test_nobody_acts_on_a_recommendation_they_cannot_see(client, estate, member_search, outsider):
    cases = [
        (outsider, "memory"),
        (outsider, "quota"),
        (member_search, "vision"),
        (member_search, "research"),
    ]
    for user, name in cases:
        client.force_login(user)
        assert client.post(status_url(estate["recs"][name]), {"action": "accept"}).status_code == 404, name
    assert (
        client.post(reverse("recommendation-status", args=[999999]), {"action": "accept"}).status_code == 404
    )
    assert set(Recommendation.objects.filter(status="accepted")) == set()


def test_status_changes_need_a_post_with_a_csrf_token_and_a_known_action(client, estate, member_search):
    rec = estate["recs"]["memory"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member_search)
    assert strict.post(status_url(rec), {"action": "accept"}).status_code == 403
    client.force_login(member_search)
    assert client.get(status_url(rec)).status_code == 405
    assert client.post(status_url(rec), {"action": "delete"}).status_code == 400
    assert client.post(status_url(rec), {"action": "accept", "note": "x" * 501}).status_code == 400
    rec.refresh_from_db()
    assert rec.status == "open" and rec.status_changed_at is None


def test_the_page_form_carries_the_csrf_token_and_the_filters_back(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(URL, {"rule": rules.MEMORY_OVER}).content.decode()
    form = re.search(
        r'<form method="post" action="/recommendations/\d+/status/".*?</form>', body, re.S
    ).group(0)
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'name="next" value="/recommendations/?rule={rules.MEMORY_OVER}"' in form
    assert 'value="accept"' in form and 'value="dismiss"' in form


def test_a_next_url_on_another_host_is_not_followed(client, estate, member_search):
    client.force_login(member_search)
    response = client.post(
        status_url(estate["recs"]["memory"]), {"action": "dismiss", "next": "https://evil.example/"}
    )
    assert response["Location"] == URL


# --- CSV -----------------------------------------------------------------------------------------------
def test_csv_has_the_tables_rows_in_the_same_order_with_plain_values(client, estate, member_search):
    client.force_login(member_search)
    page = client.get(URL, {"sort": "-confidence"})
    exported = csv_rows(client.get(URL, {"sort": "-confidence", "format": "csv"}))
    assert [int(r["Id"]) for r in exported] == shown(page)
    by_id = {int(r["Id"]): r for r in exported}
    cold = by_id[estate["recs"]["cold"].pk]
    assert cold["Monthly saving (negative: costs more)"] == "-40.0000" and cold["Currency"] == "USD"
    assert cold["Rule"] == rules.RULES[rules.COLD_STARTS] and cold["Rule key"] == rules.COLD_STARTS
    assert cold["Confidence (%)"] == "80.0" and cold["Confidence level"] == "high"
    assert (
        cold["Proposed configuration"] == "provisioned concurrency 2"
        and cold["Warnings"] == "adds a fixed cost"
    )
    assert cold["Status"] == "open" and cold["Window start"] == "2026-11-06T10:17:00+00:00"
    assert by_id[estate["recs"]["throttle"].pk]["Monthly saving (negative: costs more)"] == ""
    assert by_id[estate["recs"]["quota"].pk]["Endpoint / scope"] == "prod / us-east-1"


def test_csv_neutralises_a_title_a_spreadsheet_would_run(client, estate, member_search):
    Recommendation.objects.filter(pk=estate["recs"]["memory"].pk).update(
        title='=HYPERLINK("http://evil.example","click")', summary="+1 more"
    )
    client.force_login(member_search)
    exported = {int(r["Id"]): r for r in csv_rows(client.get(URL, {"format": "csv"}))}
    row = exported[estate["recs"]["memory"].pk]
    assert row["Recommendation"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["Summary"] == "'+1 more"


# --- quota headroom ----------------------------------------------------------------------------------
def test_quota_headroom_counts_every_team_but_names_only_visible_endpoints(client, estate, member_search):
    client.force_login(member_search)
    quotas = section(client.get(URL).content.decode(), "quota-headroom")
    assert 'data-scope="111111111111/us-east-1"' in quotas and "222222222222" not in quotas
    # ranker (30) and detector (50) are serverless in prod/us-east-1; the GPU endpoint does not count.
    assert "2 / 50" in quotas and "80 / 200" in quotas and "40%" in quotas
    assert "search-ranker</a> 30" in quotas and "vision-detector" not in quotas
    assert "another team's</span> 50" in quotas


def test_quota_headroom_for_a_finops_admin_covers_every_account_and_warns(client, estate, finops_admin):
    endpoint(estate["endpoints"]["lab"].account, "lab-big", None, region="eu-west-1", max_concurrency=160)
    client.force_login(finops_admin)
    quotas = section(client.get(URL).content.decode(), "quota-headroom")
    assert 'data-scope="111111111111/us-east-1"' in quotas and 'data-scope="222222222222/eu-west-1"' in quotas
    assert re.search(r'<tr data-scope="222222222222/eu-west-1" class="warn">', quotas)  # 170 of 200
    assert "lab-big</a> 160, " in quotas and "vision-detector</a> 50" in quotas
    filtered = section(client.get(URL, {"region": "eu-west-1"}).content.decode(), "quota-headroom")
    assert "111111111111" not in filtered and "170 / 200" in filtered


def test_nav_links_to_the_page(client, estate, member_search):
    client.force_login(member_search)
    assert f'<a href="{URL}">Recommendations</a>' in client.get(reverse("fleet")).content.decode()
    assert f'<a href="{URL}" aria-current="page">Recommendations</a>' in client.get(URL).content.decode()


# --- query counts --------------------------------------------------------------------------------------
def add_recommendations(estate, n: int):
    """`n` more recommendations on each endpoint and `n` account-wide ones in each account."""
    for i in range(n):
        for e in estate["endpoints"].values():
            make_rec(e, rule=rules.MEMORY_UNDER, saving=str(i - 2) if i % 3 else None)
        for account, region in (("111111111111", "us-east-1"), ("222222222222", "eu-west-1")):
            status = "accepted" if i % 2 else "open"
            account = AwsAccount.objects.get(account_id=account)
            make_rec(None, rule=rules.QUOTA, saving=None, account=account, region=region, status=status)


@pytest.mark.parametrize("who", ["member_search", "finops_admin"])
@pytest.mark.parametrize("params", [{}, {"status": "all", "sort": "team"}, {"format": "csv"}])
def test_query_count_does_not_grow_with_the_recommendations(client, estate, request, who, params):
    client.force_login(request.getfixturevalue(who))

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, params)
        assert response.status_code == 200
        return len(queries), response.content.count(b"\n")

    client.get(URL, params)  # warm up per-process caches
    add_recommendations(estate, 2)
    small, small_size = count()
    add_recommendations(estate, 8)  # 5x
    large, large_size = count()
    assert large_size > small_size  # the larger set is really on the page
    assert small == large, f"{small} queries with the small set, {large} with 5x"


def test_admin_shows_figures_read_only_and_records_who_changes_the_status(client, estate, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery")
    client.force_login(admin)
    rec = estate["recs"]["gpu"]
    assert client.get("/admin/dashboard/recommendation/").status_code == 200
    url = f"/admin/dashboard/recommendation/{rec.pk}/change/"
    form = client.get(url).content.decode()
    assert 'name="status"' in form and 'name="status_note"' in form
    assert 'name="monthly_saving"' not in form and 'name="title"' not in form  # the engine's, not ours
    response = client.post(url, {"status": "accepted", "status_note": "resized in Terraform"})
    assert response.status_code == 302
    rec.refresh_from_db()
    assert (rec.status, rec.status_note, rec.status_changed_by) == ("accepted", "resized in Terraform", admin)
    assert rec.monthly_saving == Decimal("300") and rec.status_changed_at is not None
    assert client.get("/admin/dashboard/recommendation/add/").status_code == 403
