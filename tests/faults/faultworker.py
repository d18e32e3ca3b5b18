"""`python -m tests.faults.faultworker <celery arguments>`: a real Celery worker (`celery -A dashboard
worker ...`) with two test-side additions, both outside the project's code:

- FAULTS_FILE: every botocore client the process builds checks each call against that fault plan
  (tests/faults/plan.py), at botocore's `before-call` / `after-call` events, ahead of the simulated AWS
  account's own handlers. The project's code runs unchanged.
- FAULTS_CLOCK_FILE: the process's clock (datetime, time.time) is moved to the ISO time in that file with
  time-machine, and moved back to it when each task starts, so every run of a scenario sees the same
  `now` as the fault-free reference run, and their stored data can be compared row by row. Time still
  ticks within a task. The test may rewrite the file to move later runs on.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from tests.faults.plan import FaultPlan, error_body, rewrite_results

log = logging.getLogger("tests.faults")
PARAMS_KEY = "fault_plan_params"
RULES_KEY = "fault_plan_rules"


def install_clock(path: Path) -> None:
    import time_machine
    from celery.signals import task_prerun

    current: list = []

    def pin(**_):
        moment = datetime.fromisoformat(path.read_text().strip())
        if current:
            current.pop().stop()
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        current.append(traveller)

    pin()
    task_prerun.connect(pin, weak=False)


def account_of(client, service: str, operation: str, params: dict) -> str | None:
    """The account a call speaks for: the role's account for AssumeRole, else whose simulated
    credentials the client holds (the simulator remembers which account each key it issued belongs to)."""
    if service == "sts" and operation == "AssumeRole":
        parts = str(params.get("RoleArn", "")).split(":")
        return parts[4] if len(parts) > 4 else None
    from django.conf import settings

    from collectors.runtime import simulator_for

    if not settings.AWS_SIMULATOR:
        return None
    sim = simulator_for(settings.AWS_SIMULATOR)
    credentials = getattr(client._request_signer, "_credentials", None)
    issued = sim._issued.get(getattr(credentials, "access_key", None))
    return issued[0] if issued else sim.ambient_account_id


def attach(client, plan: FaultPlan) -> None:
    from botocore.awsrequest import AWSResponse

    service = client.meta.service_model.service_name
    service_id = client.meta.service_model.service_id.hyphenize()

    def capture(params, context, **_):
        context[PARAMS_KEY] = copy.deepcopy(params)

    def before(model, context, **_):
        params = context.get(PARAMS_KEY, {})
        call = {
            "service": service,
            "operation": model.name,
            "region": client.meta.region_name,
            "account": account_of(client, service, model.name, params),
            "params": params,
        }
        rules = plan.decide(call)
        context[RULES_KEY] = rules
        for rule in rules:
            if rule.get("delay"):
                time.sleep(float(rule["delay"]))  # the fault itself: a slow AWS
        for rule in rules:
            if rule.get("error"):
                status, body = error_body(rule["error"])
                log.warning("fault %s: %s:%s answered %s", rule["name"], service, model.name, body["Error"])
                return AWSResponse(None, status, {}, None), body
        return None

    def after(parsed, model, context, **_):
        for rule in context.get(RULES_KEY, []):
            if rule.get("results"):
                n = rewrite_results(parsed, context.get(PARAMS_KEY, {}), rule["results"])
                log.warning("fault %s: %d GetMetricData result(s) rewritten", rule["name"], n)
                validated(model, parsed)

    # On the service's own event names: botocore calls the handlers of a more specific name first, so
    # a handler on plain "before-call" would run after the simulator's "before-call.<service>" answer.
    client.meta.events.register_first(f"before-parameter-build.{service_id}", capture)
    client.meta.events.register_first(f"before-call.{service_id}", before)
    client.meta.events.register_first(f"after-call.{service_id}", after)


def validated(model, parsed: dict) -> dict:
    """A rewritten or made-up answer must still be one AWS could give: checked against botocore's output
    shape like every simulated answer (a failure is a bug in the test's fault, raised in the worker)."""
    from collectors.simulator.protocol import validate_response

    validate_response(model, {k: v for k, v in parsed.items() if k != "ResponseMetadata"})
    return parsed


def install_faults(path: Path) -> None:
    import botocore.client

    plan = FaultPlan(path)
    original = botocore.client.ClientCreator.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        attach(client, plan)
        attach_answers(client, plan)
        return client

    botocore.client.ClientCreator.create_client = create_client


def main() -> None:
    if os.environ.get("FAULTS_CLOCK_FILE"):
        install_clock(Path(os.environ["FAULTS_CLOCK_FILE"]))
    if os.environ.get("FAULTS_FILE"):
        install_faults(Path(os.environ["FAULTS_FILE"]))
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


def attach_answers(client, plan: FaultPlan) -> None:
    """The `answer` and `rewrite` actions (tests/faults/plan.py), acting on the rules `attach`'s
    before-call handler decided for the call (so each call is still counted once). Registered after
    `attach`'s handlers, so they run after them and still ahead of the simulator's answer."""
    from botocore.awsrequest import AWSResponse

    from tests.faults.plan import answer_body, rewrite_answer

    service = client.meta.service_model.service_name
    service_id = client.meta.service_model.service_id.hyphenize()

    def answer(model, context, **_):
        for rule in context.get(RULES_KEY, []):
            if rule.get("answer") and not rule.get("error"):
                log.warning("fault %s: %s:%s answered by the plan", rule["name"], service, model.name)
                return AWSResponse(None, 200, {}, None), validated(model, answer_body(rule["answer"]))
        return None

    def rewrite(parsed, http_response, model, context, **_):
        if http_response.status_code >= 300:
            return
        for rule in context.get(RULES_KEY, []):
            if rule.get("rewrite"):
                n = rewrite_answer(parsed, rule["rewrite"])
                log.warning("fault %s: %s:%s answer rewritten (%d)", rule["name"], service, model.name, n)
                validated(model, parsed)

    client.meta.events.register_first(f"before-call.{service_id}", answer)
    client.meta.events.register_first(f"after-call.{service_id}", rewrite)


if __name__ == "__main__":
    main()
