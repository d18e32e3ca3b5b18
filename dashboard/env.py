"""Typed settings helpers: read the environment, fail loudly on a value that does not parse.

A secret may come from NAME or from a file named by NAME_FILE (Docker / Kubernetes secrets);
setting both is an error so nobody wonders which one won.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting in the environment is present but unusable."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    env = os.environ if environ is None else environ
    value = env.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None) -> str | None:
    value = _raw(name, environ)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean (use one of {sorted(TRUE_WORDS | FALSE_WORDS)})")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        result = default
    else:
        try:
            result = int(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not an integer") from None
    return _in_range(name, result, minimum, maximum)


def _in_range(name, result, minimum, maximum):
    if minimum is not None and result < minimum:
        raise ConfigError(f"{name}={result} is below the minimum {minimum}")
    if maximum is not None and result > maximum:
        raise ConfigError(f"{name}={result} is above the maximum {maximum}")
    return result


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    value = _raw(name, environ)
    if value is None or value == "":
        return _in_range(name, float(default), minimum, maximum)
    try:
        result = float(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number") from None
    if not math.isfinite(result):
        raise ConfigError(f"{name}={value!r} is not a finite number")
    return _in_range(name, result, minimum, maximum)


def env_decimal(
    name: str,
    default: str,
    *,
    minimum: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Decimal:
    """A money amount or other exact figure: parsed as Decimal, never through float."""
    value = _raw(name, environ)
    text = default if value is None or value == "" else value.strip()
    try:
        result = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{name}={value!r} is not a decimal number") from None
    if not result.is_finite():
        raise ConfigError(f"{name}={value!r} is not a finite number")
    return _in_range(name, result, None if minimum is None else Decimal(minimum), None)


def env_list(
    name: str, default: list[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Comma-separated list; blanks are dropped, so 'a, b,' is ['a', 'b']."""
    value = _raw(name, environ)
    if value is None or value == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE (trailing newline stripped)."""
    direct = _raw(name, environ)
    file_name = _raw(f"{name}_FILE", environ)
    if direct and file_name:
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    if file_name:
        path = Path(file_name)
        try:
            content = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_name!r} cannot be read: {exc.strerror}") from None
        if not content:
            raise ConfigError(f"{name}_FILE={file_name!r} is empty")
        return content
    return direct if direct else default
