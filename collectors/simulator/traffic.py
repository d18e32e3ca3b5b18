"""Per-minute traffic of one variant on one UTC day, generated lazily, deterministically, and cached.

Each (seed, variant, day) draws from its own `random.Random`s seeded with strings (random hashes str
seeds with SHA-512, so this is stable across processes, unlike the salted `hash()`). A serverless day has
two streams: the demand stream (requests, latency, concurrency: all the bill needs) and the details
stream (errors, cold starts, overhead, memory), so costs over a long window never generate the details.
Daily totals are kept for good; the minute arrays only in a bounded LRU cache.

The model, per minute m:
- demand = Poisson(peak_rpm x daily cosine cycle x weekend factor x bursts x day noise), x5 for the
  runaway endpoint over its last days, 0 for the idle one;
- model latency is lognormal: log-location mu_m (load raises it), a fixed sigma per variant; the
  minute's mean is exp(mu_m + sigma^2 / 2). Overhead latency likewise, plus cold-start setup time;
- serverless concurrency (Little's law x a within-minute peak factor) is capped at MaxConcurrency:
  demand above the cap is throttled (counted as 4XX, not as Invocations, and not billed);
- serverless workers stay warm `keepalive_minutes`; scaling above the warm count is a cold start;
- instance hosts publish CPU/GPU/memory/disk every minute whatever the traffic.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.simulator.fleet import SimEndpoint, SimVariant

MINUTES = 1440
_ZBITS = 12
# Standard normal quantiles on a 4096-point grid, indexed by getrandbits(12): a table lookup is several
# times cheaper than random.gauss, and the day's loop draws a few per minute.
_Z = tuple(NormalDist().inv_cdf((i + 0.5) / 2**_ZBITS) for i in range(2**_ZBITS))
_NOISE = tuple(1.0 + 0.08 * z for z in _Z)  # minute-to-minute demand noise, multiplicative


@dataclass(frozen=True, slots=True)
class DaySummary:
    """Billable usage of one variant on one day."""

    invocations: int
    duration_us: float  # sum over invocations of model latency (all of it: on-demand + provisioned)
    provisioned_invocations: int  # served by provisioned concurrency
    provisioned_duration_us: float
    alive_seconds: int  # seconds of the day the endpoint existed


class DayTraffic:
    """The minute arrays (index 0 = 00:00 UTC). Minutes before `start` (creation) carry no data."""

    __slots__ = ("cold", "conc", "cpu", "day", "disk", "err4", "err5", "errm", "gpu", "gpumem", "inv", "kind",
                 "lat_mu", "lat_sigma", "mem", "ovh_mu", "ovh_sigma", "pc_exec", "pc_inv", "setup", "start",
                 "summary", "util")  # fmt: skip

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def _zeros(typecode: str) -> array:
    return array(typecode, bytes(array(typecode).itemsize * MINUTES))


def _shape(profile, day: date, rng: random.Random) -> list[float]:
    """Demand relative to the variant's weekday peak, per minute of the day."""
    if profile.idle_from and day >= profile.idle_from:
        return [0.0] * MINUTES
    level = profile.weekend_factor if day.weekday() >= 5 else 1.0
    level *= math.exp(0.04 * rng.gauss(0, 1))
    if profile.runaway_from and day >= profile.runaway_from:
        level *= profile.runaway_factor
    amp, peak_hour, two_pi = profile.daily_amplitude, profile.peak_hour_utc, 2 * math.pi
    shape = [level * (1.0 - amp * (1.0 - math.cos(two_pi * (m / 60.0 - peak_hour) / 24.0)) / 2.0)
             for m in range(MINUTES)]  # fmt: skip
    # Poisson number of bursts (few: a plain inverse-CDF walk), each 5-30 minutes at up to x multiplier.
    bursts, p, limit = 0, rng.random(), math.exp(-profile.bursts_per_day)
    while p > limit:
        bursts += 1
        p *= rng.random()
    for _ in range(bursts):
        begin, length = rng.randrange(MINUTES), rng.randint(5, 30)
        mult = 1.0 + (profile.burst_multiplier - 1.0) * rng.uniform(0.5, 1.0)
        for m in range(begin, min(MINUTES, begin + length)):
            shape[m] *= mult
    return shape


def _alive(created_at: datetime, day: date) -> tuple[int, int] | None:
    """(first minute with data, seconds alive) for the day, None before creation."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    offset = (created_at - midnight).total_seconds()
    if offset >= 86400:
        return None
    if offset <= 0:
        return 0, 86400
    return min(MINUTES, math.ceil(offset / 60)), int(86400 - offset)


def generate_day(variant: SimVariant, created_at: datetime, seed: int, day: date) -> DayTraffic | None:
    alive = _alive(created_at, day)
    if alive is None:
        return None
    start, alive_seconds = alive
    if variant.kind == "serverless":
        demand = serverless_demand(variant, seed, day, start, alive_seconds)
        details = random.Random(f"{seed}|details|{variant.uid}|{day.isoformat()}")
        return _serverless_details(variant, day, details, start, demand)
    rng = random.Random(f"{seed}|traffic|{variant.uid}|{day.isoformat()}")
    shape = _shape(variant.profile, day, rng)
    age_days = (day - created_at.date()).days
    return _instance_day(variant, day, rng, shape, start, alive_seconds, age_days)


@dataclass(frozen=True, slots=True)
class Demand:
    """The billable part of a serverless day, drawn from its own stream so the bill can be computed
    without the rest of the metrics: requests served, their latency, concurrency, throttled requests."""

    inv: array
    lat_mu: array
    conc: array
    throttled: array
    summary: DaySummary


def serverless_demand(v: SimVariant, seed: int, day: date, start: int, alive_seconds: int) -> Demand:
    rng = random.Random(f"{seed}|traffic|{v.uid}|{day.isoformat()}")
    shape = _shape(v.profile, day, rng)
    p = v.profile
    rand, bits, exp, sqrt, Z, NZ = rng.random, rng.getrandbits, math.exp, math.sqrt, _Z, _NOISE
    inv, throttled_a, lat_mu, conc_a = _zeros("l"), _zeros("l"), _zeros("d"), _zeros("d")
    pc = v.provisioned_concurrency or 0
    maxc, peak = v.max_concurrency, p.peak_rpm
    mu0, hv = math.log(p.latency_ms * 1000.0), p.latency_sigma**2 / 2
    total_inv = pc_total = 0
    total_dur = pc_dur = 0.0
    for m in range(start, MINUTES):
        load = shape[m]
        lam = peak * load * NZ[bits(12)]
        if lam < 15.0:
            limit, d, q = exp(-lam), 0, rand()
            while q > limit:
                d += 1
                q *= rand()
        else:
            d = int(lam + sqrt(lam) * Z[bits(12)] + 0.5)
        if d <= 0:
            continue
        mu = mu0 + p.latency_load_coef * (min(load, 2.0) - 0.6) + 0.05 * Z[bits(12)]
        mean_us = exp(mu + hv)
        conc = d * mean_us * (1.2 + 0.3 * rand()) / 60e6
        if conc > maxc:
            served = int(d * maxc / conc)
            throttled_a[m], conc = d - served, float(maxc)
        else:
            served = d
        inv[m] = served
        lat_mu[m] = mu
        conc_a[m] = conc
        total_inv += served
        total_dur += served * mean_us
        if pc:
            on_pc = served if conc <= pc else int(served * pc / conc + 0.5)
            pc_total += on_pc
            pc_dur += on_pc * mean_us
    summary = DaySummary(total_inv, total_dur, pc_total, pc_dur, alive_seconds)
    return Demand(inv, lat_mu, conc_a, throttled_a, summary)


def _serverless_details(
    v: SimVariant, day: date, rng: random.Random, start: int, demand: Demand
) -> DayTraffic:
    """Errors, cold starts, overhead latency, memory and provisioned-concurrency series of a day."""
    p = v.profile
    rand, bits, exp, log, ceil, Z = rng.random, rng.getrandbits, math.exp, math.log, math.ceil, _Z
    inv, conc_a, throttled = demand.inv, demand.conc, demand.throttled
    err4, err5, cold = _zeros("l"), _zeros("l"), _zeros("l")
    ovh_mu, setup, util, mem = (_zeros("d") for _ in range(4))
    pc = v.provisioned_concurrency or 0
    pc_inv, pc_exec = (_zeros("l"), _zeros("d")) if pc else (None, None)
    maxc = v.max_concurrency
    mo0, hvo = log(p.overhead_ms * 1000.0), p.overhead_sigma**2 / 2
    used_pct = 100.0 * p.memory_used_mb / v.memory_mb
    # The day starts as warm as its first minute needs (yesterday's last minutes left it so).
    warm, below, keep = max(pc, ceil(conc_a[start]) if start < MINUTES else 0), 0, p.keepalive_minutes
    for m in range(start, MINUTES):
        served = inv[m]
        if not served:
            if warm > pc:
                below += 1
                if below >= keep:
                    warm, below = pc, 0
            continue
        conc = conc_a[m]
        need = ceil(conc)
        cs = 0
        if need > warm:
            cs, warm, below = min(need - warm, served), need, 0
        elif need < warm:
            below += 1
            if below >= keep:
                warm, below = max(need, pc), 0
        else:
            below = 0
        util[m] = conc / maxc
        err4[m] = int(served * p.client_error_rate + rand()) + throttled[m]
        err5[m] = int(served * p.server_error_rate + rand())
        ovh_mean = exp(mo0 + 0.08 * Z[bits(12)] + hvo)
        if cs:
            cold[m] = cs
            setup[m] = s = p.cold_start_ms * 1000.0 * exp(0.2 * Z[bits(12)])
            ovh_mean += cs * s / served
        ovh_mu[m] = log(ovh_mean) - hvo
        mem[m] = min(100.0, max(1.0, used_pct * (1.0 + 0.03 * Z[bits(12)])))
        if pc:
            # Same rounding as the bill's split in serverless_demand.
            pc_inv[m] = served if conc <= pc else int(served * pc / conc + 0.5)
            pc_exec[m] = min(conc, float(pc))
    return DayTraffic(kind="serverless", day=day, start=start, inv=inv, err4=err4, err5=err5,
                      lat_mu=demand.lat_mu, lat_sigma=p.latency_sigma, ovh_mu=ovh_mu,
                      ovh_sigma=p.overhead_sigma, cold=cold, setup=setup, conc=conc_a, util=util, mem=mem,
                      pc_inv=pc_inv, pc_exec=pc_exec, summary=demand.summary)  # fmt: skip


def _instance_day(v: SimVariant, day, rng, shape, start, alive_seconds, age_days) -> DayTraffic:
    p = v.profile
    rand, bits, exp, sqrt, Z, NZ = rng.random, rng.getrandbits, math.exp, math.sqrt, _Z, _NOISE
    inv, err4, err5, errm = _zeros("l"), _zeros("l"), _zeros("l"), _zeros("l")
    lat_mu, ovh_mu, conc_a, mem, cpu, disk = (_zeros("d") for _ in range(6))
    gpus, vcpus = v.gpu_count, v.vcpus
    gpu, gpumem = (_zeros("d"), _zeros("d")) if gpus else (None, None)
    peak = p.peak_rpm
    mu0, hv = math.log(p.latency_ms * 1000.0), p.latency_sigma**2 / 2
    mo0 = math.log(p.overhead_ms * 1000.0)
    disk_level = min(90.0, p.disk_pct + 0.05 * age_days)
    total_inv = 0
    total_dur = 0.0
    for m in range(start, MINUTES):
        load = shape[m]
        lam = peak * load * NZ[bits(12)]
        if lam < 15.0:
            limit, d, q = exp(-lam), 0, rand()
            while q > limit:
                d += 1
                q *= rand()
        else:
            d = max(0, int(lam + sqrt(lam) * Z[bits(12)] + 0.5))
        work = d / peak if d else 0.0
        cpu[m] = vcpus * min(100.0, max(0.2, p.cpu_idle_pct + p.cpu_busy_pct * work + 1.5 * Z[bits(12)]))
        mem[m] = min(100.0, max(1.0, p.memory_pct + 3.0 * min(work, 1.5) + 0.5 * Z[bits(12)]))
        disk[m] = disk_level
        if gpus:
            busy = p.gpu_busy_pct * work + 0.8 * Z[bits(12)]
            gpu[m] = gpus * min(100.0, max(0.0, busy))
            gpumem[m] = gpus * min(100.0, max(0.0, p.gpu_memory_pct + 0.7 * Z[bits(12)]))
        if d <= 0:
            continue
        mu = mu0 + p.latency_load_coef * (min(load, 2.0) - 0.6) + 0.05 * Z[bits(12)]
        mean_us = exp(mu + hv)
        inv[m] = d
        lat_mu[m] = mu
        ovh_mu[m] = mo0 + 0.08 * Z[bits(12)]
        conc_a[m] = d * mean_us * (1.2 + 0.3 * rand()) / 60e6
        err4[m] = int(d * p.client_error_rate + rand())
        err5[m] = e5 = int(d * p.server_error_rate + rand())
        errm[m] = int(e5 * p.model_error_share + rand()) if e5 else 0
        total_inv += d
        total_dur += d * mean_us
    summary = DaySummary(total_inv, total_dur, 0, 0.0, alive_seconds)
    return DayTraffic(kind="instance", day=day, start=start, inv=inv, err4=err4, err5=err5, errm=errm,
                      lat_mu=lat_mu, lat_sigma=p.latency_sigma, ovh_mu=ovh_mu, ovh_sigma=p.overhead_sigma,
                      conc=conc_a, mem=mem, cpu=cpu, gpu=gpu, gpumem=gpumem, disk=disk,
                      summary=summary)  # fmt: skip


class TrafficModel:
    """Traffic for every registered variant: minute arrays through a bounded LRU cache, daily
    summaries (small) memoised for good so costs over a long window are generated once."""

    def __init__(self, seed: int, cache_days: int = 384):
        self.seed = seed
        self._variants: dict[str, tuple[SimEndpoint, SimVariant]] = {}
        self._summaries: dict[tuple[str, int], DaySummary | None] = {}
        self._cached = lru_cache(maxsize=cache_days)(self._generate)

    def register(self, endpoint: SimEndpoint, variant: SimVariant) -> None:
        self._variants[variant.uid] = (endpoint, variant)

    def _generate(self, uid: str, ordinal: int) -> DayTraffic | None:
        endpoint, variant = self._variants[uid]
        return generate_day(variant, endpoint.created_at, self.seed, date.fromordinal(ordinal))

    def day(self, uid: str, day: date) -> DayTraffic | None:
        traffic = self._cached(uid, day.toordinal())
        if traffic is not None:
            self._summaries[(uid, day.toordinal())] = traffic.summary
        return traffic

    def summary(self, uid: str, day: date) -> DaySummary | None:
        """A day's totals; for serverless, from the demand stream alone (the bill needs nothing more)."""
        key = (uid, day.toordinal())
        if key not in self._summaries:
            endpoint, variant = self._variants[uid]
            alive = _alive(endpoint.created_at, day)
            if alive is None:
                self._summaries[key] = None
            elif variant.kind == "serverless":
                self._summaries[key] = serverless_demand(variant, self.seed, day, *alive).summary
            else:
                self._summaries[key] = self._cached(uid, key[1]).summary
        return self._summaries[key]

    def alive_seconds(self, uid: str, day: date) -> int:
        """Seconds of the day the variant's endpoint existed: all instance billing needs, so instance
        costs never generate minutes."""
        alive = _alive(self._variants[uid][0].created_at, day)
        return 0 if alive is None else alive[1]
