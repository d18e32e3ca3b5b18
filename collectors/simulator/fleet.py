"""The simulated fleet: accounts, endpoints, their variants and the knobs that shape their traffic.

Everything here is plain data and is the ground truth tests compare the dashboard against: each endpoint
says which `role` it was designed to play (see ROLES), so a test can check that a detector finds exactly
the endpoints built to trigger it.

Time anchors are relative to `anchor`, midnight UTC of the clock at construction: the idle endpoint has
had no traffic since anchor - 14 days, the runaway endpoint's traffic is x5 from anchor - 3 days.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from collectors.simulator.billing import CostLine, endpoint_cost_lines
from collectors.simulator.prices import PriceList
from collectors.simulator.traffic import DaySummary, DayTraffic, TrafficModel

SERVERLESS = "serverless"
INSTANCE = "instance"

TEAMS = ("search", "recsys", "vision", "nlp")
COST_CENTRES = {"search": "cc-4100", "recsys": "cc-4200", "vision": "cc-4300", "nlp": "cc-4400"}
READ_ONLY_ROLE = "SageMakerDashboardReadOnly"
ACCOUNT_LABELS = ("ml-platform (payer)", "ml-research", "ml-staging", "ml-sandbox")

ROLES = {
    "normal": "ordinary traffic, nothing to flag",
    "over_provisioned_memory": "serverless, uses a small fraction of its configured memory",
    "idle": "instance endpoint with no invocations for the last 14 days (still billed)",
    "throttling": "serverless at MaxConcurrency: concurrency utilisation ~1.0, throttled calls as 4XX",
    "runaway": "serverless whose traffic (so spend) is x5 over the last 3 days",
    "gpu_underused": "GPU instance endpoint whose GPUs run at a few percent",
    "provisioned_concurrency": "serverless with provisioned concurrency, spillover in bursts",
    "multi_variant": "two instance variants (champion/challenger) behind one endpoint",
    "cold_starts": "sporadic traffic on serverless: most invocations arrive cold (untagged)",
}


@dataclass(frozen=True)
class SimAccount:
    account_id: str
    label: str
    role_arn: str | None  # None for the ambient account (the credentials' own)
    regions: tuple[str, ...]


@dataclass(frozen=True)
class TrafficProfile:
    """Per-variant traffic knobs. Rates are requests per minute at the daily peak of a weekday."""

    peak_rpm: float
    daily_amplitude: float = 0.5  # trough = peak x (1 - amplitude)
    peak_hour_utc: float = 15.0
    weekend_factor: float = 0.8
    bursts_per_day: float = 0.6
    burst_multiplier: float = 2.2
    latency_ms: float = 50.0  # median model latency at moderate load
    latency_sigma: float = 0.35  # per-minute lognormal spread of model latency
    latency_load_coef: float = 0.15
    overhead_ms: float = 4.0
    overhead_sigma: float = 0.3
    client_error_rate: float = 0.002
    server_error_rate: float = 0.0005
    model_error_share: float = 0.6  # of 5XX, the part the model itself raised (instance endpoints)
    cold_start_ms: float = 4000.0
    keepalive_minutes: int = 10  # a serverless worker idle this long is recycled
    memory_used_mb: float = 0.0  # serverless: resident memory
    memory_pct: float = 40.0  # instance: host memory utilisation
    cpu_idle_pct: float = 3.0  # per vCPU
    cpu_busy_pct: float = 35.0  # per vCPU at peak load
    gpu_busy_pct: float = 55.0  # per GPU at peak load
    gpu_memory_pct: float = 45.0  # per GPU
    disk_pct: float = 25.0
    idle_from: date | None = None
    runaway_from: date | None = None
    runaway_factor: float = 1.0


@dataclass(frozen=True)
class SimVariant:
    uid: str  # account/region/endpoint/variant
    name: str
    kind: str  # SERVERLESS or INSTANCE
    weight: float
    model_name: str
    image: str
    profile: TrafficProfile
    instance_type: str | None = None
    instance_count: int | None = None
    vcpus: int = 0
    gpu_count: int = 0
    memory_mb: int | None = None
    max_concurrency: int | None = None
    provisioned_concurrency: int | None = None


@dataclass(frozen=True)
class SimEndpoint:
    account_id: str
    region: str
    name: str
    role: str
    team: str | None
    tags: dict[str, str]
    created_at: datetime
    modified_at: datetime
    variants: tuple[SimVariant, ...]

    @property
    def arn(self) -> str:
        # SageMaker lower-cases the name in ARNs.
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint/{self.name.lower()}"

    @property
    def config_name(self) -> str:
        return f"{self.name}-cfg-{self.created_at:%Y%m%d}"

    @property
    def config_arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:endpoint-config/{self.config_name.lower()}"

    @property
    def kind(self) -> str:
        kinds = {v.kind for v in self.variants}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def variant(self, name: str) -> SimVariant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"{self.name} has no variant {name!r}")


@dataclass
class Fleet:
    seed: int
    anchor: datetime  # midnight UTC of the clock at construction
    history_days: int
    accounts: tuple[SimAccount, ...]
    endpoints: list[SimEndpoint]
    prices: PriceList
    traffic: TrafficModel = field(repr=False)

    def __post_init__(self):
        self._scope: dict[tuple[str, str], list[SimEndpoint]] = {}
        self._by_key: dict[tuple[str, str, str], SimEndpoint] = {}
        for ep in self.endpoints:
            self._scope.setdefault((ep.account_id, ep.region), []).append(ep)
            self._by_key[(ep.account_id, ep.region, ep.name)] = ep
            for v in ep.variants:
                self.traffic.register(ep, v)

    def in_scope(self, account_id: str, region: str) -> list[SimEndpoint]:
        return self._scope.get((account_id, region), [])

    def find(self, account_id: str, region: str, name: str) -> SimEndpoint | None:
        return self._by_key.get((account_id, region, name))

    def endpoint(self, name: str) -> SimEndpoint:
        """By name (names are unique across this fleet, though AWS only requires it per account/region)."""
        for ep in self.endpoints:
            if ep.name == name:
                return ep
        raise KeyError(name)

    def by_role(self, role: str) -> list[SimEndpoint]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {sorted(ROLES)}")
        return [ep for ep in self.endpoints if ep.role == role]

    def day_traffic(self, endpoint: SimEndpoint, variant: str, day: date) -> DayTraffic | None:
        """The per-minute series of one variant on one UTC day (None before the endpoint existed)."""
        return self.traffic.day(endpoint.variant(variant).uid, day)

    def day_summary(self, endpoint: SimEndpoint, variant: str, day: date) -> DaySummary | None:
        return self.traffic.summary(endpoint.variant(variant).uid, day)

    def daily_cost_lines(self, endpoint: SimEndpoint, day: date) -> list[CostLine]:
        """Ground truth: what the bill says for this endpoint on this UTC day, one line per usage type
        and variant (see billing.py for the formulas)."""
        return endpoint_cost_lines(endpoint, day, self.traffic, self.prices)

    def daily_cost(self, endpoint: SimEndpoint, day: date) -> Decimal:
        return sum((line.cost for line in self.daily_cost_lines(endpoint, day)), Decimal(0))

    def daily_cost_by_usage_type(self, endpoint: SimEndpoint, day: date) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for line in self.daily_cost_lines(endpoint, day):
            out[line.usage_type] = out.get(line.usage_type, Decimal(0)) + line.cost
        return out


def account_id_for(index: int) -> str:
    """111111111111, 222222222222, ... 999999999999, then 100000000010, 100000000011, ..."""
    return str(index + 1) * 12 if index < 9 else f"{100_000_000_000 + index:012d}"


def make_accounts(count: int, regions: tuple[str, ...]) -> tuple[SimAccount, ...]:
    accounts = []
    for i in range(count):
        account_id = account_id_for(i)
        role = None if i == 0 else f"arn:aws:iam::{account_id}:role/{READ_ONLY_ROLE}"
        label = ACCOUNT_LABELS[i] if i < len(ACCOUNT_LABELS) else f"ml-account-{i + 1}"
        accounts.append(SimAccount(account_id, label, role, tuple(regions)))
    return tuple(accounts)


# --- the designed endpoints ---------------------------------------------------------------------
# (name, role, team, account index, region index, days since creation, variants); a variant is
# (name, weight, kind, instance type or memory MB, count or MaxConcurrency, provisioned, profile kwargs).
# The first eight are present whenever the fleet has at least eight endpoints.
_SPECIALS = (
    ("search-embed-serverless", "over_provisioned_memory", "search", 0, 0, 80,
     [("AllTraffic", 1.0, SERVERLESS, 6144, 20, None,
       {"peak_rpm": 180, "latency_ms": 40, "memory_used_mb": 900})]),
    ("nlp-legacy-inf2", "idle", "nlp", 0, 1, 85,
     [("AllTraffic", 1.0, INSTANCE, "ml.inf2.xlarge", 1, None,
       {"peak_rpm": 40, "latency_ms": 35, "idle_from": 14})]),
    ("recsys-ranker-serverless", "throttling", "recsys", 0, 0, 70,
     [("AllTraffic", 1.0, SERVERLESS, 2048, 4, None,
       {"peak_rpm": 1100, "latency_ms": 160, "memory_used_mb": 1400, "daily_amplitude": 0.45,
        "latency_load_coef": 0.0})]),
    ("nlp-chat-serverless", "runaway", "nlp", 1, 0, 75,
     [("AllTraffic", 1.0, SERVERLESS, 3072, 100, None,
       {"peak_rpm": 1500, "latency_ms": 300, "memory_used_mb": 2300, "runaway_from": 3,
        "runaway_factor": 5.0})]),
    ("vision-batch-p4d", "gpu_underused", "vision", 0, 0, 60,
     [("AllTraffic", 1.0, INSTANCE, "ml.p4d.24xlarge", 1, None,
       {"peak_rpm": 60, "latency_ms": 80, "gpu_busy_pct": 6.0, "gpu_memory_pct": 12.0, "memory_pct": 5.0,
        "cpu_busy_pct": 4.0})]),
    ("search-query-pc", "provisioned_concurrency", "search", 1, 1, 65,
     [("AllTraffic", 1.0, SERVERLESS, 2048, 20, 4,
       {"peak_rpm": 1500, "latency_ms": 80, "memory_used_mb": 1500, "bursts_per_day": 2.0})]),
    ("recsys-abtest", "multi_variant", "recsys", 0, 1, 50,
     [("champion", 0.9, INSTANCE, "ml.g5.2xlarge", 2, None, {"peak_rpm": 540, "latency_ms": 45}),
      ("challenger", 0.1, INSTANCE, "ml.g4dn.xlarge", 1, None, {"peak_rpm": 60, "latency_ms": 70})]),
    ("scratch-demo-serverless", "cold_starts", None, 1, 0, 45,
     [("AllTraffic", 1.0, SERVERLESS, 1024, 2, None,
       {"peak_rpm": 0.08, "daily_amplitude": 0.3, "latency_ms": 150, "memory_used_mb": 650,
        "cold_start_ms": 6500, "keepalive_minutes": 5, "bursts_per_day": 0.0})]),
    ("nlp-translate-serverless", "over_provisioned_memory", "nlp", 1, 1, 88,
     [("AllTraffic", 1.0, SERVERLESS, 4096, 10, None,
       {"peak_rpm": 90, "latency_ms": 120, "memory_used_mb": 700, "peak_hour_utc": 11})]),
    ("vision-segment-g5", "normal", "vision", 1, 0, 58,
     [("AllTraffic", 1.0, INSTANCE, "ml.g5.12xlarge", 1, None,
       {"peak_rpm": 300, "latency_ms": 120, "gpu_busy_pct": 60})]),
    ("search-rerank-g5", "normal", "search", 0, 0, 77,
     [("AllTraffic", 1.0, INSTANCE, "ml.g5.xlarge", 2, None, {"peak_rpm": 800, "latency_ms": 25})]),
    ("recsys-features-serverless", "over_provisioned_memory", "recsys", 0, 1, 66,
     [("AllTraffic", 1.0, SERVERLESS, 5120, 10, None,
       {"peak_rpm": 60, "latency_ms": 90, "memory_used_mb": 1100, "peak_hour_utc": 12})]),
)  # fmt: skip

_FILLER_WORDS = {
    "search": ("retriever", "query-encoder", "spell", "autocomplete", "ranker"),
    "recsys": ("candidates", "scorer", "similar-items", "bandit", "session"),
    "vision": ("classifier", "ocr", "detector", "captioner", "embedder"),
    "nlp": ("sentiment", "ner", "summariser", "intent", "toxicity"),
}
_FILLER_INSTANCES = ("ml.g4dn.xlarge", "ml.g4dn.2xlarge", "ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.12xlarge",
                     "ml.inf2.xlarge")  # fmt: skip
_UNTAGGED_FILLER = 21  # one filler is untagged as well, so a fleet of 22+ has two untagged endpoints


def _image(region: str, kind: str, instance_type: str | None) -> str:
    repo = f"763104351884.dkr.ecr.{region}.amazonaws.com"
    if kind == SERVERLESS:
        return f"{repo}/pytorch-inference:2.3.0-cpu-py311"
    if instance_type and instance_type.startswith("ml.inf"):
        return f"{repo}/pytorch-inference-neuronx:2.1.2-neuronx-py310-sdk2.20.0"
    return f"{repo}/pytorch-inference:2.3.0-gpu-py311"


def resolved_image(image: str) -> str:
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.split(':')[0]}@sha256:{digest}"


def _variant(ep_uid, region, prices, anchor_day, spec) -> SimVariant:
    name, weight, kind, shape, count_or_max, provisioned, knobs = spec
    knobs = dict(knobs)
    if "idle_from" in knobs:
        knobs["idle_from"] = anchor_day - timedelta(days=knobs["idle_from"])
    if "runaway_from" in knobs:
        knobs["runaway_from"] = anchor_day - timedelta(days=knobs["runaway_from"])
    profile = TrafficProfile(**knobs)
    common = {"uid": f"{ep_uid}/{name}", "name": name, "weight": weight, "profile": profile}
    model = f"{ep_uid.rsplit('/', 1)[1]}-{name.lower()}"[:63]
    if kind == SERVERLESS:
        return SimVariant(kind=SERVERLESS, model_name=model, image=_image(region, kind, None),
                          memory_mb=shape, max_concurrency=count_or_max,
                          provisioned_concurrency=provisioned, **common)  # fmt: skip
    itype = prices.instance(shape)
    return SimVariant(kind=INSTANCE, model_name=model, image=_image(region, kind, shape),
                      instance_type=shape, instance_count=count_or_max, vcpus=itype.vcpus,
                      gpu_count=itype.gpu_count, **common)  # fmt: skip


def _endpoint(seed, anchor, history_days, accounts, regions, prices, spec) -> SimEndpoint:
    name, role, team, acct_i, region_i, age_days, variant_specs = spec
    account = accounts[acct_i % len(accounts)]
    region = regions[region_i % len(regions)]
    rng = random.Random(f"{seed}|created|{name}")
    age = max(1, min(age_days, history_days))
    created = (
        anchor
        - timedelta(days=age)
        + timedelta(minutes=rng.randrange(7 * 60, 18 * 60), seconds=rng.randrange(60))
    )
    modified = min(created + timedelta(days=rng.randrange(0, 5), minutes=rng.randrange(1, 90)), anchor)
    ep_uid = f"{account.account_id}/{region}/{name}"
    variants = tuple(_variant(ep_uid, region, prices, anchor.date(), v) for v in variant_specs)
    tags = {"team": team, "cost-centre": COST_CENTRES[team], "env": "prod"} if team else {}
    return SimEndpoint(account.account_id, region, name, role, team, tags, created, modified, variants)


def _filler_spec(seed: int, index: int, history_days: int, tiers: tuple[int, ...]):
    """An ordinary endpoint: moderate, regular traffic, sized so nothing about it should be flagged."""
    rng = random.Random(f"{seed}|filler|{index}")
    team = TEAMS[rng.randrange(len(TEAMS))]
    word = rng.choice(_FILLER_WORDS[team])
    name = f"{team}-{word}-{index:03d}"
    common = {
        "daily_amplitude": round(rng.uniform(0.2, 0.6), 3),
        "peak_hour_utc": round(rng.uniform(9, 20), 2),
        "weekend_factor": round(rng.uniform(0.7, 0.95), 3),
        "latency_sigma": round(rng.uniform(0.25, 0.5), 3),
    }
    age = rng.randint(30, max(30, history_days - 1))
    if rng.random() < 0.6:
        memory = rng.choice(tiers)
        latency = math.exp(rng.uniform(math.log(15), math.log(250)))
        peak = math.exp(rng.uniform(math.log(5), math.log(400)))
        # Size MaxConcurrency so a burst at peak stays under half of it: nothing to flag.
        # concurrency = rate x latency, x1.4 within-minute peak, x2.2 burst, x1.35 latency under load
        busy = peak / 60 * latency / 1000 * 1.4 * 2.2 * 1.35
        max_conc = min(200, max(2, math.ceil(busy / 0.5)))
        # Memory in use high enough that, with the insights' default 30% headroom, no smaller tier fits
        # (and under 80%, so noise never reaches the under-provisioned threshold).
        low = max(0.55, (memory - 1024) / (1.3 * memory) + 0.03)
        knobs = dict(common, peak_rpm=round(peak, 2), latency_ms=round(latency, 1),
                     memory_used_mb=round(memory * rng.uniform(low, 0.80)))  # fmt: skip
        variants = [("AllTraffic", 1.0, SERVERLESS, memory, max_conc, None, knobs)]
    else:
        itype = rng.choice(_FILLER_INSTANCES)
        count = rng.choice((1, 1, 2, 3))
        knobs = dict(common, peak_rpm=round(math.exp(rng.uniform(math.log(20), math.log(600))), 2),
                     latency_ms=round(rng.uniform(20, 200), 1), gpu_busy_pct=round(rng.uniform(40, 75), 1),
                     gpu_memory_pct=round(rng.uniform(35, 70), 1), memory_pct=round(rng.uniform(30, 70), 1),
                     cpu_busy_pct=round(rng.uniform(20, 50), 1))  # fmt: skip
        if rng.random() < 0.15:
            share = dict(knobs, peak_rpm=round(knobs["peak_rpm"] * 0.2, 2))
            knobs["peak_rpm"] = round(knobs["peak_rpm"] * 0.8, 2)
            variants = [("AllTraffic", 0.8, INSTANCE, itype, count, None, knobs),
                        ("candidate", 0.2, INSTANCE, itype, 1, None, share)]  # fmt: skip
        else:
            variants = [("AllTraffic", 1.0, INSTANCE, itype, count, None, knobs)]
    team_tag = None if index == _UNTAGGED_FILLER else team
    return (name, "normal", team_tag, rng.randrange(64), rng.randrange(64), age, variants)


def build_fleet(*, seed, anchor, endpoints, accounts, regions, history_days, prices, traffic) -> Fleet:
    specs = list(_SPECIALS[:endpoints])
    specs += [_filler_spec(seed, i, history_days, prices.memory_tiers_mb)
              for i in range(len(specs), endpoints)]  # fmt: skip
    built = [_endpoint(seed, anchor, history_days, accounts, regions, prices, s) for s in specs]
    return Fleet(seed, anchor, history_days, accounts, built, prices, traffic)
