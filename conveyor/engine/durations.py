"""Pure time logic: Argo duration strings and retry backoff.

Durations follow Argo: a bare number is seconds; otherwise Go-style units
(`300ms`, `1.5h`, `2m30s`) plus `d` for days, which suspend templates accept.
Backoff follows https://argo-workflows.readthedocs.io/en/latest/retries/ :
delay(n) = duration * factor**n, capped by `cap`, and no retry starts once
`maxDuration` has passed since the first attempt started.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from conveyor.errors import InvalidInput

__all__ = ["parse_duration", "Backoff", "backoff_delay", "MAX_DURATION_S"]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: Go's time.Duration holds at most 2**63 - 1 nanoseconds; ParseDuration refuses more.
MAX_DURATION_S = (2**63 - 1) / 1e9
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")


def parse_duration(value: Any, *, field: str = "duration") -> float:
    """Seconds in `value` (int, float, "30", "1m30s", "2d"); raises InvalidInput naming `field`."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field}: expected a duration such as 30, '30s' or '2m', got {value!r}")
    if isinstance(value, int | float):
        return _bounded(float(value), value, field)
    text = str(value).strip()
    if not text:
        raise InvalidInput(f"{field}: empty duration; use e.g. '30s' or '2m'")
    try:
        return _bounded(float(text), value, field)
    except ValueError:
        pass
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    pos, total = 0, 0.0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or pos == 0:
        raise InvalidInput(f"{field}: {value!r} is not a duration; use e.g. 30, '30s', '1m30s' or '2h'")
    return _bounded(sign * total, value, field)


def _bounded(seconds: float, value: Any, field: str) -> float:
    # NaN, infinities and centuries would become timers no clock reaches (or that overflow).
    if math.isnan(seconds):
        raise InvalidInput(f"{field}: {value!r} is not a duration; use e.g. 30, '30s', '1m30s' or '2h'")
    if abs(seconds) > MAX_DURATION_S:
        raise InvalidInput(
            f"{field}: {value!r} is longer than the longest duration Argo accepts (about 292 years)"
        )
    return seconds


@dataclass(frozen=True)
class Backoff:
    duration_s: float = 0.0
    factor: float = 1.0
    max_duration_s: float | None = None
    cap_s: float | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | None) -> Backoff:
        if not spec:
            return cls()
        factor = spec.get("factor")
        return cls(
            duration_s=parse_duration(spec.get("duration", 0), field="retryStrategy.backoff.duration"),
            factor=float(_intish(factor, "retryStrategy.backoff.factor")) if factor is not None else 1.0,
            max_duration_s=(
                parse_duration(spec["maxDuration"], field="retryStrategy.backoff.maxDuration")
                if spec.get("maxDuration") not in (None, "")
                else None
            ),
            cap_s=(
                parse_duration(spec["cap"], field="retryStrategy.backoff.cap")
                if spec.get("cap") not in (None, "")
                else None
            ),
        )


def _intish(value: Any, field: str) -> float:
    if isinstance(value, dict):  # IntOrString as Kubernetes serialises it
        value = value.get("intVal", value.get("strVal"))
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise InvalidInput(f"{field}: expected a number, got {value!r}")
    return number


def backoff_delay(backoff: Backoff, retries_done: int, first_started_s: float, now_s: float) -> float | None:
    """Seconds to wait before attempt number `retries_done` (0-based retry count), or None
    when `maxDuration` forbids another attempt."""
    try:
        growth = backoff.factor**retries_done
    except OverflowError:  # a large factor after many retries
        growth = math.inf
    delay = min(backoff.duration_s * growth, MAX_DURATION_S) if backoff.duration_s else 0.0
    if backoff.cap_s is not None:
        delay = min(delay, backoff.cap_s)
    if backoff.max_duration_s is not None and (now_s + delay) - first_started_s > backoff.max_duration_s:
        return None
    return delay
