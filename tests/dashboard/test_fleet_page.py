"""The first page: login required, then the fleet list scoped to the user's teams, its totals, filters,
sorting, time range and CSV export, and the freshness line every page carries."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db.models import Sum
from django.urls import reverse

from dashboard.models import (
    AwsAccount,
    CollectionRun,
    Endpoint,
    EndpointCost,
    MetricPoint,
    ProductionVariant,
    Team,
)
from dashboard.services.costs import best_costs
from dashboard.services.figures import endpoint_figures, parse_range
from dashboard.tables import UNKNOWN, millis, money, number, percent
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 simulated endpoints, 3 days)
from tests.conftest import NOW


# --- helpers shared by the page tests ------------------------------------------------------------------
@pytest.fixture
def page_clock(monkeypatch):
    """Pages compute ranges and month-to-date from their clock: the time the fleet was collected at."""
    monkeypatch.setattr("dashboard.views.fleet.clock", lambda: NOW)
    return NOW


class _TableReader(HTMLParser):
    """Reads #fleet-table into {endpoint name: {column key: cell text}}, in page order."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.headers: list[tuple[str, str | None]] = []  # (text, sort link)
        self._in_table = self._in_th = False
        self._row = self._col = None
        self._text: list[str] = []
        self._href = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "fleet-table":
            self._in_table = True
        if not self._in_table:
            return
        if tag == "tr" and "data-endpoint" in a:
            self._row = self.rows.setdefault(a["data-endpoint"], {})
        elif tag == "td" and self._row is not None:
            self._col, self._text = a.get("data-col"), []
        elif tag == "th":
            self._in_th, self._text, self._href = True, [], None
        elif tag == "a" and self._in_th:
            self._href = a.get("href")

    def handle_endtag(self, tag):
        if not self._in_table:
            return
        if tag == "td" and self._col:
            self._row[self._col] = " ".join("".join(self._text).split())
            self._col = None
        elif tag == "th" and self._in_th:
            self.headers.append((" ".join("".join(self._text).split()), self._href))
            self._in_th = False
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._col or self._in_th:
            self._text.append(data)


def table_of(response) -> _TableReader:
    reader = _TableReader()
    reader.feed(response.content.decode())
    return reader


def rows_of(response) -> dict[str, dict[str, str]]:
    return table_of(response).rows


def csv_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def user_in_team(django_user_model, slug: str, username: str = "member"):
    user = django_user_model.objects.create_user(username, password="correct horse battery")
    Team.objects.get(slug=slug).members.add(user)
    return user


# --- a small hand-made fleet ---------------------------------------------------------------------------
@pytest.fixture
def small_fleet(db, team_search, team_vision):
    account = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])
    rows = {
        "search-ranker": (team_search, dict(kind="serverless", memory_mb=6144, max_concurrency=20)),
        "vision-detector": (
            team_vision, dict(kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=2)
        ),
        "orphan": (None, dict(kind="serverless", memory_mb=1024, max_concurrency=5)),
    }  # fmt: skip
    for name, (team, variant) in rows.items():
        endpoint = Endpoint.objects.create(
            account=account, region="us-east-1", name=name, status="InService", team=team,
            arn=f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{name}", first_seen=NOW, last_seen=NOW,
        )  # fmt: skip
        ProductionVariant.objects.create(
            endpoint=endpoint, name="AllTraffic", first_seen=NOW, last_seen=NOW, **variant
        )
    CollectionRun.objects.create(
        kind="inventory", account=account, region="us-east-1", started_at=NOW, finished_at=NOW, status="ok"
    )
    return account


def names_on_page(response):
    return sorted(
        Endpoint.objects.filter(pk__in=[e.pk for e in response.context["endpoints"]]).values_list(
            "name", flat=True
        )
    )


def test_anonymous_user_is_sent_to_login(client, small_fleet):
    for params in ({}, {"format": "csv"}):
        response = client.get(reverse("fleet"), params)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_for_anonymous(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_team_member_sees_only_their_teams_endpoints(client, small_fleet, member_search):
    client.force_login(member_search)
    response = client.get(reverse("fleet"))
    assert response.status_code == 200
    assert names_on_page(response) == ["search-ranker"]
    assert b"vision-detector" not in response.content and b"orphan" not in response.content
    assert b"6 GB, max 20" in response.content


def test_user_with_no_team_sees_nothing(client, small_fleet, outsider):
    client.force_login(outsider)
    response = client.get(reverse("fleet"))
    assert names_on_page(response) == []
    assert b"search-ranker" not in response.content
    assert "ask an admin to add you to a team" in response.content.decode()


def test_finops_admin_sees_every_endpoint_with_shape_and_gpus(client, small_fleet, finops_admin):
    client.force_login(finops_admin)
    response = client.get(reverse("fleet"))
    assert names_on_page(response) == ["orphan", "search-ranker", "vision-detector"]
    body = response.content.decode()
    assert "ml.g5.xlarge x 2" in body
    assert "1× NVIDIA A10G (24 GiB)" in body
    assert "2026-11-20 10:17" in body  # when inventory was last collected


def test_deleted_endpoints_are_hidden_unless_asked_for(client, small_fleet, finops_admin):
    Endpoint.objects.filter(name="orphan").update(deleted_at=NOW)
    client.force_login(finops_admin)
    assert "orphan" not in names_on_page(client.get(reverse("fleet")))
    shown = client.get(reverse("fleet"), {"deleted": "1"})
    assert "orphan" in names_on_page(shown)
    assert "deleted" in rows_of(shown)["orphan"]["name"]


def test_failing_collection_is_shown(client, small_fleet, finops_admin):
    CollectionRun.objects.create(
        kind="inventory", account=small_fleet, region="us-east-1", started_at=NOW.replace(hour=11),
        finished_at=NOW.replace(hour=11), status="failed", errors=["AccessDenied: not authorized"],
    )  # fmt: skip
    client.force_login(finops_admin)
    body = client.get(reverse("fleet")).content.decode()
    assert "Inventory collection is failing" in body
    assert "111111111111/us-east-1: AccessDenied: not authorized" in body


def test_freshness_line_names_every_source_and_says_never_for_uncollected(client, small_fleet, finops_admin):
    CollectionRun.objects.create(
        kind="metrics", account=small_fleet, region="us-east-1", started_at=NOW - timedelta(minutes=5),
        finished_at=NOW - timedelta(minutes=5), status="ok",
    )  # fmt: skip
    client.force_login(finops_admin)
    body = client.get(reverse("fleet")).content.decode()
    line = " ".join(body[body.index('id="freshness"') : body.index("<main>")].split())
    assert 'id="freshness-inventory"' in line
    assert "Inventory collected" in line and "Metrics collected" in line
    assert "Costs never collected" in line


def test_metrics_never_collected_show_unknown_not_zero(client, small_fleet, finops_admin):
    client.force_login(finops_admin)
    cells = rows_of(client.get(reverse("fleet")))["search-ranker"]
    for col in ("invocations", "p50", "p99", "error_rate", "cold_start_rate", "throttle", "mtd_cost", "cost"):
        assert cells[col] == UNKNOWN, col
    assert cells["flags"] == "no metrics"  # not "idle": nobody knows


def test_healthz_needs_no_login_and_reveals_nothing_else(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_navigation_lists_the_users_teams_and_admin_only_for_staff(client, small_fleet, member_search):
    client.force_login(member_search)
    body = client.get(reverse("fleet")).content.decode()
    nav = body[body.index('<nav aria-label="Main">') : body.index("</nav>")]
    assert reverse("team", args=["search"]) in nav and reverse("team", args=["vision"]) not in nav
    assert "Admin" not in nav and "Log out" in nav and "sam" in nav
    member_search.is_staff = True
    member_search.save()
    nav = client.get(reverse("fleet")).content.decode()
    assert reverse("admin:index") in nav


# --- time range ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, message",
    [
        ({"range": "1y"}, "unknown range"),
        ({"range": "custom", "start": "2026-11-05", "end": "2026-11-01"}, "ends before it starts"),
        ({"range": "custom", "start": "yesterday"}, "YYYY-MM-DD"),
    ],
)
def test_bad_range_is_a_400_with_the_message_and_the_form(client, small_fleet, finops_admin, params, message):
    client.force_login(finops_admin)
    response = client.get(reverse("fleet"), params)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and 'role="alert"' in body
    assert '<form method="get" class="filters"' in body and 'name="range"' in body
    assert 'id="fleet-table"' not in body
    assert client.get(reverse("fleet"), {**params, "format": "csv"}).status_code == 400


def test_custom_range_is_echoed_in_the_picker(client, small_fleet, finops_admin, page_clock):
    client.force_login(finops_admin)
    response = client.get(reverse("fleet"), {"range": "custom", "start": "2026-11-01", "end": "2026-11-10"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="2026-11-01"' in body and 'value="2026-11-10"' in body
    assert '<option value="custom" selected>' in body
    assert "2026-11-01 to 2026-11-10" in body


# --- a realistic fleet: figures, filters, sorting, export ----------------------------------------------
def test_fleet_page_shows_the_figures_computed_from_stored_rows(client, fleet, finops_admin, page_clock):  # noqa: F811
    client.force_login(finops_admin)
    response = client.get(reverse("fleet"), {"range": "7d"})
    assert response.status_code == 200
    rows = rows_of(response)
    endpoints = list(Endpoint.objects.filter(deleted_at=None))
    assert sorted(rows) == sorted(e.name for e in endpoints)

    rng = parse_range({"range": "7d"}, NOW)
    figures = endpoint_figures([e.pk for e in endpoints], rng, today=NOW.date())
    month = NOW.date().replace(day=1), NOW.date() + timedelta(days=1)
    for endpoint in endpoints:
        cells, f = rows[endpoint.name], figures[endpoint.pk]
        # Costs straight from the stored per-endpoint costs (best source per day).
        mtd = best_costs([endpoint.pk], *month)
        expected_mtd = money(sum((c.amount for c in mtd), Decimal(0)), "USD") if mtd else UNKNOWN
        assert cells["mtd_cost"] == expected_mtd, endpoint.name
        in_range = best_costs([endpoint.pk], *rng.days)
        expected_cost = money(sum((c.amount for c in in_range), Decimal(0)), "USD") if in_range else UNKNOWN
        assert cells["cost"] == expected_cost
        # Invocations straight from the stored points.
        invocations = MetricPoint.objects.filter(
            series__variant__endpoint=endpoint,
            series__metric="Invocations",
            ts__gte=rng.start,
            ts__lt=rng.end,
        ).aggregate(s=Sum("value"))["s"]
        assert cells["invocations"] == number(invocations or 0)
        assert (
            cells["p50"] == millis(f.p50) and cells["p95"] == millis(f.p95) and cells["p99"] == millis(f.p99)
        )
        assert cells["error_rate"] == percent(f.error_rate)
        assert cells["cost_per_1k"] == money(f.cost_per_1k, "USD", small=True)
        assert cells["throttle"] == percent(f.throttle)
        assert cells["flags"] == (" ".join(f.flags) or "")
        for source in f.cost_sources | f.mtd_sources:
            assert {"resource": "R", "tag": "T", "estimate": "E"}[source] in cells["sources"]
        aws_estimated = EndpointCost.objects.filter(
            endpoint=endpoint,
            day__gte=min(rng.days[0], month[0]),
            source__in=["resource", "tag"],
            estimated=True,
        ).exists()
        assert ("est." in cells["sources"]) == aws_estimated, endpoint.name

    assert any("est." in cells["sources"] for cells in rows.values())  # recent days are not final yet
    totals_mtd = sum((c.amount for c in best_costs([e.pk for e in endpoints], *month)), Decimal(0))
    body = response.content.decode()
    card = body[body.index('id="card-mtd"') :][:400]
    assert money(totals_mtd, "USD") in card
    assert "Cost Explorer resource-level data" in body  # the legend of the source markers
    assert "derived from concurrency utilisation" in body  # throttle is not a throttle count


def test_serverless_memory_peak_reads_against_configured_memory(client, fleet, finops_admin, page_clock):  # noqa: F811
    client.force_login(finops_admin)
    rows = rows_of(client.get(reverse("fleet")))
    endpoint = Endpoint.objects.get(name="search-embed-serverless")  # 6 GB configured, ~900 MB used
    f = endpoint_figures([endpoint.pk], parse_range({}, NOW), today=NOW.date())[endpoint.pk]
    assert rows[endpoint.name]["peak_use"] == f"{f.memory_peak / 100 * 6:.1f} of 6 GB ({f.memory_peak:.0f}%)"
    gpu = Endpoint.objects.get(name="vision-batch-p4d")
    g = endpoint_figures([gpu.pk], parse_range({}, NOW), today=NOW.date())[gpu.pk]
    assert rows[gpu.name]["peak_use"] == f"{g.gpu_peak:.0f}% of 8 GPUs"
    assert "low-gpu-use" in rows[gpu.name]["flags"]


def test_team_member_sees_only_their_team_in_page_and_export(client, fleet, django_user_model, page_clock):  # noqa: F811
    client.force_login(user_in_team(django_user_model, "search"))
    search = set(Endpoint.objects.filter(team__slug="search", deleted_at=None).values_list("name", flat=True))
    assert set(rows_of(client.get(reverse("fleet")))) == search
    exported = csv_rows(client.get(reverse("fleet"), {"format": "csv"}))
    assert {r["Endpoint"] for r in exported} == search
    assert {r["Team"] for r in exported} == {"search"}


def test_outsider_sees_nothing_of_other_teams_in_page_or_export(client, fleet, outsider, page_clock):  # noqa: F811
    client.force_login(outsider)
    response = client.get(reverse("fleet"))
    assert rows_of(response) == {}
    body = response.content.decode()
    for name in Endpoint.objects.values_list("name", flat=True):
        assert name not in body
    assert csv_rows(client.get(reverse("fleet"), {"format": "csv"})) == []
    # Filtering by a team the user cannot see is refused, not answered with that team's rows.
    assert client.get(reverse("fleet"), {"team": "search"}).status_code == 400


def test_filters_by_team_account_region_kind_and_flag(client, fleet, finops_admin, page_clock):  # noqa: F811
    client.force_login(finops_admin)
    live = Endpoint.objects.filter(deleted_at=None)
    some = live.exclude(team=None).select_related("account", "team").first()
    cases = {
        "team": (some.team.slug, {e.name for e in live.filter(team=some.team)}),
        "account": (some.account.account_id, {e.name for e in live.filter(account=some.account)}),
        "region": (some.region, {e.name for e in live.filter(region=some.region)}),
        "kind": ("serverless", {e.name for e in live if e.kind == "serverless"}),
        "team-none": ("none", {e.name for e in live.filter(team=None)}),
    }
    for key, (value, expected) in cases.items():
        param = key.split("-")[0]
        response = client.get(reverse("fleet"), {param: value})
        assert response.status_code == 200, key
        assert set(rows_of(response)) == expected, key
        assert expected, key

    figures = endpoint_figures([e.pk for e in live], parse_range({}, NOW), today=NOW.date())
    for flag in ("idle", "throttling", "low-memory-use", "low-gpu-use", "cold-starts"):
        expected = {e.name for e in live if flag in figures[e.pk].flags}
        assert expected, flag  # the simulated fleet plays every one of these roles
        assert set(rows_of(client.get(reverse("fleet"), {"flag": flag}))) == expected, flag


def test_totals_cover_the_filtered_rows(client, fleet, finops_admin, page_clock):  # noqa: F811
    client.force_login(finops_admin)
    response = client.get(reverse("fleet"), {"kind": "serverless"})
    ids = [e.pk for e in response.context["endpoints"]]
    month = NOW.date().replace(day=1), NOW.date() + timedelta(days=1)
    expected = sum((c.amount for c in best_costs(ids, *month)), Decimal(0))
    assert response.context["totals"].mtd_cost == expected
    assert response.context["totals"].endpoints == len(ids)


def test_sorting_by_a_column_both_ways_keeps_unknown_values_last(client, fleet, finops_admin, page_clock):  # noqa: F811
    # One endpoint just discovered: no metrics, no costs yet.
    known = Endpoint.objects.select_related("account").first()
    new = Endpoint.objects.create(
        account=known.account, region=known.region, name="just-discovered", arn="arn:new", status="Creating",
        team=known.team, first_seen=NOW, last_seen=NOW,
    )  # fmt: skip
    ProductionVariant.objects.create(
        endpoint=new, name="AllTraffic", kind="serverless", memory_mb=2048, max_concurrency=5,
        first_seen=NOW, last_seen=NOW,
    )  # fmt: skip
    client.force_login(finops_admin)
    for sort in ("p99", "-p99", "mtd_cost", "-mtd_cost", "cold_start_rate", "-cold_start_rate"):
        response = client.get(reverse("fleet"), {"sort": sort})
        column = sort.lstrip("-")
        values = [cells[column] for cells in rows_of(response).values()]
        known = [v for v in values if v != UNKNOWN]
        assert values[-1] == UNKNOWN, sort
        assert values == known + [UNKNOWN] * (len(values) - len(known)), sort
        numbers = [float(v.split()[0].replace(",", "").rstrip("%")) for v in known]
        assert numbers == sorted(numbers, reverse=sort.startswith("-")), sort


def test_sort_links_in_headers_toggle_and_keep_the_filters(client, fleet, finops_admin, page_clock):  # noqa: F811
    client.force_login(finops_admin)
    headers = dict(table_of(client.get(reverse("fleet"), {"kind": "serverless", "sort": "-p99"})).headers)
    assert headers["p99 ms▼"] == "?kind=serverless&sort=p99"  # sorted descending: next click ascending
    assert headers["Invocations"] == "?kind=serverless&sort=-invocations"  # numbers: biggest first
    assert headers["Endpoint"] == "?kind=serverless&sort=name"
    names = list(rows_of(client.get(reverse("fleet"), {"sort": "name"})))
    assert names == sorted(names)


def test_csv_export_has_the_same_rows_in_the_same_order(client, fleet, finops_admin, page_clock):  # noqa: F811
    client.force_login(finops_admin)
    params = {"range": "30d", "sort": "-invocations", "kind": "serverless"}
    page = rows_of(client.get(reverse("fleet"), params))
    response = client.get(reverse("fleet"), {**params, "format": "csv"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    exported = csv_rows(response)
    assert [r["Endpoint"] for r in exported] == list(page)
    for row in exported:
        shown = page[row["Endpoint"]]["invocations"]
        assert shown == (number(float(row["Invocations"])) if row["Invocations"] else UNKNOWN)
        if row["MTD cost"]:
            assert money(Decimal(row["MTD cost"]), "USD") == page[row["Endpoint"]]["mtd_cost"]
        assert row["Account id"] and row["Region"]
        assert set(row["Cost source"].split("+")) <= {"", "resource", "tag", "estimate"}


def test_csv_export_neutralises_formulas_from_names_and_tags(client, small_fleet, finops_admin, team_search):
    # update(), not save(): saving a team remaps endpoints from their tags, and these have none.
    evil = '=HYPERLINK("http://evil.example","click")'
    Team.objects.filter(pk=team_search.pk).update(name=evil)
    Endpoint.objects.filter(name="orphan").update(name="-2+3")
    AwsAccount.objects.filter(pk=small_fleet.pk).update(label="@SUM(A1:A9)")
    client.force_login(finops_admin)
    exported = {r["Endpoint"]: r for r in csv_rows(client.get(reverse("fleet"), {"format": "csv"}))}
    assert exported["search-ranker"]["Team"] == "'" + evil
    assert "'-2+3" in exported
    assert {r["Account label"] for r in exported.values()} == {"'@SUM(A1:A9)"}
    # The page shows them as they are, escaped.
    body = client.get(reverse("fleet")).content.decode()
    assert "=HYPERLINK(&quot;http://evil.example&quot;,&quot;click&quot;)" in body


def test_a_long_table_is_paged_while_totals_sorting_and_export_cover_every_row(
    client, small_fleet, finops_admin, team_search, monkeypatch
):
    monkeypatch.setattr("dashboard.views.fleet.PAGE_SIZE", 2)
    for i in range(4):  # 3 + 4 = 7 endpoints: pages of 2, 2, 2, 1
        endpoint = Endpoint.objects.create(
            account=small_fleet, region="us-east-1", name=f"extra-{i}", status="InService", team=team_search,
            arn=f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/extra-{i}", first_seen=NOW, last_seen=NOW,
        )  # fmt: skip
        ProductionVariant.objects.create(
            endpoint=endpoint, name="AllTraffic", kind="serverless", memory_mb=1024, max_concurrency=5,
            first_seen=NOW, last_seen=NOW,
        )  # fmt: skip
    client.force_login(finops_admin)
    every = sorted(Endpoint.objects.values_list("name", flat=True))
    seen = []
    for page in ("1", "2", "3", "4"):
        response = client.get(reverse("fleet"), {"sort": "name", "page": page})
        names = list(rows_of(response))
        assert len(names) == (2 if page != "4" else 1)
        seen += names
        assert response.context["totals"].endpoints == 7  # the cards count every row, not the page's
        body = response.content.decode()
        assert f"Page {page} of 4" in body and "7 endpoints" in body
        assert ('rel="next"' in body) == (page != "4") and ('rel="prev"' in body) == (page != "1")
    assert seen == every  # sorted first, then cut: the pages follow each other
    assert list(rows_of(client.get(reverse("fleet"), {"sort": "name", "page": "99"}))) == every[-1:]
    assert list(rows_of(client.get(reverse("fleet"), {"sort": "name", "page": "x"}))) == every[:2]
    headers = dict(table_of(client.get(reverse("fleet"), {"sort": "name", "page": "3"})).headers)
    assert "page=" not in headers["Endpoint▲"]  # a new sort starts at the first page
    exported = csv_rows(client.get(reverse("fleet"), {"sort": "name", "page": "2", "format": "csv"}))
    assert [r["Endpoint"] for r in exported] == every
