"""A person's path through the dashboard in real Chromium: log in, open the fleet, filter it, open an
endpoint and see its charts drawn, every page under the project's Content-Security-Policy with no
violation reported in the console. Screenshots land in artifacts/screenshots/."""

import pytest

pytestmark = pytest.mark.slow


def log_in(page, site):
    response = page.goto(f"{site['url']}/")
    assert "/login/" in page.url  # anonymous users are sent to log in
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#id_username", "admin")
    page.fill("#id_password", site["password"])
    page.click("button[type=submit]")
    page.wait_for_selector("#fleet-table")


def assert_no_csp_violation(page):
    """Chromium reports every blocked script, style, image or connection in the console ("Refused to ...
    because it violates the following Content Security Policy directive")."""
    violations = [m for m in page.console_log if "Content Security Policy" in m]
    assert violations == [], violations
    assert not [m for m in page.console_log if m.startswith("pageerror")], page.console_log


def test_log_in_filter_the_fleet_and_open_an_endpoints_charts(simulated_site, page, screenshot):
    log_in(page, simulated_site)
    names = page.eval_on_selector_all(
        "#fleet-table tr[data-endpoint]", "rows => rows.map(r => r.dataset.endpoint)"
    )
    assert len(names) == len(simulated_site["sim"].fleet.endpoints)
    screenshot("fleet")

    page.select_option("#filters select[name=team]", label="search")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#fleet-table")
    filtered = page.eval_on_selector_all(
        "#fleet-table tr[data-endpoint]", "rows => rows.map(r => r.dataset.endpoint)"
    )
    expected = {e.name for e in simulated_site["sim"].fleet.endpoints if e.tags.get("team") == "search"}
    assert filtered and set(filtered) == expected
    screenshot("fleet-filtered-search")

    page.click(f"#fleet-table tr[data-endpoint='{sorted(expected)[0]}'] a")
    page.wait_for_selector("[data-chart] .main-svg")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(d => d.querySelector('.main-svg'))"
    )
    charts = page.eval_on_selector_all(
        "[data-chart]",
        """divs => divs.map(d => ({
            name: d.dataset.chart,
            svg: !!d.querySelector('svg.main-svg'),
            traces: (d.data || []).length,
            points: (d.data || []).reduce((n, t) => n + (t.y || []).filter(v => v !== null).length, 0),
        }))""",
    )
    assert len(charts) >= 6
    assert all(c["svg"] for c in charts), charts
    drawn = [c for c in charts if c["points"] > 0]
    assert {"invocations", "latency"} <= {c["name"] for c in drawn}, charts
    screenshot("endpoint-detail")
    assert_no_csp_violation(page)


def test_team_page_in_chromium(simulated_site, page, screenshot):
    log_in(page, simulated_site)
    page.goto(f"{simulated_site['url']}/teams/search/")
    page.wait_for_selector("main")
    assert "search" in page.inner_text("main").lower()
    page.wait_for_function(  # the weekly cost chart, drawn under the same policy
        "() => document.querySelector('[data-chart]')?.querySelector('svg.main-svg')"
    )
    screenshot("team-search")
    assert_no_csp_violation(page)


def test_recommendations_ranked_opened_and_dismissed_in_chromium(simulated_site, page, screenshot):
    from dashboard.insights.engine import recompute
    from dashboard.insights.model import MEMORY_OVER, Thresholds
    from dashboard.models import Recommendation
    from tests.conftest import NOW

    # The site holds 3 days of metrics: a 24-hour minimum lets the engine conclude on them.
    recompute(NOW, thresholds=Thresholds(min_data_hours=24))
    rec = Recommendation.objects.get(rule=MEMORY_OVER, endpoint__name="search-embed-serverless")

    log_in(page, simulated_site)
    page.goto(f"{simulated_site['url']}/recommendations/")
    rows = page.eval_on_selector_all(
        "#recommendations-table tr[data-rec]", "rows => rows.map(r => r.dataset.rec)"
    )
    assert str(rec.pk) in rows and len(rows) == Recommendation.objects.filter(status="open").count()
    page.click(f"#rec-{rec.pk} details summary")
    assert "fewer vCPUs" in page.inner_text(f"#rec-{rec.pk}")
    screenshot("recommendations-open")

    page.fill(f"#rec-{rec.pk} input[name=note]", "embedding model doubles in Q1")
    page.click(f"#rec-{rec.pk} button.dismiss")
    page.wait_for_selector("#messages")
    rec.refresh_from_db()
    assert rec.status == "dismissed" and rec.status_note == "embedding model doubles in Q1"
    assert f"rec-{rec.pk}" not in page.content()  # the default view lists open ones
    screenshot("recommendations-after-dismiss")
    assert_no_csp_violation(page)
