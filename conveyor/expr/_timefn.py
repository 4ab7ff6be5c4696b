"""Time support: `now()`, `duration()`, `date()` and the Go methods on their results.

https://expr-lang.org/docs/language-definition#date-functions
Argo's CronWorkflow `when:` uses it: https://argo-workflows.readthedocs.io/en/latest/cron-workflows/

The package stays free of clock reads: `now()` returns the time the caller put
in the environment under `NOW_KEY`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._registry import Registry
from conveyor.expr._render import format_duration, format_time
from conveyor.expr._values import as_aware, type_name

__all__ = ["NOW_KEY", "now", "parse_duration", "parse_time", "DURATION_METHODS", "TIME_METHODS"]

NOW_KEY = "__now__"

_UNITS_US = {
    "ns": 0.001,
    "us": 1,
    "µs": 1,
    "μs": 1,
    "ms": 1000,
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def now(env: Mapping[str, Any]) -> datetime:
    value = env.get(NOW_KEY)
    if value is None:
        raise ExprFault(
            f"now() has no clock: the caller must put the current time under {NOW_KEY!r}"
        )
    return parse_time(value)


def parse_time(value: Any) -> datetime:
    """A datetime, or an RFC 3339 / ISO 8601 string, as an aware datetime."""
    if isinstance(value, datetime):
        return as_aware(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return as_aware(datetime.fromisoformat(text))
        except ValueError:
            raise ExprFault(
                f"cannot parse {value!r} as a time (expected RFC 3339, e.g. 2024-01-31T12:00:00Z)"
            ) from None
    raise ExprFault(f"expected a time, got {type_name(value)}")


def parse_duration(text: Any) -> timedelta:
    """Go's time.ParseDuration: `1h30m`, `1.5s`, `-300ms`, `0`."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str):
        raise ExprFault(f"expected a duration string, got {type_name(text)}")
    body, sign = text, 1
    if body[:1] in "+-" and body:
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return timedelta(0)
    micros, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        micros += float(match.group(1)) * _UNITS_US[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise ExprFault(f"invalid duration {text!r} (expected e.g. 1h30m, 90s, 500ms)")
    try:
        return timedelta(microseconds=sign * micros)
    except OverflowError:
        raise ExprFault(f"duration {text!r} is out of range") from None


DURATION_METHODS = Registry("duration.{}()")
TIME_METHODS = Registry("time.{}()")


def _seconds(d: timedelta) -> float:
    return d.total_seconds()


DURATION_METHODS.register("Seconds", 1)(_seconds)
DURATION_METHODS.register("Minutes", 1)(lambda d: d.total_seconds() / 60)
DURATION_METHODS.register("Hours", 1)(lambda d: d.total_seconds() / 3600)
DURATION_METHODS.register("Milliseconds", 1)(lambda d: d // timedelta(milliseconds=1))
DURATION_METHODS.register("Microseconds", 1)(lambda d: d // timedelta(microseconds=1))
DURATION_METHODS.register("Nanoseconds", 1)(lambda d: (d // timedelta(microseconds=1)) * 1000)
DURATION_METHODS.register("String", 1)(format_duration)
DURATION_METHODS.register("Abs", 1)(abs)


def _utc(t: datetime) -> datetime:
    return as_aware(t).astimezone(UTC)


TIME_METHODS.register("Unix", 1)(lambda t: int(as_aware(t).timestamp() // 1))
TIME_METHODS.register("UnixMilli", 1)(lambda t: int(as_aware(t).timestamp() * 1000 // 1))
TIME_METHODS.register("Year", 1)(lambda t: _utc(t).year)
TIME_METHODS.register("Month", 1)(lambda t: _utc(t).month)
TIME_METHODS.register("Day", 1)(lambda t: _utc(t).day)
TIME_METHODS.register("Hour", 1)(lambda t: _utc(t).hour)
TIME_METHODS.register("Minute", 1)(lambda t: _utc(t).minute)
TIME_METHODS.register("Second", 1)(lambda t: _utc(t).second)
TIME_METHODS.register("YearDay", 1)(lambda t: _utc(t).timetuple().tm_yday)
# Go numbers weekdays from Sunday = 0.
TIME_METHODS.register("Weekday", 1)(lambda t: (_utc(t).weekday() + 1) % 7)
TIME_METHODS.register("UTC", 1)(_utc)
TIME_METHODS.register("String", 1)(format_time)
TIME_METHODS.register("Sub", 2)(lambda t, u: as_aware(t) - parse_time(u))
TIME_METHODS.register("Add", 2)(lambda t, d: as_aware(t) + parse_duration(d))
TIME_METHODS.register("After", 2)(lambda t, u: as_aware(t) > parse_time(u))
TIME_METHODS.register("Before", 2)(lambda t, u: as_aware(t) < parse_time(u))
TIME_METHODS.register("Equal", 2)(lambda t, u: as_aware(t) == parse_time(u))
TIME_METHODS.register("IsZero", 1)(lambda t: as_aware(t) == datetime(1, 1, 1, tzinfo=UTC))
