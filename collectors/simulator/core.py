"""The simulated AWS account and its plumbing below boto3 (the way botocore's own Stubber works).

For each client: a `before-parameter-build.<service>` handler keeps a deep copy of the caller's API
params in the request `context`; a `before-call.<service>` handler answers from the model, returning
`(AWSResponse(None, status, {}, None), parsed)`, so botocore never builds an HTTP request. Every
successful answer is validated against botocore's output shape (a failure is a SimulatorBug); errors
come back as AWS error bodies, so botocore raises its (modelled) ClientError. A `before-send` handler
refuses any request that would still reach the network.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.awsrequest import AWSResponse

from collectors.simulator import cloudwatch, costexplorer, sagemaker, sts
from collectors.simulator.fleet import Fleet, SimAccount, build_fleet, make_accounts
from collectors.simulator.prices import load_prices
from collectors.simulator.protocol import AWSError, Call, NotSimulated, request_id, to_utc, validate_response
from collectors.simulator.traffic import TrafficModel

HANDLERS = {
    "sagemaker": sagemaker.HANDLERS,
    "sts": sts.HANDLERS,
    "cloudwatch": cloudwatch.HANDLERS,
    "ce": costexplorer.HANDLERS,
}
PARAMS_KEY = "simulated_aws_params"
SPEC_KEYS = {
    "seed": int,
    "endpoints": int,
    "accounts": int,
    "regions": str,
    "history_days": int,
    "metric_page_points": int,
    "ce_page_size": int,
}
_DEFAULT_SPECS = {"1", "on", "true", "yes", "default"}
_OFF_SPECS = {"0", "off", "false", "no", "none"}
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def refuse_network(request, **_):
    raise RuntimeError(f"simulated client tried to reach the network ({request.method} {request.url})")


class SimulatedAWS:
    def __init__(
        self,
        seed: int = 7,
        *,
        clock: Callable[[], datetime] | None = None,
        endpoints: int = 40,
        accounts: int = 2,
        regions: tuple[str, ...] = ("us-east-1", "eu-west-1"),
        history_days: int = 90,
        metric_page_points: int = 100_800,
        ce_page_size: int = 1000,
        traffic_cache_days: int = 384,
    ):
        regions = tuple(regions)
        problems = [
            f"{name} must be at least {low} (got {value})"
            for name, value, low in (
                ("endpoints", endpoints, 1),
                ("accounts", accounts, 1),
                ("history_days", history_days, 1),
                ("metric_page_points", metric_page_points, 1),
                ("ce_page_size", ce_page_size, 1),
            )
            if value < low
        ]
        problems += [f"region {r!r} is not a region name" for r in regions if not _REGION.match(r)]
        if not regions or len(set(regions)) != len(regions):
            problems.append(f"regions must be distinct and at least one (got {regions})")
        if accounts > 90:
            problems.append(f"accounts must be at most 90 (got {accounts})")
        if problems:
            raise ValueError("SimulatedAWS: " + "; ".join(problems))
        self.seed = seed
        self._clock = clock or (lambda: datetime.now(UTC))
        self.metric_page_points = metric_page_points
        self.ce_page_size = ce_page_size
        self.accounts: list[SimAccount] = list(make_accounts(accounts, regions))
        self.ambient_account_id = self.accounts[0].account_id
        # Resource-level cost data is opted in for the payer only.
        self.resource_level_accounts = frozenset({self.ambient_account_id})
        anchor = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        self.fleet: Fleet = build_fleet(
            seed=seed,
            anchor=anchor,
            endpoints=endpoints,
            accounts=tuple(self.accounts),
            regions=regions,
            history_days=history_days,
            prices=load_prices(),
            traffic=TrafficModel(seed, cache_days=traffic_cache_days),
        )
        self.metric_results: OrderedDict = OrderedDict()  # GetMetricData answers kept for their next pages
        self._issued: dict[str, tuple[str, str]] = {}  # AssumeRole access key -> (account id, session name)
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str, clock: Callable[[], datetime] | None = None) -> SimulatedAWS:
        """'seed=7,endpoints=40,accounts=2,regions=us-east-1+eu-west-1'; '1' / 'on' / 'default' for
        the defaults. Keys: seed, endpoints, accounts, regions ('+'-separated), history_days,
        metric_page_points, ce_page_size."""
        text = (spec or "").strip()
        if text.lower() in _DEFAULT_SPECS:
            return cls(clock=clock)
        if not text:
            raise ValueError("AWS simulator spec is empty: use 'default' or e.g. 'seed=7,endpoints=40'")
        if text.lower() in _OFF_SPECS:
            raise ValueError(f"AWS simulator spec {spec!r} means disabled: do not build a simulator for it")
        kwargs: dict = {}
        for part in text.split(","):
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep or not value:
                raise ValueError(f"AWS simulator spec {spec!r}: {part!r} is not key=value")
            if key not in SPEC_KEYS:
                raise ValueError(
                    f"AWS simulator spec {spec!r}: unknown key {key!r}; known: {', '.join(SPEC_KEYS)}"
                )
            if key in kwargs:
                raise ValueError(f"AWS simulator spec {spec!r}: {key!r} given twice")
            if key == "regions":
                kwargs[key] = tuple(r.strip() for r in value.split("+"))
                continue
            try:
                kwargs[key] = int(value)
            except ValueError:
                raise ValueError(
                    f"AWS simulator spec {spec!r}: {key} must be an integer, not {value!r}"
                ) from None
        seed = kwargs.pop("seed", 7)
        return cls(seed, clock=clock, **kwargs)

    def now(self) -> datetime:
        return to_utc(self._clock())

    def account(self, account_id: str) -> SimAccount | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)

    def remember_credentials(self, access_key: str, account_id: str, session_name: str) -> None:
        with self._lock:
            self._issued[access_key] = (account_id, session_name)

    def _identity(self, client, account_id: str | None) -> tuple[str, str | None]:
        """Which account a client speaks for: the one it was built for, else the account whose
        simulated AssumeRole issued its credentials, else the ambient one."""
        credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
        access_key = getattr(credentials, "access_key", None)
        with self._lock:
            issued = self._issued.get(access_key)
        if account_id is None:
            return (issued[0], issued[1]) if issued else (self.ambient_account_id, None)
        session = issued[1] if issued and issued[0] == account_id else None
        return account_id, session

    def attach(self, client, account_id: str | None = None) -> None:
        """A ClientFactory hook: this client is now answered by the simulated account (None = ambient)."""
        model = client.meta.service_model
        service, service_id = model.service_name, model.service_id.hyphenize()
        handlers = HANDLERS.get(service, {})
        acct_id, session_name = self._identity(client, account_id)
        region = client.meta.region_name

        def capture(params, context, **_):
            context[PARAMS_KEY] = copy.deepcopy(params)

        def answer(model, context, **_):
            params = context.get(PARAMS_KEY, {})
            handler = handlers.get(model.name)
            if handler is None:
                raise NotSimulated(f"the simulated AWS account does not model {service}:{model.name}")
            rid = request_id(service, model.name, acct_id, region, params)
            account = self.account(acct_id)
            try:
                if account is None:
                    code = "InvalidClientTokenId" if service == "sts" else "UnrecognizedClientException"
                    raise AWSError(code, "The security token included in the request is invalid.", 403)
                call = Call(self, account, region, model.name, self.now(), session_name)
                parsed = handler(call, params)
            except AWSError as error:
                body = {
                    "Error": {"Code": error.code, "Message": error.message},
                    "ResponseMetadata": {"RequestId": rid, "HTTPStatusCode": error.status},
                }
                return AWSResponse(None, error.status, {}, None), body
            validate_response(model, parsed)
            parsed["ResponseMetadata"] = {
                "RequestId": rid,
                "HTTPStatusCode": 200,
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            }
            return AWSResponse(None, 200, {}, None), parsed

        client.meta.events.register(f"before-parameter-build.{service_id}", capture)
        client.meta.events.register(f"before-call.{service_id}", answer)
        client.meta.events.register("before-send", refuse_network)
