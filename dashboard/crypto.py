"""Secrets entered in the UI (Slack webhook URLs) are stored encrypted with Fernet (AES-128-CBC + HMAC).

Keys come from the environment: ENCRYPTION_KEYS (or ENCRYPTION_KEYS_FILE), a comma-separated list of
Fernet keys, the first encrypts and all decrypt, so a key can be rotated by prepending a new one. When
it is unset, one key is derived from SECRET_KEY with HKDF, so rotating SECRET_KEY then makes stored
secrets unreadable (they must be entered again): production should set ENCRYPTION_KEYS."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def derived_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dashboard-field-encryption").derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    material = [k.encode() for k in keys] or [derived_key(secret_key)]
    return MultiFernet([Fernet(k) for k in material])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable("stored secret cannot be decrypted with the configured keys") from None
