"""Fault rules for the simulated AWS account, injected at botocore's level inside a real worker process.

A plan is a JSON file the test writes (and may rewrite mid-run); every AWS call the worker makes is
checked against it. A rule matches on service, operation, the account the call speaks for, region and
API parameters, lets its first `skip` matches through, then fires `times` times (null: for ever):
- `error`: the call is answered with this AWS error (botocore raises its modelled ClientError). It is
  answered at `before-call`, where the simulator answers too, so it comes back at once: botocore's own
  retry loop (which sits below `before-call`, around the HTTP send) is not exercised by it. Retries of a
  throttled HTTP request are tested against moto over HTTP (tests/collectors/metrics/test_fetch_moto.py).
- `results`: a GetMetricData answer has the results whose metric name matches `metric` rewritten to
  `status` (Forbidden, InternalError, PartialData) with no data and a message.
- `delay`: the call sleeps that many seconds first (a slow AWS, a window to kill the worker in).

How often each rule matched and fired is counted in a state file beside the plan (flock'd, so every pool
process of the worker counts into the same place); tests assert the fault really happened.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class FaultPlan:
    path: Path

    @property
    def state_path(self) -> Path:
        return self.path.with_suffix(".state.json")

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(".lock")

    # --- the test's side ---------------------------------------------------------------------------
    def write(self, rules: list[dict]) -> None:
        names = [r["name"] for r in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique: {names}")
        with self._locked():
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"rules": rules}, indent=1))
            tmp.replace(self.path)

    def clear(self) -> None:
        self.write([])

    def counts(self, name: str) -> dict[str, int]:
        """{"matched": n, "fired": m} for a rule, across every process of the worker."""
        with self._locked():
            state = self._read_state()
        return state.get(name, {"matched": 0, "fired": 0})

    def fired(self, name: str) -> int:
        return self.counts(name)["fired"]

    # --- the worker's side -------------------------------------------------------------------------
    def decide(self, call: dict[str, Any]) -> list[dict]:
        """The rules that fire for this call (counted as they are decided)."""
        if not self.path.exists():
            return []
        with self._locked():
            rules = json.loads(self.path.read_text())["rules"]
            state = self._read_state()
            firing = []
            for rule in rules:
                if not _matches(rule, call):
                    continue
                counts = state.setdefault(rule["name"], {"matched": 0, "fired": 0})
                counts["matched"] += 1
                if counts["matched"] <= rule.get("skip", 0):
                    continue
                times = rule.get("times")
                if times is not None and counts["fired"] >= times:
                    continue
                counts["fired"] += 1
                firing.append(rule)
            self.state_path.write_text(json.dumps(state))
        return firing

    def _read_state(self) -> dict:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    @contextmanager
    def _locked(self):
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _matches(rule: dict, call: dict) -> bool:
    for key in ("service", "operation", "account", "region"):
        if rule.get(key) not in (None, "*", call.get(key)):
            return False
    params = call.get("params") or {}
    return all(params.get(k) == v for k, v in (rule.get("params") or {}).items())


def error_body(error: dict) -> tuple[int, dict]:
    status = int(error.get("status", 400))
    body = {
        "Error": {"Code": error["code"], "Message": error.get("message", error["code"])},
        "ResponseMetadata": {"RequestId": "fault-injected", "HTTPStatusCode": status},
    }
    return status, body


def rewrite_results(parsed: dict, params: dict, spec: dict) -> int:
    """Rewrite the GetMetricData results of the queries for `spec["metric"]` (all, if unset) as CloudWatch
    reports a failed query; returns how many were rewritten."""
    metric_of = {
        q["Id"]: q.get("MetricStat", {}).get("Metric", {}).get("MetricName")
        for q in params.get("MetricDataQueries", [])
    }
    hit = 0
    for result in parsed.get("MetricDataResults", []):
        wanted = spec.get("metric")
        if wanted and metric_of.get(result.get("Id")) != wanted:
            continue
        status = spec["status"]
        result.update(StatusCode=status)
        if status != "PartialData":
            result.update(Timestamps=[], Values=[])
        result["Messages"] = [{"Code": spec.get("code", status), "Value": spec.get("message", "injected")}]
        hit += 1
    return hit


# --- `answer` and `rewrite`: AWS changing under the collector -----------------------------------------
# - `answer` {"body": {...}}: the call is answered with this body (HTTP 200) instead of the simulator's,
#   e.g. DescribeEndpointConfig of a config the simulator does not model.
# - `rewrite` {"fields": {...}, "variants": {VariantName: {...}}}: a successful answer has these top-level
#   fields set, and its ProductionVariants of those names updated (a dict value is merged one level
#   deep), e.g. DescribeEndpoint of an endpoint whose config was replaced.
def answer_body(spec: dict) -> dict:
    import copy

    body = copy.deepcopy(spec["body"])
    body["ResponseMetadata"] = {"RequestId": "fault-answered", "HTTPStatusCode": 200, "HTTPHeaders": {}}
    return body


def rewrite_answer(parsed: dict, spec: dict) -> int:
    """Apply a `rewrite` to a parsed answer in place; returns how many fields and variants it changed."""
    import copy

    parsed.update(copy.deepcopy(spec.get("fields") or {}))
    changed = len(spec.get("fields") or {})
    wanted = spec.get("variants") or {}
    for variant in parsed.get("ProductionVariants") or []:
        for key, value in copy.deepcopy(wanted.get(variant.get("VariantName"), {})).items():
            if isinstance(value, dict) and isinstance(variant.get(key), dict):
                variant[key].update(value)
            else:
                variant[key] = value
        changed += variant.get("VariantName") in wanted
    return changed
