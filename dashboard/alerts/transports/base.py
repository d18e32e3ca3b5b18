"""What every transport shares: `notify(message)` either returns or raises a TransportError that says
whether retrying can help; HttpTransport posts JSON over verified TLS and classifies the answer.

Retries are the outbox's job (dashboard/alerts/delivery.py: backoff, Retry-After, a bounded number of
attempts), so a transport makes exactly one attempt and never sleeps."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache

import urllib3
from django.conf import settings
from urllib3.util.ssl_ import create_urllib3_context

# Slack's error bodies are short words ("no_service"); anything longer is cut so a page of HTML from a
# proxy does not end up in last_error.
MAX_BODY_IN_ERROR = 200


@dataclass(frozen=True)
class DeliveryResult:
    status_code: int | None = None
    detail: str = ""


class TransportError(Exception):
    """A failed send. `permanent`: retrying will not help. `disable_channel`: the channel itself is broken
    (a removed webhook, an unreadable secret), so delivery stops using it until someone fixes it."""

    def __init__(
        self,
        message: str,
        permanent: bool = False,
        retry_after: float | None = None,
        status_code: int | None = None,
        disable_channel: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent or disable_channel
        self.retry_after = retry_after
        self.status_code = status_code
        self.disable_channel = disable_channel

    def __str__(self) -> str:
        return self.message


class Transport:
    """One channel kind. Subclasses implement `notify`; `self.channel` is the NotificationChannel."""

    def __init__(self, channel):
        self.channel = channel

    def notify(self, message) -> DeliveryResult | None:
        raise NotImplementedError


def retry_after_seconds(value: str | None, date: str | None = None) -> float | None:
    """Retry-After as seconds from now: either a number of seconds or an HTTP date, which is read
    against the response's own Date header when there is one (the server's clock, not ours)."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        reference = parsedate_to_datetime(date) if date else datetime.now(UTC)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None or reference.tzinfo is None:
        return None
    return max(0.0, (when - reference).total_seconds())


@cache
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    # Verification is always on. The extra bundle is added to the default roots (a TLS-inspecting proxy
    # re-signs with its own CA), never replaces verification.
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.load_default_certs()
    try:
        import certifi
    except ImportError:  # not a runtime dependency: the system store is then the default
        pass
    else:
        context.load_verify_locations(certifi.where())
    if ca_bundle:
        context.load_verify_locations(ca_bundle)
    return context


class HttpTransport(Transport):
    """POST JSON once: no redirects (a webhook that redirects is misconfigured, and following it would
    send the message to a host nobody validated), timeout settings.SLACK_TIMEOUT_SECONDS."""

    # Status codes meaning the destination is gone or refuses us for good; the subclass knows which.
    disabling_statuses: frozenset[int] = frozenset()

    @property
    def label(self) -> str:
        # The webhook URL is a secret: errors and logs name the channel by its hint only.
        return self.channel.secret_hint or self.channel.name

    def post_json(self, url: str, payload: dict) -> DeliveryResult:
        timeout = settings.SLACK_TIMEOUT_SECONDS
        # A fresh pool per message: alerts are rare, and a kept-alive connection the server has since
        # closed would fail a send that was never attempted.
        pool = urllib3.PoolManager(ssl_context=_tls_context(settings.SLACK_CA_BUNDLE), retries=False)
        try:
            response = pool.request(
                "POST",
                url,
                body=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=urllib3.Timeout(total=timeout),
                redirect=False,
                retries=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # a subclass of ConnectTimeoutError
            raise TransportError(f"{self.label}: connection failed ({_reason(exc)})") from None
        except urllib3.exceptions.TimeoutError:
            raise TransportError(f"{self.label}: no answer within {timeout:g}s") from None
        except urllib3.exceptions.SSLError as exc:
            raise TransportError(f"{self.label}: TLS error ({_reason(exc)})") from None
        except urllib3.exceptions.HTTPError as exc:
            raise TransportError(f"{self.label}: connection failed ({_reason(exc)})") from None
        finally:
            pool.clear()
        return self.check(response)

    def check(self, response) -> DeliveryResult:
        status = response.status
        body = response.data.decode("utf-8", "replace").strip()[:MAX_BODY_IN_ERROR]
        if 200 <= status < 300:
            return DeliveryResult(status_code=status, detail=body)
        said = f"{self.label} answered HTTP {status}" + (f" {body!r}" if body else "")
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"), response.headers.get("Date"))
            raise TransportError(f"{said} (rate limited)", retry_after=wait, status_code=status)
        if status >= 500:
            raise TransportError(said, status_code=status)
        if 300 <= status < 400:
            raise TransportError(f"{said}: redirects are not followed", permanent=True, status_code=status)
        raise TransportError(
            said, permanent=True, status_code=status, disable_channel=status in self.disabling_statuses
        )


def _reason(exc: BaseException) -> str:
    """The innermost cause of a urllib3 error, without the URL (urllib3 puts host and path in its own
    messages): the OS or TLS reason, else the exception's type."""
    seen, queue = set(), [exc]
    while queue:
        inner = queue.pop(0)
        if id(inner) in seen:
            continue
        seen.add(id(inner))
        if isinstance(inner, ssl.SSLCertVerificationError):
            return inner.verify_message or "certificate verify failed"
        if isinstance(inner, ssl.SSLError):
            return inner.reason or type(inner).__name__
        if (
            isinstance(inner, OSError)
            and not isinstance(inner, urllib3.exceptions.HTTPError)
            and inner.strerror
        ):
            return inner.strerror
        linked = [*inner.args, getattr(inner, "reason", None), inner.__cause__, inner.__context__]
        queue += [e for e in linked if isinstance(e, BaseException)]
    return type(exc).__name__
