"""Slack incoming-webhook URLs: https only, on an allowed host (SLACK_WEBHOOK_HOSTS), so a URL typed in
the UI cannot make the server call arbitrary hosts (SSRF) or send the message in clear text."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def validate_webhook_url(url: str) -> str:
    """The URL, stripped, or a ValidationError saying what is wrong (never echoing the secret path)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("not a valid URL") from None
    if parts.scheme != "https":
        raise ValidationError("a Slack webhook URL must start with https://")
    host = (parts.hostname or "").lower()
    allowed = [h.lower() for h in settings.SLACK_WEBHOOK_HOSTS]
    if host not in allowed:
        raise ValidationError(f"host {host or '(none)'} is not allowed; allowed: {', '.join(allowed)}")
    if parts.username or parts.password:
        raise ValidationError("a webhook URL carries no user name or password")
    if port not in (None, 443) and host == "hooks.slack.com":
        raise ValidationError("Slack webhooks are served on port 443")
    if len(parts.path) < 2:
        raise ValidationError("the URL has no webhook path")
    return url
