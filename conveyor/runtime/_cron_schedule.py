"""When a CronWorkflow's schedules fire: pure functions over instants, DST-correct.

https://argo-workflows.readthedocs.io/en/latest/cron-workflows/#cron-schedule-syntax
https://argo-workflows.readthedocs.io/en/latest/cron-workflows/#daylight-saving

A schedule is five cron fields, a descriptor (`@daily`, `@hourly`, ...) or
`@every <duration>`, optionally prefixed by `CRON_TZ=<zone>` (robfig/cron's
spelling, which Argo itself writes). Fields are matched against the wall clock
of the zone, as Argo documents: a wall time the clock skips (DST start) does not
fire, and a wall time that happens twice (DST end) fires twice.

`@every` counts from the Unix epoch, so its times are the same after a restart
(robfig/cron counts from when the controller loaded the schedule instead).

Every datetime returned is aware and in UTC. Compare instants in UTC: two aware
datetimes sharing one `ZoneInfo` compare by wall clock and ignore `fold`.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from conveyor.engine.durations import parse_duration
from conveyor.errors import InvalidInput

__all__ = ["next_fire", "next_fires", "previous_fire", "zone_of", "machine_zone"]

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: wider than any DST shift (2 h at most in the tz database): how far apart on the
#: wall clock two instants can be and still swap order around a transition
_SHIFT = timedelta(hours=3)
#: wall-clock candidates examined per search; a real schedule needs a few hundred at most
_MAX_STEPS = 5000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Schedule:
    text: str
    zone: tzinfo
    fields: str = ""  # five cron fields, or "" for @every
    every_s: int = 0


@functools.cache
def machine_zone() -> tzinfo:
    """The machine's zone (Argo's default when `timezone` is unset): $TZ, else /etc/localtime, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    try:
        with open("/etc/localtime", "rb") as fh:
            return ZoneInfo.from_file(fh, key="localtime")
    except (OSError, ValueError):
        return UTC


def zone_of(timezone: str | None) -> tzinfo:
    """The IANA zone named `timezone`; the machine's zone for None, "" or "Local"."""
    if not timezone or timezone == "Local":
        return machine_zone()
    if not isinstance(timezone, str):
        raise InvalidInput(f"timezone {timezone!r} is not a string; write an IANA name such as 'UTC'")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise InvalidInput(
            f"timezone {timezone!r} is not a known IANA time zone; use a name such as "
            "'America/New_York', 'Europe/Paris' or 'UTC'"
        ) from None


@functools.lru_cache(maxsize=1024)
def _parse(text: str, timezone: str | None) -> _Schedule:
    words = text.split()
    zone_name = timezone
    if words and words[0].startswith(("CRON_TZ=", "TZ=")):
        zone_name = words[0].partition("=")[2]
        words = words[1:]
    zone = zone_of(zone_name)
    if len(words) == 2 and words[0] == "@every":
        seconds = parse_duration(words[1], field=f"schedule {text!r}")
        if not math.isfinite(seconds) or seconds <= 0:
            raise InvalidInput(
                f"schedule {text!r}: @every needs a positive duration, e.g. '@every 1h30m'"
            )
        # robfig/cron rounds @every down to whole seconds, with one second at least.
        return _Schedule(text, zone, every_s=max(1, int(seconds)))
    if len(words) == 1 and words[0] in _DESCRIPTORS:
        words = _DESCRIPTORS[words[0]].split()
    fields = " ".join(words)
    # croniter also takes 6- and 7-field forms with seconds and years; Argo's
    # parser (robfig/cron ParseStandard) does not, so neither do we.
    if len(words) != 5 or not croniter.is_valid(fields):
        raise InvalidInput(
            f"schedule {text!r} is not a cron expression: use 5 fields (minute hour day-of-month "
            "month day-of-week) such as '0 2 * * *', a descriptor such as '@daily', or '@every 1h'"
        )
    return _Schedule(text, zone, fields=fields)


def _schedules(schedules: Sequence[str], timezone: str | None) -> list[_Schedule]:
    if isinstance(schedules, str) or not isinstance(schedules, Sequence) or not schedules:
        raise InvalidInput(
            "a CronWorkflow needs a non-empty list of schedules, e.g. schedules: ['0 2 * * *']"
        )
    if timezone is not None and not isinstance(timezone, str):
        zone_of(timezone)  # raises InvalidInput naming the value
    out = []
    for s in schedules:
        if not isinstance(s, str):
            raise InvalidInput(f"schedule {s!r} is not a string; write it as e.g. '0 2 * * *'")
        out.append(_parse(s.strip(), timezone or None))
    return out


def _utc(moment: datetime) -> datetime:
    # A naive moment is taken as UTC: every clock conveyor passes in is.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _instants(wall: datetime, zone: tzinfo) -> list[datetime]:
    """The instants (UTC) at which the clock of `zone` shows `wall`: none, one, or two."""
    out: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        # A skipped wall time does not survive the round trip; a repeated one gives two instants.
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in out:
            out.append(instant)
    return out


def _shift_near(instant: datetime, zone: tzinfo) -> timedelta:
    """How far the zone's clock jumps within _SHIFT of `instant` (zero almost always)."""
    before = (instant - _SHIFT).astimezone(zone).utcoffset() or timedelta(0)
    after = (instant + _SHIFT).astimezone(zone).utcoffset() or timedelta(0)
    return abs(after - before)


def _cron_step(s: _Schedule, pivot: datetime, forward: bool) -> datetime | None:
    """First fire strictly after `pivot` (forward) or last at or before it (backward)."""
    wall = pivot.astimezone(s.zone).replace(tzinfo=None, microsecond=0)
    margin = _shift_near(pivot, s.zone)
    # croniter steps strictly past its start; begin a margin away so a repeated
    # hour whose wall times lie behind `pivot` is still seen.
    start = wall - margin if forward else wall + timedelta(seconds=1) + margin
    it = croniter(s.fields, start)
    best: datetime | None = None
    best_wall = wall
    try:
        for _ in range(_MAX_STEPS):
            cand = it.get_next(datetime) if forward else it.get_prev(datetime)
            if best is not None and abs(cand - best_wall) > _shift_near(best, s.zone):
                return best
            for instant in _instants(cand, s.zone):
                fits = instant > pivot if forward else instant <= pivot
                if fits and (best is None or (instant < best if forward else instant > best)):
                    best, best_wall = instant, cand
    except CroniterBadDateError:
        return best
    except CroniterError as exc:  # pragma: no cover - is_valid() screened the fields
        raise InvalidInput(f"schedule {s.text!r}: {exc}") from None
    if best is None:
        raise InvalidInput(f"schedule {s.text!r} found no fire time within {_MAX_STEPS} steps")
    return best


def _every_step(s: _Schedule, pivot: datetime, forward: bool) -> datetime:
    elapsed = math.floor((pivot - _EPOCH).total_seconds())
    k = elapsed // s.every_s + (1 if forward else 0)
    return _EPOCH + timedelta(seconds=k * s.every_s)


def _step(s: _Schedule, pivot: datetime, forward: bool) -> datetime | None:
    try:
        return _cron_step(s, pivot, forward) if s.fields else _every_step(s, pivot, forward)
    except OverflowError:  # the next (or previous) fire lies outside years 1 to 9999
        return None


def next_fire(schedules: Sequence[str], timezone: str | None, after: datetime) -> datetime:
    """The earliest time strictly after `after` at which any schedule fires (UTC).

    `timezone` is the CronWorkflow's `spec.timezone` (None: the machine's zone);
    a schedule's own `CRON_TZ=` prefix overrides it. InvalidInput names a bad
    schedule or zone, or a schedule that never fires (`0 0 30 2 *`).
    """
    pivot = _utc(after)
    found = [
        (t, s) for s in _schedules(schedules, timezone) if (t := _step(s, pivot, True)) is not None
    ]
    if not found:
        raise InvalidInput(
            f"schedules {list(schedules)!r} never fire (e.g. '0 0 30 2 *' asks for February 30th)"
        )
    return min(t for t, _ in found)


def next_fires(schedules: Sequence[str], timezone: str | None, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after` (UTC), earliest first."""
    times: list[datetime] = []
    pivot = after
    for _ in range(count):
        pivot = next_fire(schedules, timezone, pivot)
        times.append(pivot)
    return times


def previous_fire(
    schedules: Sequence[str], timezone: str | None, at_or_before: datetime
) -> datetime | None:
    """The latest time at or before `at_or_before` at which any schedule fires (UTC), if any."""
    pivot = _utc(at_or_before)
    times = [
        t for s in _schedules(schedules, timezone) if (t := _step(s, pivot, False)) is not None
    ]
    return max(times) if times else None
