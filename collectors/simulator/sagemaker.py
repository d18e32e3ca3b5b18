"""SageMaker inventory: ListEndpoints, DescribeEndpoint, DescribeEndpointConfig, ListTags.

Every endpoint is InService. An unknown name answers ValidationException 'Could not find endpoint
"<arn>".', the way SageMaker does. NameContains matches case-insensitively (a guess).
"""

from __future__ import annotations

from datetime import timedelta

from collectors.simulator.fleet import SimEndpoint, resolved_image
from collectors.simulator.protocol import AWSError, Call, decode_token, digest, encode_token, to_utc

STATUS = "InService"
TAG_PAGE = 50


def _scope(call: Call) -> list[SimEndpoint]:
    return [
        ep
        for ep in call.sim.fleet.in_scope(call.account.account_id, call.region)
        if ep.created_at <= call.now
    ]


def _arn(call: Call, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{call.region}:{call.account.account_id}:{kind}/{name.lower()}"


def _summary(ep: SimEndpoint) -> dict:
    return {
        "EndpointName": ep.name,
        "EndpointArn": ep.arn,
        "CreationTime": ep.created_at,
        "LastModifiedTime": ep.modified_at,
        "EndpointStatus": STATUS,
    }


def list_endpoints(call: Call, params: dict) -> dict:
    endpoints = _scope(call)
    if "NameContains" in params:
        needle = params["NameContains"].lower()
        endpoints = [ep for ep in endpoints if needle in ep.name.lower()]
    if params.get("StatusEquals", STATUS) != STATUS:
        endpoints = []
    bounds = (
        ("CreationTimeBefore", lambda ep, t: ep.created_at < t),
        ("CreationTimeAfter", lambda ep, t: ep.created_at > t),
        ("LastModifiedTimeBefore", lambda ep, t: ep.modified_at < t),
        ("LastModifiedTimeAfter", lambda ep, t: ep.modified_at > t),
    )
    for key, keep in bounds:
        if key in params:
            limit = to_utc(params[key])
            endpoints = [ep for ep in endpoints if keep(ep, limit)]
    sort_by = params.get("SortBy", "CreationTime")
    key = {"Name": lambda ep: ep.name, "CreationTime": lambda ep: (ep.created_at, ep.name)}.get(
        sort_by, lambda ep: (STATUS, ep.name)
    )
    endpoints.sort(key=key, reverse=params.get("SortOrder", "Descending") == "Descending")
    fingerprint = digest(params, call.account.account_id, call.region)
    offset = decode_token(params.get("NextToken"), fingerprint, "ValidationException", noun="NextToken")
    size = params.get("MaxResults", 10)
    out: dict = {"Endpoints": [_summary(ep) for ep in endpoints[offset : offset + size]]}
    if offset + size < len(endpoints):
        out["NextToken"] = encode_token(offset + size, fingerprint)
    return out


def _find(call: Call, name: str) -> SimEndpoint:
    ep = call.sim.fleet.find(call.account.account_id, call.region, name)
    if ep is None or ep.created_at > call.now:
        raise AWSError("ValidationException", f'Could not find endpoint "{_arn(call, "endpoint", name)}".')
    return ep


def _images(ep: SimEndpoint, variant) -> list[dict]:
    return [
        {
            "SpecifiedImage": variant.image,
            "ResolvedImage": resolved_image(variant.image),
            "ResolutionTime": ep.modified_at - timedelta(minutes=8),
        }
    ]


def describe_endpoint(call: Call, params: dict) -> dict:
    ep = _find(call, params["EndpointName"])
    variants = []
    for v in ep.variants:
        summary = {
            "VariantName": v.name,
            "DeployedImages": _images(ep, v),
            "CurrentWeight": v.weight,
            "DesiredWeight": v.weight,
        }
        if v.kind == "serverless":
            config = {"MemorySizeInMB": v.memory_mb, "MaxConcurrency": v.max_concurrency}
            if v.provisioned_concurrency:
                config["ProvisionedConcurrency"] = v.provisioned_concurrency
            summary["CurrentServerlessConfig"] = dict(config)
            summary["DesiredServerlessConfig"] = dict(config)
        else:
            summary["CurrentInstanceCount"] = v.instance_count
            summary["DesiredInstanceCount"] = v.instance_count
        variants.append(summary)
    return {
        "EndpointName": ep.name,
        "EndpointArn": ep.arn,
        "EndpointConfigName": ep.config_name,
        "ProductionVariants": variants,
        "EndpointStatus": STATUS,
        "CreationTime": ep.created_at,
        "LastModifiedTime": ep.modified_at,
    }


def describe_endpoint_config(call: Call, params: dict) -> dict:
    name = params["EndpointConfigName"]
    ep = next((e for e in _scope(call) if e.config_name == name), None)
    if ep is None:
        raise AWSError(
            "ValidationException",
            f'Could not find endpoint configuration "{_arn(call, "endpoint-config", name)}".',
        )
    variants = []
    for v in ep.variants:
        conf = {"VariantName": v.name, "ModelName": v.model_name, "InitialVariantWeight": v.weight}
        if v.kind == "serverless":
            conf["ServerlessConfig"] = {"MemorySizeInMB": v.memory_mb, "MaxConcurrency": v.max_concurrency}
            if v.provisioned_concurrency:
                conf["ServerlessConfig"]["ProvisionedConcurrency"] = v.provisioned_concurrency
        else:
            conf["InstanceType"] = v.instance_type
            conf["InitialInstanceCount"] = v.instance_count
        variants.append(conf)
    return {
        "EndpointConfigName": ep.config_name,
        "EndpointConfigArn": ep.config_arn,
        "ProductionVariants": variants,
        "CreationTime": ep.created_at - timedelta(minutes=3),
        "EnableNetworkIsolation": False,
    }


def list_tags(call: Call, params: dict) -> dict:
    arn = params["ResourceArn"]
    ep = next((e for e in _scope(call) if arn in (e.arn, e.config_arn)), None)
    if ep is None:
        raise AWSError("ValidationException", f'Could not find resource "{arn}".')
    tags = [{"Key": k, "Value": v} for k, v in sorted(ep.tags.items())]
    fingerprint = digest(params, call.account.account_id, call.region)
    offset = decode_token(params.get("NextToken"), fingerprint, "ValidationException", noun="NextToken")
    size = min(params.get("MaxResults", TAG_PAGE), TAG_PAGE)
    out: dict = {"Tags": tags[offset : offset + size]}
    if offset + size < len(tags):
        out["NextToken"] = encode_token(offset + size, fingerprint)
    return out


HANDLERS = {
    "ListEndpoints": list_endpoints,
    "DescribeEndpoint": describe_endpoint,
    "DescribeEndpointConfig": describe_endpoint_config,
    "ListTags": list_tags,
}
