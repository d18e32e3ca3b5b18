"""A person's path through the dashboard in real Chromium: log in, open the fleet, filter it, open an
endpoint and see its charts drawn. Screenshots land in artifacts/screenshots/."""

import pytest

pytestmark = pytest.mark.slow


def log_in(page, site):
    page.goto(f"{site['url']}/")
    assert "/login/" in page.url  # anonymous users are sent to log in
    page.fill("#id_username", "admin")
    page.fill("#id_password", site["password"])
    page.click("button[type=submit]")
    page.wait_for_selector("#fleet-table")


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


def test_team_page_in_chromium(simulated_site, page, screenshot):
    log_in(page, simulated_site)
    page.goto(f"{simulated_site['url']}/teams/search/")
    page.wait_for_selector("main")
    assert "search" in page.inner_text("main").lower()
    screenshot("team-search")
