"""SageMaker inventory: list, describe, read tags; answers become plain `collectors.model` data.

DescribeEndpoint has no instance type, so each endpoint's config is described too (cached per config
name within one snapshot, since endpoints may share a config). Per endpoint that is three calls:
DescribeEndpoint, DescribeEndpointConfig, ListTags (more pages if it has more than 50 tags).

An answer that cannot become well-formed data raises ValueError naming the field: a name, ARN, status,
config name or instance type missing, too long or holding a NUL; a DescribeEndpoint answering for
another endpoint; a variant without a name or named twice; a count or size that is not a whole number
from 0 to 2**31 - 1; a time without a zone; a tag without a key or holding a NUL. fetch_inventory
records it as that endpoint's error, as it does a failed call: the snapshot is then incomplete, so
nothing is marked deleted and what is stored for the endpoint stays as it was. Tag values, statuses and
instance types are otherwise kept as AWS gave them (pages escape them; an unknown type has no price).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from collectors.model import INSTANCE, SERVERLESS, EndpointInfo, InventorySnapshot, VariantInfo

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 100  # ListEndpoints MaxResults upper bound
# AWS's maxima, which the stored columns share (EndpointStatus's longest value has 20 characters).
TEXT_LIMITS = {
    "EndpointName": 63,
    "EndpointArn": 2048,
    "EndpointStatus": 32,
    "EndpointConfigName": 63,
    "VariantName": 63,
    "InstanceType": 64,
}
MAX_COUNT = 2**31 - 1  # counts, memory sizes and concurrencies are stored as Postgres integers


def is_not_found(error: ClientError) -> bool:
    """SageMaker says an endpoint or config is gone with ValidationException 'Could not find ...'."""
    err = error.response.get("Error", {})
    return err.get("Code") in {"ValidationException", "ResourceNotFound"} and "could not find" in (
        err.get("Message", "").lower()
    )


def describe_error(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"


def fetch_inventory(client: BaseClient, *, account_id: str, region: str) -> InventorySnapshot:
    """Everything in one account and region. Listing errors make the snapshot incomplete (so nothing will
    be marked deleted); an error on one endpoint is recorded and the others are still read."""
    snapshot = InventorySnapshot(account_id=account_id, region=region)
    try:
        listed = [
            summary.get("EndpointName")
            for page in client.get_paginator("list_endpoints").paginate(
                PaginationConfig={"PageSize": LIST_PAGE_SIZE}
            )
            for summary in page.get("Endpoints", [])
        ]
    except (ClientError, BotoCoreError) as exc:
        snapshot.complete = False
        snapshot.errors.append(f"ListEndpoints: {describe_error(exc)}")
        log.warning("inventory %s/%s: listing failed: %s", account_id, region, describe_error(exc))
        return snapshot
    names: list[str] = []
    for summary_name in dict.fromkeys(listed):  # an endpoint created while paging repeats one of a page
        try:
            names.append(_text(summary_name, "EndpointName"))
        except ValueError as exc:
            snapshot.complete = False
            snapshot.errors.append(f"ListEndpoints: {describe_error(exc)}")
            log.warning("inventory %s/%s: listing: %s", account_id, region, describe_error(exc))

    configs: dict[str, list[dict]] = {}
    for name in names:
        try:
            info = _describe(client, name, account_id=account_id, region=region, configs=configs)
        except ClientError as exc:
            if is_not_found(exc):
                # Deleted between listing and describing: it is simply gone.
                snapshot.vanished.append(name)
                continue
            snapshot.errors.append(f"{name}: {describe_error(exc)}")
            # An endpoint we could not read still exists: do not let it be marked deleted.
            snapshot.complete = False
            log.warning("inventory %s/%s: %s: %s", account_id, region, name, describe_error(exc))
            continue
        except (BotoCoreError, ValueError) as exc:
            # ValueError: an answer that cannot be read; the endpoint is kept as stored, like a failure.
            snapshot.errors.append(f"{name}: {describe_error(exc)}")
            snapshot.complete = False
            log.warning("inventory %s/%s: %s: %s", account_id, region, name, describe_error(exc))
            continue
        snapshot.endpoints.append(info)
    return snapshot


def _describe(client: BaseClient, name: str, *, account_id: str, region: str, configs: dict) -> EndpointInfo:
    endpoint = client.describe_endpoint(EndpointName=name)
    if endpoint.get("EndpointName") != name:
        raise ValueError(f"DescribeEndpoint answered for EndpointName {endpoint.get('EndpointName')!r}")
    config_name = _text(endpoint.get("EndpointConfigName"), "EndpointConfigName")
    arn = _text(endpoint.get("EndpointArn"), "EndpointArn")
    status = _text(endpoint.get("EndpointStatus"), "EndpointStatus")
    if config_name not in configs:
        try:
            answer = client.describe_endpoint_config(EndpointConfigName=config_name)
            configured = answer.get("ProductionVariants")
            if not isinstance(configured, list):
                raise ValueError(f"DescribeEndpointConfig {config_name}: ProductionVariants is missing")
            configs[config_name] = configured
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            # SageMaker lets a config be deleted while an endpoint still runs (and bills) on it: the
            # endpoint is alive; only its instance types are unknown here (storage keeps the last known).
            configs[config_name] = []
    tags = list_tags(client, arn)
    return EndpointInfo(
        account_id=account_id,
        region=region,
        name=name,
        arn=arn,
        status=status,
        config_name=config_name,
        created_at=_moment(endpoint.get("CreationTime"), "CreationTime"),
        modified_at=_moment(endpoint.get("LastModifiedTime"), "LastModifiedTime"),
        tags=tags,
        variants=tuple(parse_variants(endpoint.get("ProductionVariants") or [], configs[config_name])),
    )


def list_tags(client: BaseClient, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs = {"ResourceArn": arn, "MaxResults": 50}
    while True:
        page = client.list_tags(**kwargs)
        for tag in page.get("Tags", []):
            key, value = tag.get("Key"), tag.get("Value", "")
            # Postgres cannot store a NUL, even inside JSON; anything else is kept for pages to escape.
            if not isinstance(key, str) or not key or "\x00" in key:
                raise ValueError(f"ListTags: tag key {key!r} is missing or holds a NUL")
            if not isinstance(value, str) or "\x00" in value:
                raise ValueError(f"ListTags: the value of tag {key!r} is not text without NUL: {value!r}")
            tags[key] = value
        token = page.get("NextToken")
        if not token:
            return tags
        kwargs["NextToken"] = token


def parse_variants(live: list[dict], configured: list[dict]) -> list[VariantInfo]:
    """Merge what the endpoint runs now (counts, current serverless config) with its config (instance
    type, which DescribeEndpoint does not give). Live values win where both exist."""
    by_name = _by_name(configured, "DescribeEndpointConfig")
    live_by_name = _by_name(live, "DescribeEndpoint")
    variants = []
    for name in list(live_by_name) or list(by_name):
        now = live_by_name.get(name, {})
        conf = by_name.get(name, {})
        serverless = (
            now.get("CurrentServerlessConfig")
            or now.get("DesiredServerlessConfig")
            or conf.get("ServerlessConfig")
        )
        if serverless:
            variants.append(
                VariantInfo(
                    name=name,
                    kind=SERVERLESS,
                    memory_mb=_count(serverless.get("MemorySizeInMB"), f"{name}.MemorySizeInMB"),
                    max_concurrency=_count(serverless.get("MaxConcurrency"), f"{name}.MaxConcurrency"),
                    provisioned_concurrency=_count(
                        serverless.get("ProvisionedConcurrency"), f"{name}.ProvisionedConcurrency"
                    ),
                )
            )
        else:
            instance_type = conf.get("InstanceType")
            initial = conf.get("InitialInstanceCount")
            variants.append(
                VariantInfo(
                    name=name,
                    kind=INSTANCE,
                    instance_type=None if instance_type is None else _text(instance_type, "InstanceType"),
                    current_instance_count=_count(
                        now.get("CurrentInstanceCount", initial), f"{name}.CurrentInstanceCount"
                    ),
                    desired_instance_count=_count(
                        now.get("DesiredInstanceCount", initial), f"{name}.DesiredInstanceCount"
                    ),
                )
            )
    return variants


def _by_name(variants: list[dict], what: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for variant in variants:
        name = _text(variant.get("VariantName"), "VariantName")
        if name in out:
            # Two variants of one name would be stored as one row: refuse rather than pick one.
            raise ValueError(f"{what}: variant {name!r} appears twice")
        out[name] = variant
    return out


def _text(value, field: str) -> str:
    limit = TEXT_LIMITS[field]
    if not isinstance(value, str) or not value or "\x00" in value or len(value) > limit:
        shown = value[:80] if isinstance(value, str) else value
        raise ValueError(f"{field} {shown!r} is not text of 1 to {limit} characters without NUL")
    return value


def _count(value, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{field} {value!r} is not a whole number from 0 to {MAX_COUNT}")
    return value


def _moment(value, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{field} {value!r} is not a time with a zone")
    return value.astimezone(UTC)
