"""Each transport against a real peer: the local HTTPS stand-in for Slack, a real SMTP server. What the
message says (figures, escaping, link) and how each kind of failure is classified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from dashboard.alerts import messages
from dashboard.alerts.transports import (
    TRANSPORTS,
    EmailTransport,
    SlackTransport,
    TransportError,
    transport_for,
)
from dashboard.alerts.transports.base import retry_after_seconds
from dashboard.models import Alert, NotificationChannel
from tests.conftest import NOW
from tests.dashboard.alerts.conftest import HOSTILE_NAME, SITE_URL, alert_fields, figures
from tests.support.slack import Reply, all_texts, assert_block_kit


def unsaved_alert(**overrides) -> Alert:
    return Alert(pk=42, **alert_fields(**overrides))


def slack_channel_for(url: str) -> NotificationChannel:
    channel = NotificationChannel(name="#costs", kind="slack")
    channel.set_webhook_url(url)
    return channel


def email_channel_for(*recipients: str) -> NotificationChannel:
    return NotificationChannel(name="FinOps", kind="email", email_to=list(recipients))


def send_to_slack(fake_slack, alert=None) -> None:
    SlackTransport(slack_channel_for(fake_slack.url())).notify(
        messages.for_alert(alert or unsaved_alert(), "raised")
    )


def slack_error(fake_slack, *replies: Reply) -> TransportError:
    fake_slack.script(*replies)
    with pytest.raises(TransportError) as caught:
        send_to_slack(fake_slack)
    return caught.value


# --- the registry ------------------------------------------------------------------------------------
def test_each_channel_kind_has_a_transport():
    assert set(NotificationChannel.Kind.values) == set(TRANSPORTS)
    assert isinstance(transport_for(email_channel_for("a@example.com")), EmailTransport)


# --- Slack ---------------------------------------------------------------------------------------------
def test_it_posts_a_block_kit_message_with_the_figures_and_a_link(fake_slack):
    send_to_slack(fake_slack)
    [payload] = fake_slack.delivered
    assert fake_slack.paths == ["/services/T0000/B0000/XXSECRETXXsecretpath"]
    assert_block_kit(payload)
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "context", "actions"]
    shown = "\n".join(all_texts(payload))
    for figure in ("1,200.00 USD", "700.00 USD", "171.4%", "2,580.00 USD", "2,100.00 USD", "122.9%", "150%"):
        assert figure in shown
    assert "95.50 USD of them estimated from CloudWatch usage × price since 2026-11-19" in shown
    assert "+440.00 USD" in shown and "more traffic" in shown and "added capacity" in shown
    assert "project forecast (trailing-28d)" in shown and "2026-11-20 10:17 UTC" in shown
    assert payload["blocks"][-1]["elements"][0]["url"] == f"{SITE_URL}/alerts/42/"


def test_it_escapes_markup_in_endpoint_and_scope_names_for_slack(fake_slack):
    send_to_slack(fake_slack, unsaved_alert(scope_label=f"endpoint {HOSTILE_NAME}"))
    [payload] = fake_slack.delivered
    texts = all_texts(payload)
    assert not any("<script>" in t for t in texts)
    assert not any(" & co" in t for t in texts)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in t for t in texts)


def test_a_long_scope_label_still_fits_slacks_header_limit(fake_slack):
    send_to_slack(fake_slack, unsaved_alert(scope_label="endpoint " + "<&>" * 80))
    [payload] = fake_slack.delivered
    assert_block_kit(payload)
    assert payload["blocks"][0]["text"]["text"].endswith("…")


def test_a_429_is_transient_with_the_servers_retry_after_in_seconds(fake_slack):
    error = slack_error(fake_slack, Reply(429, "rate_limited", {"Retry-After": "120"}))
    assert not error.permanent and error.status_code == 429 and error.retry_after == 120


def test_a_429_may_give_retry_after_as_an_http_date(fake_slack):
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    error = slack_error(fake_slack, Reply(429, "rate_limited", {"Retry-After": later}))
    assert not error.permanent and 115 <= error.retry_after <= 121


def test_a_429_without_retry_after_leaves_the_wait_to_the_backoff(fake_slack):
    error = slack_error(fake_slack, Reply(429, "rate_limited"))
    assert not error.permanent and error.retry_after is None


def test_retry_after_may_be_an_http_date_read_against_the_servers_clock():
    assert (
        retry_after_seconds(
            format_datetime(NOW.replace(minute=20), usegmt=True), format_datetime(NOW, usegmt=True)
        )
        == 180
    )
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert (
        retry_after_seconds(
            format_datetime(NOW, usegmt=True), format_datetime(NOW.replace(minute=30), usegmt=True)
        )
        == 0
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_transient(fake_slack, status):
    error = slack_error(fake_slack, Reply(status, "internal_error"))
    assert not error.permanent and not error.disable_channel and error.status_code == status


@pytest.mark.parametrize(
    "status,body,explains",
    [
        (404, "no_service", "no longer exists"),
        (404, "channel_not_found", "no longer exists"),
        (410, "channel_is_archived", "archived"),
        (403, "invalid_token", "refuses this webhook"),
        (403, "action_prohibited", "refuses this webhook"),
    ],
)
def test_a_removed_or_refused_webhook_is_permanent_and_disables_the_channel(
    fake_slack, status, body, explains
):
    error = slack_error(fake_slack, Reply(status, body))
    assert error.permanent and error.disable_channel and error.status_code == status
    assert body in str(error) and explains in str(error)


def test_another_4xx_is_permanent_but_keeps_the_channel(fake_slack):
    error = slack_error(fake_slack, Reply(400, "invalid_payload"))
    assert error.permanent and not error.disable_channel


def test_it_does_not_follow_redirects(fake_slack):
    error = slack_error(fake_slack, Reply(302, "", {"Location": fake_slack.url("/elsewhere")}))
    assert error.permanent and "redirects are not followed" in str(error)
    assert fake_slack.paths == ["/services/T0000/B0000/XXSECRETXXsecretpath"]


def test_no_answer_within_the_timeout_is_transient(fake_slack, settings):
    settings.SLACK_TIMEOUT_SECONDS = 0.5
    error = slack_error(fake_slack, Reply(200, "ok", delay=5))
    assert not error.permanent and "no answer within 0.5s" in str(error)


def test_it_refuses_a_certificate_it_does_not_trust(fake_slack, settings):
    settings.SLACK_CA_BUNDLE = ""
    with pytest.raises(TransportError) as caught:
        send_to_slack(fake_slack)
    assert not caught.value.permanent and "TLS error" in str(caught.value)
    assert fake_slack.received == []


def test_connection_refused_is_transient(fake_slack):
    url = fake_slack.url()
    fake_slack.stop()
    with pytest.raises(TransportError) as caught:
        SlackTransport(slack_channel_for(url)).notify(messages.for_alert(unsaved_alert(), "raised"))
    assert not caught.value.permanent and "connection failed" in str(caught.value)


def test_a_stored_url_on_a_host_no_longer_allowed_disables_the_channel(fake_slack, settings):
    settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
    with pytest.raises(TransportError) as caught:
        send_to_slack(fake_slack)
    assert caught.value.disable_channel and "host 127.0.0.1 is not allowed" in str(caught.value)
    assert fake_slack.received == []


def test_a_webhook_url_that_cannot_be_decrypted_disables_the_channel(fake_slack):
    channel = NotificationChannel(name="#costs", kind="slack", secret="not-a-fernet-token", secret_hint="x")
    with pytest.raises(TransportError) as caught:
        SlackTransport(channel).notify(messages.for_alert(unsaved_alert(), "raised"))
    assert caught.value.disable_channel and "cannot be decrypted" in str(caught.value)


def test_errors_name_the_webhook_by_its_hint_never_its_url(fake_slack, settings):
    settings.SLACK_TIMEOUT_SECONDS = 0.5
    replies = [Reply(500, "oops"), Reply(404, "no_service"), Reply(429, "slow down"), Reply(delay=5)]
    for reply in replies:
        error = slack_error(fake_slack, reply)
        assert "XXSECRETXX" not in str(error) and "127.0.0.1/…path" in str(error)


# --- email ---------------------------------------------------------------------------------------------
def test_the_email_has_text_and_html_parts_with_the_figures_and_the_link(smtp_server):
    EmailTransport(email_channel_for("a@example.com", "b@example.com")).notify(
        messages.for_alert(unsaved_alert(), "raised")
    )
    [email] = smtp_server.received
    assert smtp_server.envelopes == [("alerts@costs.example.com", ["a@example.com", "b@example.com"])]
    assert email["Subject"] == "[Budget alert] team Search: 171.4% of forecast (threshold 150%)"
    assert email["Auto-Submitted"] == "auto-generated"
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    for part in (text, html):
        for figure in ("1,200.00 USD", "700.00 USD", "171.4%", "2,580.00 USD", "2,100.00 USD", "122.9%"):
            assert figure in part
        assert "95.50 USD" in part and "2026-11-19" in part and "CloudWatch usage" in part
        assert "+440.00 USD" in part and "more traffic" in part and "added capacity" in part
        assert "project forecast (trailing-28d), 70.00 USD/day" in part and "2026-11-20 10:17 UTC" in part
        assert f"{SITE_URL}/alerts/42/" in part
    assert HOSTILE_NAME in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_a_recovered_alert_says_it_is_back_under_the_threshold(smtp_server):
    alert = unsaved_alert(
        state="recovered", recovered_at=NOW, ratio="140.00", figures=figures(crossed=[], ratio="140.00")
    )
    EmailTransport(email_channel_for("a@example.com")).notify(messages.for_alert(alert, "recovered"))
    [email] = smtp_server.received
    assert email["Subject"] == "[Recovered] team Search: back under 150% of forecast (140%)"
    assert "is back under 150% of its forecast" in email.get_body(("plain",)).get_content()


def test_a_fixed_budget_is_called_a_budget(smtp_server):
    alert = unsaved_alert(figures=figures(basis="fixed", basis_label="fixed budget of 2000.00 USD per month"))
    message = messages.for_alert(alert, "raised")
    assert "of budget" in message.subject and "fixed budget of 2000.00 USD per month" in message.text


def test_a_451_from_the_smtp_server_is_transient(smtp_server):
    smtp_server.refuse("451 4.3.0 Mailbox busy, try later")
    with pytest.raises(TransportError) as caught:
        EmailTransport(email_channel_for("a@example.com")).notify(
            messages.for_alert(unsaved_alert(), "raised")
        )
    assert not caught.value.permanent and caught.value.status_code == 451
    assert "Mailbox busy" in str(caught.value)


def test_every_recipient_refused_with_550_is_permanent(smtp_server):
    smtp_server.refuse("550 5.1.1 No such user", at="RCPT")
    with pytest.raises(TransportError) as caught:
        EmailTransport(email_channel_for("gone@example.com")).notify(
            messages.for_alert(unsaved_alert(), "raised")
        )
    assert caught.value.permanent and not caught.value.disable_channel and caught.value.status_code == 550
    assert "gone@example.com: 550" in str(caught.value)


def test_a_refused_connection_is_transient(smtp_server):
    smtp_server.stop()
    with pytest.raises(TransportError) as caught:
        EmailTransport(email_channel_for("a@example.com")).notify(
            messages.for_alert(unsaved_alert(), "raised")
        )
    assert not caught.value.permanent and "Connection refused" in str(caught.value)


def test_a_channel_without_recipients_is_a_permanent_error(smtp_server):
    with pytest.raises(TransportError) as caught:
        EmailTransport(email_channel_for()).notify(messages.for_alert(unsaved_alert(), "raised"))
    assert caught.value.permanent and smtp_server.received == []
