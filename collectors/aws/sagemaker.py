"""SageMaker inventory: list, describe, read tags; answers become plain `collectors.model` data.

DescribeEndpoint has no instance type, so each endpoint's config is described too (cached per config
name within one snapshot, since endpoints may share a config). Per endpoint that is three calls:
DescribeEndpoint, DescribeEndpointConfig, ListTags (more pages if it has more than 50 tags).
"""

from __future__ import annotations

import logging

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from collectors.model import INSTANCE, SERVERLESS, EndpointInfo, InventorySnapshot, VariantInfo

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 100  # ListEndpoints MaxResults upper bound


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
        names = [
            summary["EndpointName"]
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
        except BotoCoreError as exc:
            snapshot.errors.append(f"{name}: {describe_error(exc)}")
            snapshot.complete = False
            log.warning("inventory %s/%s: %s: %s", account_id, region, name, describe_error(exc))
            continue
        snapshot.endpoints.append(info)
    return snapshot


def _describe(client: BaseClient, name: str, *, account_id: str, region: str, configs: dict) -> EndpointInfo:
    endpoint = client.describe_endpoint(EndpointName=name)
    config_name = endpoint["EndpointConfigName"]
    if config_name not in configs:
        try:
            configs[config_name] = client.describe_endpoint_config(EndpointConfigName=config_name)[
                "ProductionVariants"
            ]
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            # SageMaker lets a config be deleted while an endpoint still runs (and bills) on it: the
            # endpoint is alive; only its instance types are unknown here (storage keeps the last known).
            configs[config_name] = []
    tags = list_tags(client, endpoint["EndpointArn"])
    return EndpointInfo(
        account_id=account_id,
        region=region,
        name=endpoint["EndpointName"],
        arn=endpoint["EndpointArn"],
        status=endpoint["EndpointStatus"],
        config_name=config_name,
        created_at=endpoint.get("CreationTime"),
        modified_at=endpoint.get("LastModifiedTime"),
        tags=tags,
        variants=tuple(parse_variants(endpoint.get("ProductionVariants", []), configs[config_name])),
    )


def list_tags(client: BaseClient, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs = {"ResourceArn": arn, "MaxResults": 50}
    while True:
        page = client.list_tags(**kwargs)
        for tag in page.get("Tags", []):
            tags[tag["Key"]] = tag.get("Value", "")
        token = page.get("NextToken")
        if not token:
            return tags
        kwargs["NextToken"] = token


def parse_variants(live: list[dict], configured: list[dict]) -> list[VariantInfo]:
    """Merge what the endpoint runs now (counts, current serverless config) with its config (instance
    type, which DescribeEndpoint does not give). Live values win where both exist."""
    by_name = {v["VariantName"]: v for v in configured}
    names = [v["VariantName"] for v in live] or list(by_name)
    live_by_name = {v["VariantName"]: v for v in live}
    variants = []
    for name in names:
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
                    memory_mb=serverless.get("MemorySizeInMB"),
                    max_concurrency=serverless.get("MaxConcurrency"),
                    provisioned_concurrency=serverless.get("ProvisionedConcurrency"),
                )
            )
        else:
            variants.append(
                VariantInfo(
                    name=name,
                    kind=INSTANCE,
                    instance_type=conf.get("InstanceType"),
                    current_instance_count=now.get("CurrentInstanceCount", conf.get("InitialInstanceCount")),
                    desired_instance_count=now.get("DesiredInstanceCount", conf.get("InitialInstanceCount")),
                )
            )
    return variants
