"""API tokens: a bearer token acts as its user (same team scoping). Only a SHA-256 hash of the token is
stored; the token itself is shown once, when it is issued."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# "smd_<8 hex: the prefix>_<43 url-safe characters: 256 random bits>". The prefix is not secret: it names
# the token in listings and finds its row, and the hash comparison does the rest.
TOKEN_RE = re.compile(r"^(smd_[0-9a-f]{8})_[A-Za-z0-9_-]{43}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="what the token is for, e.g. 'grafana'")
    prefix = models.CharField(
        max_length=12, unique=True, help_text="first characters of the token, for display"
    )
    key_hash = models.CharField(max_length=64, unique=True, help_text="sha256 hex of the token")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """A new token for `user`: the row, and the token itself (returned here only, never stored)."""
        while True:
            prefix = f"smd_{secrets.token_hex(4)}"
            if not cls.objects.filter(prefix=prefix).exists():
                break
        token = f"{prefix}_{secrets.token_urlsafe(32)}"
        row = cls.objects.create(user=user, name=name, prefix=prefix, key_hash=hash_token(token))
        return row, token

    @classmethod
    def find(cls, token: str) -> ApiToken | None:
        """The live token row for `token` (user loaded), or None: malformed, unknown, revoked, or its user
        is inactive."""
        match = TOKEN_RE.match(token)
        if not match:
            return None
        row = cls.objects.select_related("user").filter(prefix=match.group(1)).first()
        if row is None or not hmac.compare_digest(row.key_hash, hash_token(token)):
            return None
        if row.revoked_at is not None or not row.user.is_active:
            return None
        return row
