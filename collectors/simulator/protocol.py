"""What every simulated operation shares: errors, the call context, paging tokens, output validation."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from botocore.utils import parse_timestamp
from botocore.validate import ParamValidator

if TYPE_CHECKING:
    from collectors.simulator.core import SimulatedAWS
    from collectors.simulator.fleet import SimAccount


class AWSError(Exception):
    """An error AWS itself would answer with; becomes botocore's (modelled) ClientError."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class SimulatorBug(RuntimeError):
    """The simulator produced an answer AWS's own service model rejects."""


class NotSimulated(RuntimeError):
    """A call the simulated account does not model: fail loudly rather than answer something made up."""


@dataclass(frozen=True)
class Call:
    sim: SimulatedAWS
    account: SimAccount
    region: str
    operation: str
    now: datetime
    session_name: str | None  # set when the client's credentials came from a simulated AssumeRole


def to_utc(value: Any) -> datetime:
    """A timestamp as boto3 callers pass it (datetime, ISO string or epoch) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return parse_timestamp(value).astimezone(UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def digest(*parts: Any, drop: tuple[str, ...] = ("NextToken", "NextPageToken")) -> str:
    """A stable fingerprint of a request (paging tokens dropped), to tie a token to its request."""
    cleaned = [{k: v for k, v in p.items() if k not in drop} if isinstance(p, dict) else p for p in parts]
    blob = json.dumps(cleaned, sort_keys=True, default=_plain)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def encode_token(offset: int, fingerprint: str, stamp: int | None = None) -> str:
    """An opaque paging token: where the next page starts, which request it belongs to, and optionally
    the moment the first page was answered (so later pages answer from the same snapshot)."""
    data = {"o": offset, "h": fingerprint, "t": stamp}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def read_token(
    token: str | None, fingerprint: str, error_code: str, *, noun: str = "token"
) -> tuple[int, int | None]:
    """(offset, stamp) of a token; a token from another request (or garbage) is refused like AWS does."""
    if not token:
        return 0, None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, stamp = int(data["o"]), data.get("t")
        same = data["h"] == fingerprint
    except (ValueError, KeyError, TypeError, AttributeError):
        raise AWSError(error_code, f"The {noun} is invalid.") from None
    if not same or offset < 0 or not (stamp is None or isinstance(stamp, int)):
        raise AWSError(error_code, f"The {noun} does not belong to this request.")
    return offset, stamp


def decode_token(token: str | None, fingerprint: str, error_code: str, *, noun: str = "token") -> int:
    return read_token(token, fingerprint, error_code, noun=noun)[0]


def validate_response(operation_model, parsed: dict) -> None:
    """Check an answer against botocore's output shape; a failure is a bug in the simulator."""
    report = ParamValidator().validate(parsed, operation_model.output_shape)
    if report.has_errors():
        raise SimulatorBug(
            f"simulated {operation_model.service_model.service_name}:{operation_model.name} answer is "
            f"invalid:\n{report.generate_report()}"
        )


def request_id(*parts: Any) -> str:
    h = hashlib.sha256(json.dumps(parts, default=_plain, sort_keys=True).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
