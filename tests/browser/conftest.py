"""Browser tests: Debian's chromium driven by Playwright (never a browser Playwright downloads), against
Django's live server on the real Postgres test database, with the simulated fleet collected into it.
Screenshots go to artifacts/screenshots/ (kept by CI as artefacts)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic", "--no-first-run"]  # fmt: skip


def chromium_missing() -> bool:
    return not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM))


@pytest.fixture(scope="module")
def browser():
    if chromium_missing():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django then refuses ORM calls from it
    # (the fixtures that write the test data). The tests are not async code: Django's documented
    # escape hatch applies.
    # Only for these tests: it must not leak into later tests' subprocesses (check --deploy flags it).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser):
    """A tab that keeps what its pages wrote to the console (page.console_log): the browser reports each
    Content-Security-Policy violation there, so tests can assert there was none."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.console_log = []
    tab.on("console", lambda message: tab.console_log.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: tab.console_log.append(f"pageerror: {error}"))
    yield tab
    context.close()


@pytest.fixture
def screenshot(page):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def simulated_site(transactional_db, live_server, django_user_model):
    """An 8-endpoint simulated fleet with 3 days of metrics and costs, committed for the live server."""
    from collectors.simulator import SimulatedAWS
    from tests.conftest import NOW
    from tests.support.fleet import collect_fleet

    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8)
    collect_fleet(sim, metric_days=3, cost_days=3)
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "browser-test-password")
    yield {"sim": sim, "url": live_server.url, "admin": admin, "password": "browser-test-password"}
