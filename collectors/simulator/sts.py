"""STS: who am I, and AssumeRole into the other simulated accounts' read-only role."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from collectors.simulator.fleet import READ_ONLY_ROLE
from collectors.simulator.protocol import AWSError, Call

OPERATOR_USER = "dashboard-operator"


def _hex(*parts: object, length: int) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:length].upper()


def caller_arn(call: Call) -> str:
    if call.session_name:
        return f"arn:aws:sts::{call.account.account_id}:assumed-role/{READ_ONLY_ROLE}/{call.session_name}"
    return f"arn:aws:iam::{call.account.account_id}:user/{OPERATOR_USER}"


def get_caller_identity(call: Call, params: dict) -> dict:
    account = call.account.account_id
    if call.session_name:
        user_id = f"AROA{_hex('role', account, length=17)}:{call.session_name}"
    else:
        user_id = f"AIDA{_hex('user', account, length=17)}"
    return {"UserId": user_id, "Account": account, "Arn": caller_arn(call)}


def assume_role(call: Call, params: dict) -> dict:
    role_arn, session = params["RoleArn"], params["RoleSessionName"]
    target = next((a for a in call.sim.accounts if a.role_arn and a.role_arn == role_arn), None)
    if target is None:
        raise AWSError(
            "AccessDenied",
            f"User: {caller_arn(call)} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )
    duration = params.get("DurationSeconds", 3600)
    seed = (call.sim.seed, role_arn, session, call.now.isoformat())
    access_key = f"ASIA{_hex('key', *seed, length=16)}"
    call.sim.remember_credentials(access_key, target.account_id, session)
    return {
        "Credentials": {
            "AccessKeyId": access_key,
            "SecretAccessKey": _hex("secret", *seed, length=40),
            "SessionToken": "FwoGZXIvYXdzE" + _hex("token", *seed, length=64),
            "Expiration": call.now + timedelta(seconds=duration),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": f"AROA{_hex('role', target.account_id, length=17)}:{session}",
            "Arn": f"arn:aws:sts::{target.account_id}:assumed-role/{READ_ONLY_ROLE}/{session}",
        },
        "PackedPolicySize": 0,
    }


HANDLERS = {"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}
