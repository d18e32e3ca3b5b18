"""The event plumbing: determinism, validation of every answer, errors, and no network."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError

from collectors.model import AccountTarget
from collectors.simulator import NotSimulated, SimulatedAWS, SimulatorBug, validate_response
from collectors.simulator import core as simulator_core

from .conftest import AMBIENT, MEMBER_ROLE, MEMBER_TARGET, NOW, day, factory_for, query


def every_operation(sim: SimulatedAWS) -> list[tuple[str, dict]]:
    """Call each modelled operation once through real boto3 clients; return (operation, answer)."""
    factory = factory_for(sim)
    answers = []

    def record(name, answer):
        answers.append((name, answer))
        return answer

    for target in (AMBIENT, MEMBER_TARGET):
        for region in ("us-east-1", "eu-west-1"):
            sm = factory.client("sagemaker", account=target, region=region)
            listed = record("ListEndpoints", sm.list_endpoints(MaxResults=100))
            for summary in listed["Endpoints"]:
                described = record(
                    "DescribeEndpoint", sm.describe_endpoint(EndpointName=summary["EndpointName"])
                )
                record(
                    "DescribeEndpointConfig",
                    sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"]),
                )
                record("ListTags", sm.list_tags(ResourceArn=summary["EndpointArn"]))
            cw = factory.client("cloudwatch", account=target, region=region)
            queries = [
                query(f"q{i}_{j}", s["EndpointName"], metric, stat, 3600)
                for i, s in enumerate(listed["Endpoints"][:6])
                for j, (metric, stat) in enumerate(
                    [("Invocations", "Sum"), ("ModelLatency", "p99"), ("MemoryUtilization", "Average")]
                )
            ]
            record(
                "GetMetricData", cw.get_metric_data(MetricDataQueries=queries, StartTime=day(-2), EndTime=NOW)
            )
            record("ListMetrics", cw.list_metrics(Namespace="AWS/SageMaker"))
        sts = factory.client("sts", account=target, region="us-east-1")
        record("GetCallerIdentity", sts.get_caller_identity())
    sts = factory.client("sts", account=AMBIENT, region="us-east-1")
    record("AssumeRole", sts.assume_role(RoleArn=MEMBER_ROLE, RoleSessionName="determinism"))
    ce = factory.client("ce", account=AMBIENT, region="us-east-1")
    window = {"Start": day(-7).date().isoformat(), "End": day(0).date().isoformat()}
    record(
        "GetCostAndUsage",
        ce.get_cost_and_usage(
            TimePeriod=window,
            Granularity="DAILY",
            Metrics=["UnblendedCost", "UsageQuantity"],
            GroupBy=[{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        ),
    )
    record(
        "GetCostAndUsageWithResources",
        ce.get_cost_and_usage_with_resources(
            TimePeriod=window,
            Granularity="DAILY",
            Metrics=["UnblendedCost"],
            Filter={"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}},
            GroupBy=[{"Type": "DIMENSION", "Key": "RESOURCE_ID"}],
        ),
    )
    end = (NOW + timedelta(days=7)).date().isoformat()
    forecast = ce.get_cost_forecast(
        TimePeriod={"Start": NOW.date().isoformat(), "End": end}, Metric="UNBLENDED_COST", Granularity="DAILY"
    )
    record("GetCostForecast", forecast)
    record("GetDimensionValues", ce.get_dimension_values(TimePeriod=window, Dimension="USAGE_TYPE"))
    return answers


def dump(answers) -> str:
    return json.dumps(answers, default=str, sort_keys=True)


def test_every_operation_answers_valid_shapes_and_the_same_seed_answers_byte_identically():
    first = every_operation(SimulatedAWS(seed=7, clock=lambda: NOW))
    second = every_operation(SimulatedAWS(seed=7, clock=lambda: NOW))
    names = {name for name, _ in first}
    assert names == {op for handlers in simulator_core.HANDLERS.values() for op in handlers}
    # Each answer passed validate_response inside the simulator; check it once more from outside.
    session = botocore.session.get_session()
    service_of = {op: svc for svc, handlers in simulator_core.HANDLERS.items() for op in handlers}
    for name, answer in first:
        body = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
        validate_response(session.get_service_model(service_of[name]).operation_model(name), body)
    assert dump(first) == dump(second)


def test_another_seed_answers_differently():
    def sample(seed):
        factory = factory_for(SimulatedAWS(seed=seed, clock=lambda: NOW))
        cw = factory.client("cloudwatch", account=AMBIENT, region="us-east-1")
        answer = cw.get_metric_data(
            MetricDataQueries=[query("a", "search-embed-serverless", "Invocations", "Sum", 3600)],
            StartTime=day(-1),
            EndTime=NOW,
        )
        sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
        return answer["MetricDataResults"][0]["Values"], sorted(
            e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]
        )

    (values_7, names_7), (values_8, names_8) = sample(7), sample(8)
    assert len(values_7) == len(values_8) and values_7 != values_8
    assert names_7 != names_8  # the ordinary endpoints are drawn from the seed too


def test_an_invalid_answer_is_a_simulator_bug(monkeypatch):
    model = botocore.session.get_session().get_service_model("sagemaker").operation_model("ListEndpoints")
    validate_response(model, {"Endpoints": []})
    with pytest.raises(SimulatorBug, match="Endpoints"):
        validate_response(model, {"Endpoints": [{"EndpointName": 3}]})
    with pytest.raises(SimulatorBug):
        validate_response(model, {"NextToken": "x"})  # Endpoints is required

    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=3)
    monkeypatch.setitem(
        simulator_core.HANDLERS["sagemaker"], "ListEndpoints", lambda call, params: {"Oops": 1}
    )
    sm = factory_for(sim).client("sagemaker", account=AMBIENT, region="us-east-1")
    with pytest.raises(SimulatorBug, match="Oops"):
        sm.list_endpoints()


def test_nothing_reaches_the_network():
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=3)
    factory = factory_for(sim)
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    request = AWSPreparedRequest("POST", "https://api.sagemaker.us-east-1.amazonaws.com/", {}, b"{}", None)
    with pytest.raises(RuntimeError, match="simulated client tried to reach the network"):
        sm.meta.events.emit("before-send.sagemaker.ListEndpoints", request=request)
    # Calls the simulator does not model fail loudly before any request is sent.
    with pytest.raises(NotSimulated, match="sagemaker:ListModels"):
        sm.list_models()
    s3 = boto3.Session(aws_access_key_id="SIM", aws_secret_access_key="SIM").client(
        "s3", region_name="us-east-1"
    )
    sim.attach(s3, None)
    with pytest.raises(NotSimulated):
        s3.list_buckets()


def test_an_account_the_simulator_does_not_have_is_refused():
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=3)
    factory = factory_for(sim)
    stranger = AccountTarget(account_id="999999999999")
    with pytest.raises(ClientError) as exc:
        factory.client("sagemaker", account=stranger, region="us-east-1").list_endpoints()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_answers_carry_response_metadata_and_the_call_log_still_counts(factory):
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    a, b = sm.list_endpoints(MaxResults=3), sm.list_endpoints(MaxResults=4)
    assert a["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert a["ResponseMetadata"]["RequestId"] != b["ResponseMetadata"]["RequestId"]
    assert factory.call_log.as_dict()["sagemaker:ListEndpoints"] >= 2  # the factory's call log still counts


def test_the_simulator_imports_neither_django_nor_the_dashboard():
    code = (
        "import sys, collectors.simulator\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'dashboard')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
