"""Serverless quota headroom per account and region: endpoint count and summed MaxConcurrency against
their quotas, flagged from quota_warn_fraction (80%) on."""

import dataclasses
import json

from dashboard.insights.model import QUOTA, QuotaEvidence, Thresholds
from dashboard.insights.rules.quota import quota_headroom

T = Thresholds()
LARGEST = (("nlp-chat-serverless", 50), ("search-embed-serverless", 20), ("search-query-pc", 20))


def usage(endpoints=12, concurrency=120, **overrides) -> QuotaEvidence:
    fields = {
        "account_id": "111111111111",
        "region": "us-east-1",
        "serverless_endpoints": endpoints,
        "sum_max_concurrency": concurrency,
        "sum_provisioned_concurrency": 4,
        "endpoint_quota": 50,
        "concurrency_quota": 200,
        "largest": LARGEST,
    }
    return QuotaEvidence(**{**fields, **overrides})


def test_concurrency_at_92_percent_of_quota_is_flagged_as_a_risk_not_a_saving():
    [finding] = quota_headroom(usage(concurrency=184), T)

    assert finding.rule == QUOTA
    assert finding.title == "Serverless concurrency at 92% of quota in 111111111111/us-east-1"
    assert finding.target == "111111111111/us-east-1"
    assert (finding.account_id, finding.region, finding.endpoint_id) == ("111111111111", "us-east-1", None)
    assert finding.monthly_saving is None
    assert finding.confidence == 1.0
    assert "184" in finding.summary and "200" in finding.summary and "16 left" in finding.summary


def test_it_proposes_a_quota_increase_or_lower_max_concurrency_on_the_largest_endpoints():
    # Back under 80% of 200 means at most 159: 184 - 159 = 25 to give up.
    [finding] = quota_headroom(usage(concurrency=184), T)

    assert finding.proposed["lower_max_concurrency_by"] == 25
    actions = " ".join(finding.proposed["actions"])
    assert "Service Quotas" in actions
    assert "nlp-chat-serverless (50)" in actions
    assert finding.evidence["largest"][0] == {"endpoint": "nlp-chat-serverless", "max_concurrency": 50}


def test_endpoint_count_near_its_quota_is_flagged():
    [finding] = quota_headroom(usage(endpoints=45), T)

    assert finding.title == "Serverless endpoints at 90% of quota in 111111111111/us-east-1"
    assert "lower_max_concurrency_by" not in finding.proposed


def test_both_quotas_near_their_limit_make_one_finding_per_account_and_region():
    [finding] = quota_headroom(usage(endpoints=48, concurrency=190), T)

    assert (
        finding.title
        == "Serverless endpoints at 96% and concurrency at 95% of quota in 111111111111/us-east-1"
    )


def test_usage_over_the_quota_is_flagged_with_how_far_over():
    [finding] = quota_headroom(usage(concurrency=210), T)

    assert "105%" in finding.title
    assert "10 over" in finding.summary


def test_usage_exactly_at_the_warning_line_is_flagged_and_just_under_is_not():
    assert len(quota_headroom(usage(concurrency=160), T)) == 1
    assert quota_headroom(usage(concurrency=159, endpoints=39), T) == []


def test_plenty_of_headroom_gives_nothing():
    assert quota_headroom(usage(endpoints=10, concurrency=120), T) == []


def test_a_lower_regional_quota_is_respected():
    # Some accounts and regions get 10 concurrency, not 200: the quota comes from configuration.
    [finding] = quota_headroom(usage(concurrency=9, concurrency_quota=10), T)

    assert "90%" in finding.title


def test_warn_fraction_comes_from_thresholds():
    t = dataclasses.replace(T, quota_warn_fraction=0.5)

    assert len(quota_headroom(usage(concurrency=100), t)) == 1


def test_zero_quota_or_no_largest_endpoints_does_not_crash():
    assert quota_headroom(usage(endpoint_quota=0, concurrency_quota=0), T) == []
    [finding] = quota_headroom(usage(concurrency=190, largest=()), T)
    assert finding.proposed["actions"][1] == "Or lower MaxConcurrency by 31 in total."


def test_finding_is_json_ready():
    [finding] = quota_headroom(usage(endpoints=48, concurrency=190), T)

    json.dumps([finding.current, finding.proposed, finding.evidence])
    assert finding.evidence["sum_provisioned_concurrency"] == 4
