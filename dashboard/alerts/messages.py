"""What an alert says, whatever carries it: the subject and bodies rendered from
templates/alerts/email/<event>-{subject,body-text,body-html}, and the Slack Block Kit payload.

Scope labels, rule names and endpoint names are user-controlled (tags, names typed in the UI): HTML goes
through Django's autoescape, Slack mrkdwn through `slack_escape`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from dashboard.tables.base import UNKNOWN, money

CAUSES = {"traffic": "more traffic", "capacity": "added capacity", "new": "new endpoint", "other": "other"}
# Block Kit limits (api.slack.com/reference/block-kit/blocks).
HEADER_MAX, SECTION_MAX = 150, 3000


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    text: str
    html: str
    slack: dict
    url: str


def for_notification(notification) -> Message:
    if notification.event == "test":
        return for_test(notification.channel, notification.requested_by, notification.created_at)
    return for_alert(notification.alert, notification.event)


def for_alert(alert, event: str) -> Message:
    context = alert_context(alert, event)
    subject, text, html = _render(event, context)
    return Message(event, subject, text, html, _slack_alert(subject, context), context["url"])


def for_test(channel, user=None, requested_at=None) -> Message:
    context = {
        "channel": channel.name,
        "target": channel.target_label,
        "user": user.get_username() if user else "",
        "requested_at": _when(requested_at or timezone.now()),
        "url": _link("alert-channels", None, "/"),
    }
    subject, text, html = _render("test", context)
    summary = f"Budget alerts for this dashboard will arrive here (channel *{slack_escape(channel.name)}*)."
    blocks = [
        {"type": "header", "text": block_plain(subject)},
        {"type": "section", "text": block_mrkdwn(summary)},
        {"type": "context", "elements": [block_mrkdwn(slack_escape(_requested(context)))]},
        block_button("Open the dashboard", context["url"]),
    ]
    return Message(
        "test", subject, text, html, {"text": slack_escape(subject), "blocks": blocks}, context["url"]
    )


def alert_url(alert) -> str:
    return _link("alert-detail", [alert.pk], f"/alerts/{alert.pk}/")


def _link(name: str, args: list | None, fallback: str) -> str:
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:  # a deployment without the alert pages (or before they exist)
        path = fallback
    return settings.SITE_URL + path


def alert_context(alert, event: str) -> dict:
    """The figures as display strings, so the templates and the Slack payload only place them."""
    f = alert.figures or {}
    currency = alert.currency or f.get("currency") or "USD"
    crossed = f.get("crossed") or []
    crossed = [crossed] if isinstance(crossed, str) else list(crossed)
    estimated = _decimal(f.get("estimated"))
    fixed = f.get("basis") == "fixed"
    return {
        "event": event,
        "rule": alert.rule_name,
        "scope": alert.scope_label,
        "threshold": pct(alert.threshold),
        "ratio_now": pct(alert.ratio),
        "peak": pct(alert.peak_ratio),
        "measure": "budget" if fixed else "forecast",
        "period": f"{alert.period_start:%Y-%m-%d} to {alert.period_end - timedelta(days=1):%Y-%m-%d}",
        "actual": _money(f.get("actual"), currency),
        "expected": _money(f.get("expected"), currency),
        "ratio": pct(f.get("ratio")),
        "projected": _money(f.get("projected"), currency),
        "period_forecast": _money(f.get("period_forecast"), currency),
        "projected_ratio": pct(f.get("projected_ratio")),
        "crossed_actual": "actual" in crossed,
        "crossed_projected": "projected" in crossed,
        "estimated": money(estimated, currency) if estimated else "",
        "estimated_from": _day(f.get("estimated_from")),
        "basis": f.get("basis_label") or "",
        "as_of": _when(f.get("as_of")),
        "raised_at": _when(alert.raised_at),
        "recovered_at": _when(alert.recovered_at),
        "contributors": [
            {
                "name": c.get("name") or "?",
                "where": " ".join(str(c[k]) for k in ("account", "region") if c.get(k)),
                "actual": _money(c.get("actual"), currency),
                "expected": _money(c.get("expected"), currency),
                "overshoot": _money(c.get("overshoot"), currency),
                "cause": CAUSES.get(c.get("cause"), c.get("cause") or "other"),
                "detail": c.get("cause_detail") or "",
            }
            for c in f.get("contributors") or []
        ],
        "url": alert_url(alert),
    }


# --- formatting -----------------------------------------------------------------------------------------
def pct(value) -> str:
    number = _decimal(value)
    if number is None:
        return UNKNOWN
    return f"{number:,.0f}%" if number == number.to_integral_value() else f"{number:,.1f}%"


def slack_escape(text) -> str:
    # The three characters Slack gives a meaning to (links, mentions);
    # see api.slack.com/reference/surfaces/formatting#escaping
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _money(value, currency: str) -> str:
    return money(_decimal(value), currency)


def _day(value) -> str:
    day = parse_date(value) if isinstance(value, str) else value
    return f"{day:%Y-%m-%d}" if day else ""


def _when(value) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        return ""
    if timezone.is_aware(moment):
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _render(event: str, context: dict) -> tuple[str, str, str]:
    base = f"alerts/email/{event}"
    subject = " ".join(render_to_string(f"{base}-subject.txt", context).split())
    text = render_to_string(f"{base}-body-text.txt", context).strip() + "\n"
    html = render_to_string(f"{base}-body-html.html", context)
    return subject, text, html


def _requested(context: dict) -> str:
    by = f" by {context['user']}" if context["user"] else ""
    return f"Test message requested{by} at {context['requested_at']}, sent to {context['target']}."


# --- Slack Block Kit ------------------------------------------------------------------------------------
def block_plain(text: str, limit: int = HEADER_MAX) -> dict:
    escaped = slack_escape(text)
    while len(escaped) > limit:  # cut the raw text, so no entity is cut in half
        text = text[:-1]
        escaped = slack_escape(text) + "…"
    return {"type": "plain_text", "text": escaped, "emoji": True}


def block_mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def block_button(label: str, url: str) -> dict:
    return {"type": "actions", "elements": [{"type": "button", "text": block_plain(label, 75), "url": url}]}


def _slack_alert(subject: str, c: dict) -> dict:
    e = slack_escape
    to_date = f"{e(c['actual'])} against {e(c['expected'])} expected to date: *{e(c['ratio'])}*"
    projection = (
        f"{e(c['projected'])} projected against a period {c['measure']} of {e(c['period_forecast'])}: "
        f"*{e(c['projected_ratio'])}*"
    )
    fields = [
        block_mrkdwn(f"*Spent to date*{' (over)' if c['crossed_actual'] else ''}\n{to_date}"),
        block_mrkdwn(f"*Projection*{' (over)' if c['crossed_projected'] else ''}\n{projection}"),
        block_mrkdwn(f"*Threshold*\n{e(c['threshold'])} of the {c['measure']}"),
        block_mrkdwn(f"*Period*\n{e(c['period'])}"),
    ]
    if c["event"] == "recovered":
        lead = f"*{e(c['scope'])}* is back under {e(c['threshold'])} (peak {e(c['peak'])})."
    else:
        lead = f"*{e(c['scope'])}* crossed {e(c['threshold'])} of its {c['measure']} (rule “{e(c['rule'])}”)."
    blocks = [
        {"type": "header", "text": block_plain(subject)},
        {"type": "section", "text": block_mrkdwn(lead), "fields": fields},
    ]
    if c["contributors"]:
        blocks.append({"type": "section", "text": block_mrkdwn(_contributors(c["contributors"]))})
    sources = ["Costs from Cost Explorer"]
    if c["estimated"]:
        sources[0] += (
            f", {e(c['estimated'])} of them estimated from CloudWatch usage × price "
            f"since {e(c['estimated_from'])}"
        )
    sources += [f"Basis: {e(c['basis'])}" if c["basis"] else "", f"Data as of {e(c['as_of'])}"]
    blocks.append({"type": "context", "elements": [block_mrkdwn(" · ".join(s for s in sources if s))]})
    blocks.append(block_button("Open the alert", c["url"]))
    fallback = f"{e(subject)}: {to_date}; {projection}. <{c['url']}|Open the alert>"
    return {"text": fallback, "blocks": blocks}


def _contributors(rows: list[dict]) -> str:
    lines = ["*Top endpoints by overshoot*"]
    for n, r in enumerate(rows):
        line = (
            f"• *{slack_escape(r['name'])}* ({slack_escape(r['where'])}): +{slack_escape(r['overshoot'])} "
            f"({slack_escape(r['actual'])} vs {slack_escape(r['expected'])}), {slack_escape(r['cause'])}: "
            f"{slack_escape(r['detail'])}"
        )
        more = f"… and {len(rows) - n} more on the alert page"
        if len("\n".join([*lines, line, more])) > SECTION_MAX:
            lines.append(more)
            break
        lines.append(line)
    return "\n".join(lines)
