"""Response hardening: the Content-Security-Policy on every page (scripts from our own origin only, no
inline script in any template), and, with the production settings (SECURE_HTTPS=1), HSTS, an HTTPS
redirect and cookies marked Secure and HttpOnly. The browser test checks the same policy in Chromium:
no violation while the pages and their plotly charts are drawn."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/endpoints/{pk}/", "/alerts/rules/new/", "/login/", "/admin/"])
def test_pages_send_a_policy_that_runs_only_our_own_scripts(client, estate, member_search, path):
    client.force_login(estate["superuser"] if path == "/admin/" else member_search)
    response = client.get(path.format(pk=estate["search"].endpoint.pk))
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["connect-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # plotly.js: see settings.py


def test_no_template_has_an_inline_script_or_event_handler():
    """What script-src 'self' would block: <script> with a body that runs (JSON data blocks do not),
    on*= attributes, javascript: links. The pages' scripts live in static/js."""
    found = []
    for template in (ROOT / "templates").rglob("*.html"):
        source = template.read_text()
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", source, re.S):
            attributes, body = match.groups()
            if body.strip() and 'type="application/json"' not in attributes:
                found.append(f"{template.relative_to(ROOT)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", source) or "javascript:" in source:
            found.append(f"{template.relative_to(ROOT)}: event handler or javascript: URL")
    assert found == []


PRODUCTION_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

client = Client(HTTP_HOST="localhost")
plain = client.get("/login/")
secure = client.get("/login/", secure=True)
cookie = secure.cookies["csrftoken"]
print(json.dumps({
    "redirect": [plain.status_code, plain.get("Location")],
    "hsts": secure.get("Strict-Transport-Security"),
    "csp": secure.get("Content-Security-Policy"),
    "csrf_cookie": {"secure": bool(cookie["secure"]), "samesite": cookie["samesite"]},
    "session_cookie": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY],
}))
"""


def test_production_settings_send_hsts_redirect_to_https_and_mark_cookies_secure():
    env = {**os.environ, "SECRET_KEY": "p" * 30 + "Q7!x" * 10, "DEBUG": "0", "SECURE_HTTPS": "1",
           "DJANGO_SETTINGS_MODULE": "dashboard.settings"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["redirect"] == [301, "https://localhost/login/"]
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in seen["csp"]
    assert seen["csrf_cookie"] == {"secure": True, "samesite": "Lax"}
    assert seen["session_cookie"] == [True, True]
