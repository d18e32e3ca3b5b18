"""Plain data at the boundary: what AWS answers becomes these, and nothing here imports boto3 or Django.

Discovery, mapping and (later) batching and attribution are tested on these as plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SERVERLESS = "serverless"
INSTANCE = "instance"


@dataclass(frozen=True)
class AccountTarget:
    """One AWS account to read: its id, and the role to assume into it (None = ambient credentials)."""

    account_id: str | None
    role_arn: str | None = None
    external_id: str | None = None
    label: str = ""


@dataclass(frozen=True)
class VariantInfo:
    name: str
    kind: str  # SERVERLESS or INSTANCE
    instance_type: str | None = None
    current_instance_count: int | None = None
    desired_instance_count: int | None = None
    memory_mb: int | None = None
    max_concurrency: int | None = None
    provisioned_concurrency: int | None = None

    def shape(self) -> tuple:
        """What a change of configuration means: the fields a person would call the endpoint's shape."""
        return (
            self.kind,
            self.instance_type,
            self.desired_instance_count,
            self.memory_mb,
            self.max_concurrency,
            self.provisioned_concurrency,
        )


@dataclass(frozen=True)
class EndpointInfo:
    account_id: str
    region: str
    name: str
    arn: str
    status: str
    config_name: str
    created_at: datetime | None
    modified_at: datetime | None
    tags: dict[str, str] = field(default_factory=dict)
    variants: tuple[VariantInfo, ...] = ()


@dataclass
class InventorySnapshot:
    """Everything one account and region listed. `complete` is False when listing stopped early:
    then nothing may be marked deleted, because absence from a partial list proves nothing."""

    account_id: str
    region: str
    endpoints: list[EndpointInfo] = field(default_factory=list)
    complete: bool = True
    errors: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)  # listed, then gone before it could be described
