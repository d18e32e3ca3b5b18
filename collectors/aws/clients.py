"""The one place boto3 clients are built: per account (assuming its role), per region, one shared Config.

Endpoints come from the environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), which boto3 reads
itself, never from code. Hooks run on every client built here; the simulated AWS account plugs in as
one (see collectors/simulator), so the collectors run unchanged against it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import RefreshableCredentials

from collectors.model import AccountTarget

# A hook receives each new client and the account id it speaks for (None: the ambient credentials'
# account, not yet known).
ClientHook = Callable[[BaseClient, "str | None"], None]

# Cost Explorer has a single endpoint, in us-east-1, whatever region the fleet is in.
GLOBAL_SERVICE_REGIONS = {"ce": "us-east-1"}


def default_config(*, max_attempts: int = 5, read_timeout: int = 60) -> Config:
    # standard mode retries throttling (CloudWatch Throttling, CE LimitExceededException) with jittered
    # backoff; botocore's default legacy mode does not retry CE's LimitExceededException.
    return Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        read_timeout=read_timeout,
        connect_timeout=10,
        user_agent_extra="sagemaker-cost-dashboard",
    )


@dataclass
class CallLog:
    """AWS calls made (per 'service:Operation', each page counted) and CloudWatch metrics requested.

    Counted at botocore's before-call, i.e. once per logical call: retries of a throttled request are
    not counted again (AWS does not bill them either)."""

    calls: Counter = field(default_factory=Counter)
    metrics_requested: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def attach(self, client: BaseClient) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register("before-parameter-build.*.*", self._make_counter(service))

    def _make_counter(self, service: str):
        def count(params, model, **_):
            with self._lock:
                self.calls[f"{service}:{model.name}"] += 1
                if model.name == "GetMetricData":
                    self.metrics_requested += len(params.get("MetricDataQueries", ()))

        return count

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.calls.items()))


class ClientFactory:
    def __init__(
        self,
        *,
        session: boto3.Session | None = None,
        hooks: Sequence[ClientHook] = (),
        config: Config | None = None,
        role_session_name: str = "sagemaker-cost-dashboard",
        call_log: CallLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._session = session or boto3.Session()
        self._hooks = list(hooks)
        self._config = config or default_config()
        self._role_session_name = role_session_name
        self.call_log = call_log if call_log is not None else CallLog()
        self._clock = clock
        self._role_sessions: dict[tuple[str, str | None], boto3.Session] = {}
        self._lock = threading.Lock()

    def client(self, service: str, *, account: AccountTarget, region: str) -> BaseClient:
        region = GLOBAL_SERVICE_REGIONS.get(service, region)
        session = self._session_for(account, region)
        return self._build(session, service, region, account.account_id)

    def caller_account_id(self, region: str = "us-east-1") -> str:
        """The account id of the ambient credentials (STS GetCallerIdentity)."""
        sts = self._build(self._session, "sts", region, None)
        return sts.get_caller_identity()["Account"]

    def _build(self, session: boto3.Session, service: str, region: str, account_id: str | None) -> BaseClient:
        client = session.client(service, region_name=region, config=self._config)
        # The call log first: a hook that answers the call (the simulator) must not hide it from the count.
        self.call_log.attach(client)
        for hook in self._hooks:
            hook(client, account_id)
        return client

    def _session_for(self, account: AccountTarget, region: str) -> boto3.Session:
        if not account.role_arn:
            return self._session
        key = (account.role_arn, account.external_id)
        with self._lock:
            cached = self._role_sessions.get(key)
            if cached:
                return cached
            sts = self._build(self._session, "sts", region, None)
            kwargs = {"RoleArn": account.role_arn, "RoleSessionName": self._role_session_name}
            if account.external_id:
                kwargs["ExternalId"] = account.external_id

            def assume() -> dict:
                creds = sts.assume_role(**kwargs)["Credentials"]
                return {
                    "access_key": creds["AccessKeyId"],
                    "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"],
                    "expiry_time": creds["Expiration"].isoformat(),
                }

            # Refreshable: botocore assumes the role again shortly before the credentials expire (from
            # 15 minutes ahead), so clients built once per run keep working however long the run takes.
            first = assume()
            credentials = RefreshableCredentials(
                first["access_key"], first["secret_key"], first["token"],
                datetime.fromisoformat(first["expiry_time"]), refresh_using=assume, method="assume-role",
                time_fetcher=self._clock,
            )  # fmt: skip
            core = botocore.session.get_session()
            core._credentials = credentials  # botocore has no public setter for a credentials object
            session = boto3.Session(botocore_session=core)
            self._role_sessions[key] = session
            return session
