"""The client address login failures are counted against (settings.AXES_CLIENT_IP_CALLABLE).

Behind a proxy (BEHIND_PROXY=1) REMOTE_ADDR is the proxy's own address, the same for everyone, so the
last X-Forwarded-For entry is taken: the address our proxy saw and appended. Never the first one, which
the client writes itself and could change on every try."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    if settings.SECURE_PROXY_SSL_HEADER:  # set exactly when BEHIND_PROXY=1
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")
