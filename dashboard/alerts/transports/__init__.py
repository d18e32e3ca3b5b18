"""One transport per channel kind; a new kind is one module and one line here."""

from __future__ import annotations

from dashboard.alerts.transports.base import DeliveryResult, Transport, TransportError
from dashboard.alerts.transports.email import EmailTransport
from dashboard.alerts.transports.slack import SlackTransport

TRANSPORTS: dict[str, type[Transport]] = {
    "email": EmailTransport,
    "slack": SlackTransport,
}


def transport_for(channel) -> Transport:
    try:
        return TRANSPORTS[channel.kind](channel)
    except KeyError:
        raise TransportError(f"no transport for channel kind {channel.kind!r}", permanent=True) from None


__all__ = ["TRANSPORTS", "DeliveryResult", "EmailTransport", "SlackTransport", "Transport", "TransportError"]
