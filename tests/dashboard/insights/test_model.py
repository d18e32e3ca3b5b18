"""The evidence's observed span: monthly figures are scaled over the data we hold, not the window."""

from datetime import UTC, datetime, timedelta

from dashboard.insights.model import VariantEvidence

END = datetime(2026, 11, 20, 10, tzinfo=UTC)
START = END - timedelta(days=14)


def evidence(**fields) -> VariantEvidence:
    base = dict(endpoint_id=1, endpoint_name="e", account_id="1" * 12, region="us-east-1", team_id=None,
                variant="AllTraffic", kind="serverless", start=START, end=END)  # fmt: skip
    return VariantEvidence(**{**base, **fields})


def test_six_hours_of_metrics_are_scaled_over_six_hours_not_the_window():
    ev = evidence(collected_from=END - timedelta(hours=6), collected_until=END + timedelta(minutes=15))
    assert ev.observed_seconds == 6 * 3600


def test_an_endpoint_created_mid_window_is_scaled_over_its_life():
    ev = evidence(collected_from=START - timedelta(days=30), endpoint_created_at=END - timedelta(days=2))
    assert ev.observed_seconds == 2 * 86400


def test_metrics_stopped_early_end_the_observed_span():
    ev = evidence(collected_from=START, collected_until=END - timedelta(days=4))
    assert ev.observed_seconds == 10 * 86400


def test_unknown_bounds_fall_back_to_the_window():
    assert evidence().observed_seconds == 14 * 86400


def test_every_threshold_is_a_setting_with_the_documented_default():
    from dashboard.insights.model import Thresholds

    assert Thresholds.from_settings() == Thresholds()
