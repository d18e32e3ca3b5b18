"""Slack incoming webhooks: one POST of a Block Kit message (built in dashboard.alerts.messages)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from dashboard.alerts.transports.base import DeliveryResult, HttpTransport, TransportError
from dashboard.alerts.webhooks import validate_webhook_url
from dashboard.crypto import SecretUnreadable

# What Slack means by the answers that end a webhook's life (api.slack.com/messaging/webhooks#errors).
GONE = {
    403: "Slack refuses this webhook (token revoked or posting not allowed)",
    404: "the webhook no longer exists (removed, or its Slack app uninstalled)",
    410: "the webhook's Slack channel was archived",
}


class SlackTransport(HttpTransport):
    disabling_statuses = frozenset(GONE)

    def notify(self, message) -> DeliveryResult:
        try:
            # Checked on every send: SLACK_WEBHOOK_HOSTS may have changed since the URL was entered.
            url = validate_webhook_url(self.channel.webhook_url)
        except SecretUnreadable:
            raise TransportError(
                f"{self.label}: the stored webhook URL cannot be decrypted with the configured "
                "ENCRYPTION_KEYS; enter it again",
                disable_channel=True,
            ) from None
        except ValidationError as exc:
            raise TransportError(
                f"{self.label}: the stored webhook URL is not valid any more: {'; '.join(exc.messages)}",
                disable_channel=True,
            ) from None
        return self.post_json(url, message.slack)

    def check(self, response) -> DeliveryResult:
        try:
            return super().check(response)
        except TransportError as exc:
            if exc.disable_channel and exc.status_code in GONE:
                exc.message = f"{exc.message}: {GONE[exc.status_code]}"
            raise
