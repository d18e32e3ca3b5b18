"""fetch() against a real AWS protocol peer: a moto server over HTTP, reached through AWS_ENDPOINT_URL.

moto has no percentiles and no NextToken paging: those are tested on the simulator."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from collectors.aws.clients import CallLog, ClientFactory, default_config
from collectors.aws.cloudwatch import fetch
from collectors.metricplan import plan_queries, windows
from collectors.model import INSTANCE, SERVERLESS, AccountTarget, MetricQuery, VariantRef
from tests.conftest import NOW

AMBIENT = AccountTarget(account_id=None)
WINDOW = windows(NOW - timedelta(hours=1), NOW, NOW, 300)[0]  # 09:15-10:15
SERVERLESS_V = VariantRef(1, "search-ranker", "AllTraffic", SERVERLESS)


def dims(variant: VariantRef) -> list[dict]:
    return [
        {"Name": "EndpointName", "Value": variant.endpoint_name},
        {"Name": "VariantName", "Value": variant.variant_name},
    ]


def put_minutes(cw, variant: VariantRef, minutes: int = 60) -> None:
    """One Invocations and one ModelLatency point a minute, from the window's start: minute i has i + 1
    invocations and a latency of (i + 1) ms, published in microseconds as SageMaker does."""
    data = []
    for i in range(minutes):
        ts = WINDOW.start + timedelta(minutes=i)
        data.append(
            {"MetricName": "Invocations", "Dimensions": dims(variant), "Timestamp": ts, "Value": i + 1.0,
             "Unit": "Count"}
        )  # fmt: skip
        data.append(
            {"MetricName": "ModelLatency", "Dimensions": dims(variant), "Timestamp": ts,
             "Value": (i + 1) * 1000.0, "Unit": "Microseconds"}
        )  # fmt: skip
    cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=data)


class Body:
    """A canned HTTP body, for a response botocore parses as if it came over the wire."""

    def __init__(self, payload: bytes):
        self.payload = payload

    def stream(self, **_):
        yield self.payload


def throttling(request, **_):
    body = json.dumps({"__type": "Throttling", "message": "Rate exceeded"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": "Throttling;Sender"}
    return AWSResponse(request.url, 400, headers, Body(body))


def test_the_cloudwatch_client_speaks_aws_json_which_moto_serves(moto_factory):
    """botocore 1.44's CloudWatch model lists smithy-rpc-v2-cbor first, but botocore resolves the
    protocol by its own priority (json before cbor): no client configuration is needed for moto."""
    cw = moto_factory().client("cloudwatch", account=AMBIENT, region="us-east-1")
    model = cw.meta.service_model
    assert model.metadata["protocols"][0] == "smithy-rpc-v2-cbor"
    assert model.resolved_protocol == "json"
    sent = []
    cw.meta.events.register("before-send.cloudwatch.GetMetricData", lambda request, **_: sent.append(request))
    fetch(cw, plan_queries([SERVERLESS_V], 300)[:1], WINDOW)
    assert sent[0].headers["Content-Type"] == b"application/x-amz-json-1.0"
    assert sent[0].headers["X-Amz-Target"] == b"GraniteServiceVersion20100801.GetMetricData"


def test_fetch_reads_back_invocations_and_model_latency_put_into_moto(moto_factory):
    factory = moto_factory()
    cw = factory.client("cloudwatch", account=AMBIENT, region="us-east-1")
    put_minutes(cw, SERVERLESS_V)
    other = VariantRef(2, "search-ranker", "Shadow", SERVERLESS)
    queries = [
        MetricQuery("inv", SERVERLESS_V, "Invocations", "Sum", 300),
        MetricQuery("lat", SERVERLESS_V, "ModelLatency", "Average", 300),
        MetricQuery("maxlat", SERVERLESS_V, "ModelLatency", "Maximum", 300),
        MetricQuery("shadow", other, "Invocations", "Sum", 300),
    ]
    result = fetch(cw, queries, WINDOW)
    inv, lat, maxlat, shadow = result

    starts = [WINDOW.start + timedelta(minutes=5 * k) for k in range(12)]
    assert inv.timestamps == lat.timestamps == starts
    # Period k holds minutes 5k .. 5k+4, i.e. values 5k+1 .. 5k+5.
    assert inv.values == [float(sum(range(5 * k + 1, 5 * k + 6))) for k in range(12)]
    assert lat.values == [5 * k + 3.0 for k in range(12)]  # ms: the mean of 5k+1 .. 5k+5
    assert lat.raw == [(5 * k + 3.0) * 1000 for k in range(12)]
    assert maxlat.values == [5 * k + 5.0 for k in range(12)]
    assert shadow.values == [] and shadow.status == "Complete"
    assert all(s.status == "Complete" for s in result) and result.messages == []
    assert factory.call_log.calls["cloudwatch:GetMetricData"] == 1
    assert factory.call_log.metrics_requested == 4


def test_instance_cpu_put_into_moto_comes_back_per_vcpu(moto_factory):
    cw = moto_factory().client("cloudwatch", account=AMBIENT, region="eu-west-1")
    variant = VariantRef(3, "vision-detector", "AllTraffic", INSTANCE, vcpus=4, gpu_count=1)
    cw.put_metric_data(
        Namespace="/aws/sagemaker/Endpoints",
        MetricData=[
            {"MetricName": "CPUUtilization", "Dimensions": dims(variant), "Unit": "Percent",
             "Timestamp": WINDOW.start + timedelta(minutes=i), "Value": 340.0}
            for i in range(5)
        ],
    )  # fmt: skip
    (cpu,) = fetch(cw, [MetricQuery("cpu", variant, "CPUUtilization", "Maximum", 300)], WINDOW)
    assert cpu.timestamps == [WINDOW.start]
    assert (cpu.raw, cpu.values) == ([340.0], [85.0])


def test_a_throttled_call_raises_after_one_attempt(moto_factory):
    factory = moto_factory()  # total_max_attempts=1
    cw = factory.client("cloudwatch", account=AMBIENT, region="us-east-1")
    sent = []
    cw.meta.events.register(
        "before-send.cloudwatch.GetMetricData", lambda **kw: sent.append(1) or throttling(**kw)
    )
    with pytest.raises(ClientError) as exc:
        fetch(cw, plan_queries([SERVERLESS_V], 300), WINDOW)
    assert exc.value.response["Error"]["Code"] == "Throttling"
    assert len(sent) == 1


def test_a_throttled_call_is_retried_by_the_clients_standard_mode_not_by_fetch(moto_env):
    factory = ClientFactory(
        session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing"),
        config=default_config(max_attempts=2, read_timeout=120),
        call_log=CallLog(),
    )
    cw = factory.client("cloudwatch", account=AMBIENT, region="us-east-1")
    put_minutes(cw, SERVERLESS_V, minutes=5)
    sent = []

    def throttle_once(request, **_):
        sent.append(1)
        return throttling(request) if len(sent) == 1 else None  # None: send it to moto

    cw.meta.events.register("before-send.cloudwatch.GetMetricData", throttle_once)
    (inv,) = fetch(cw, [MetricQuery("inv", SERVERLESS_V, "Invocations", "Sum", 300)], WINDOW)
    assert inv.values == [15.0]
    assert len(sent) == 2
    assert factory.call_log.calls["cloudwatch:GetMetricData"] == 1  # a retry is not a new call
