"""The recommendations table (page and CSV), and how a recommendation reads to a person: its saving
("costs X more" when negative), confidence, configurations and evidence in words."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils.html import format_html

from dashboard.insights.model import RULES, confidence_label
from dashboard.models import Recommendation
from dashboard.tables.base import UNKNOWN, Column, Table, _lower

STATUS_LABELS = dict(Recommendation.Status.choices)
# Words for the configuration keys the rules use; any other key is shown as its own words.
CONFIG_WORDS = {
    "kind": "",
    "memory_mb": "memory",
    "max_concurrency": "max concurrency",
    "provisioned_concurrency": "provisioned concurrency",
    "instance_count": "instances",
}
UNITS = {
    "_mb": " MB",
    "_gb": " GB",
    "_gib": " GiB",
    "_ms": " ms",
    "_pct": "%",
    "_hours": " h",
    "_days": " days",
}


# --- reading a recommendation -------------------------------------------------------------------------
def saving_text(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return UNKNOWN
    if amount < 0:
        return f"costs {-amount:,.2f} {currency} more"
    return f"{amount:,.2f} {currency}"


def confidence_text(confidence: float | None) -> str:
    if confidence is None:
        return UNKNOWN
    return f"{confidence_label(confidence)} ({confidence * 100:.0f}%)"


def _words(key: str) -> tuple[str, str]:
    """A JSON key as words and the unit its value is in: peak_memory_pct -> ("peak memory", "%")."""
    for suffix, unit in UNITS.items():
        if key.endswith(suffix):
            return key[: -len(suffix)].replace("_", " "), unit
    return key.replace("_", " "), ""


def value_text(value, unit: str = "") -> str:
    if value is None or value == "":
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    if isinstance(value, float):
        digits = 0 if abs(value) >= 100 else 2 if abs(value) >= 1 else 4
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items()) or UNKNOWN
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or UNKNOWN
    return f"{value}{unit}"


def config_text(config: dict) -> str:
    """A configuration from a rule (current or proposed) in one line: "ml.g5.xlarge x 1",
    "memory 2048 MB · max concurrency 20"."""
    if not config:
        return UNKNOWN
    rest = dict(config)
    parts = []
    if "instance_type" in rest:
        count = rest.pop("instance_count", None)
        parts.append(f"{rest.pop('instance_type')}" + (f" × {count}" if count is not None else ""))
    for key, value in rest.items():
        words, unit = _words(key)
        label = CONFIG_WORDS.get(key, words)
        # Sizes as AWS writes them in a config (2048, not 2,048).
        shown = (
            f"{value}{unit}"
            if isinstance(value, int) and not isinstance(value, bool)
            else value_text(value, unit)
        )
        parts.append(f"{label} {shown}".strip())
    return " · ".join(parts)


def evidence_items(evidence: dict) -> list[tuple[str, str]]:
    """The figures a rule used, as (label, value) pairs in the rule's order."""
    out = []
    for key, value in (evidence or {}).items():
        words, unit = _words(key)
        out.append((words[:1].upper() + words[1:], value_text(value, unit)))
    return out


@dataclass
class RecRow:
    """A recommendation as a row of the table and of the panels on the team and endpoint pages."""

    rec: Recommendation

    @property
    def rule_label(self) -> str:
        return RULES.get(self.rec.rule, self.rec.rule)

    @property
    def saving(self) -> str:
        return saving_text(self.rec.monthly_saving, self.rec.currency)

    @property
    def costs_more(self) -> bool:
        return self.rec.monthly_saving is not None and self.rec.monthly_saving < 0

    @property
    def confidence(self) -> str:
        return confidence_text(self.rec.confidence)

    @property
    def current(self) -> str:
        return config_text(self.rec.current)

    @property
    def proposed(self) -> str:
        return config_text(self.rec.proposed)

    @property
    def evidence(self) -> list[tuple[str, str]]:
        return evidence_items(self.rec.evidence)

    @property
    def scope(self) -> str:
        r = self.rec
        if r.endpoint_id:
            return r.endpoint.name + (f" / {r.variant}" if r.variant else "")
        return f"{r.account.label or r.account.account_id} / {r.region}"

    @property
    def window_days(self) -> float:
        return (self.rec.window_end - self.rec.window_start).total_seconds() / 86400


# --- the table ---------------------------------------------------------------------------------------
def _scope_html(value, row: RecRow):
    r = row.rec
    where = format_html('<div class="sub">{} · {}</div>', r.account.label or r.account.account_id, r.region)
    if r.endpoint_id is None:
        return format_html('<span class="scope">{} / {}</span> <span class="sub">account-wide</span>',
                           r.account.label or r.account.account_id, r.region)  # fmt: skip
    variant = format_html(' <span class="muted">/ {}</span>', r.variant) if r.variant else ""
    link = reverse("endpoint", args=[r.endpoint_id])
    return format_html('<a href="{}">{}</a>{}{}', link, r.endpoint.name, variant, where)


def _team_html(value, row: RecRow):
    team = row.rec.team
    if team is None:
        return UNKNOWN
    return format_html('<a href="{}">{}</a>', reverse("team", args=[team.slug]), team.name)


def _proposed_html(value, row: RecRow):
    return format_html('{}<div class="sub">now: {}</div>', value, row.current)


def _saving_html(value, row: RecRow):
    if value is None:
        return format_html('<span class="muted" title="{}">{}</span>', "the saving is not known", UNKNOWN)
    return format_html('<span class="{}">{}</span>', "costs-more" if value < 0 else "saves", row.saving)


def _status_html(value, row: RecRow):
    r = row.rec
    badge = format_html('<span class="rec-status rec-status-{}">{}</span>', value, STATUS_LABELS[value])
    if r.status_changed_at is None:
        return badge
    who = r.status_changed_by.get_username() if r.status_changed_by else "someone"
    when = f"{r.status_changed_at:%Y-%m-%d %H:%M}"
    return format_html('{}<div class="sub">{}, {} UTC</div>', badge, who, when)


def _computed_html(value, row: RecRow):
    return format_html('{}<div class="sub">{} UTC</div>', f"{value:%Y-%m-%d}", f"{value:%H:%M}")


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


class RecommendationTable(Table):
    """One row per recommendation (a RecRow). The page ranks by saving; unknown savings come last. The
    page adds the evidence under the title and the Accept / Dismiss / Reopen form under the status."""

    default_sort = "-saving"
    columns = (
        Column("id", "Id", lambda r: r.rec.pk, in_html=False),
        Column("scope", "Endpoint / scope", lambda r: r.scope, html=_scope_html, sort=_lower),
        Column("account_id", "Account id", lambda r: r.rec.account.account_id, in_html=False),
        Column("region", "Region", lambda r: r.rec.region, in_html=False),
        Column("variant", "Variant", lambda r: r.rec.variant or None, in_html=False),
        Column("team", "Team", lambda r: r.rec.team.name if r.rec.team else None, html=_team_html,
               sort=_lower),
        Column("rule", "Rule", lambda r: r.rule_label, sort=_lower),
        Column("rule_key", "Rule key", lambda r: r.rec.rule, in_html=False),
        Column("title", "Recommendation", lambda r: r.rec.title, sort=_lower),
        Column("summary", "Summary", lambda r: r.rec.summary, in_html=False),
        Column("current", "Current configuration", lambda r: r.current, in_html=False),
        Column("proposed", "Proposed", lambda r: r.proposed, html=_proposed_html, sort=None,
               csv_header="Proposed configuration"),
        Column(
            "saving", "Monthly saving", lambda r: r.rec.monthly_saving, html=_saving_html, numeric=True,
            title="Per month: positive saves money, 'costs … more' adds capacity; — not known",
            csv_header="Monthly saving (negative: costs more)",
        ),
        Column("currency", "Currency", lambda r: r.rec.currency, in_html=False),
        Column(
            "confidence", "Confidence", lambda r: r.rec.confidence, html=lambda v, r: r.confidence,
            csv=lambda v, r: round(v * 100, 1), numeric=True, csv_header="Confidence (%)",
            title="How sure the rule is: lower with little data or a cross-family guess",
        ),
        Column("confidence_label", "Confidence level", lambda r: confidence_label(r.rec.confidence),
               in_html=False),
        Column("computed_at", "Computed", lambda r: r.rec.computed_at, html=_computed_html,
               csv=lambda v, r: _when(v), title="UTC"),
        Column("window_start", "Window start", lambda r: r.rec.window_start, csv=lambda v, r: _when(v),
               in_html=False),
        Column("window_end", "Window end", lambda r: r.rec.window_end, csv=lambda v, r: _when(v),
               in_html=False),
        Column("warnings", "Warnings", lambda r: "; ".join(r.rec.warnings) or None, in_html=False),
        Column("status", "Status", lambda r: r.rec.status, html=_status_html, sort=_lower),
        Column("status_changed_at", "Status changed at", lambda r: r.rec.status_changed_at,
               csv=lambda v, r: _when(v), in_html=False),
        Column(
            "status_changed_by", "Status changed by",
            lambda r: r.rec.status_changed_by.get_username() if r.rec.status_changed_by else None,
            in_html=False,
        ),
        Column("status_note", "Note", lambda r: r.rec.status_note or None, in_html=False),
    )  # fmt: skip
