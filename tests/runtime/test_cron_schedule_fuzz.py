"""Property tests: any schedule, zone or instant gives fire times or InvalidInput, never a crash.

Schedules come from users (CronWorkflow `schedules`, `timezone`, the `CRON_TZ=` prefix)
and are parsed by croniter and zoneinfo, which raise their own exceptions; the cron
ticker and the API must only ever see conveyor's.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.errors import InvalidInput
from conveyor.runtime._cron_schedule import next_fire, next_fires, previous_fire, zone_of

FUZZ = settings(
    max_examples=int(os.environ.get("CONVEYOR_FUZZ_EXAMPLES", "200")),
    deadline=timedelta(seconds=5),  # a search is bounded (_MAX_STEPS); seconds mean it is not
    suppress_health_check=[HealthCheck.too_slow],
)

FIELD_PIECES = [
    *"* ? 0 1 5 7 12 23 29 30 31 59 60 99 -1 1-5 5-1 */5 */0 1/2 0-59/15 L W 5L 15W LW 1#2 6#5".split(),
    *"JAN feb DEC MON sun SAT mon-fri 1,2,3 , - / # ? H H/2 H(0-7) ** 1.5 1e3 x".split(),
]
fields = st.lists(st.sampled_from(FIELD_PIECES), min_size=1, max_size=3).map("".join)
PREFIXES = ["", "CRON_TZ=UTC ", "CRON_TZ=America/New_York ", "TZ=Europe/Paris ", "CRON_TZ= ",
            "CRON_TZ=Nowhere/City ", "CRON_TZ=../../etc/passwd ", "TZ=\x00 "]
DESCRIPTORS = ["@daily", "@hourly", "@weekly", "@monthly", "@yearly", "@annually", "@midnight",
               "@reboot", "@every", "@every 1h", "@every 0s", "@every -5m", "@every 1.5s", "@every 1x",
               "@every 99999999999h", "@every 1e400s", "@every nan", "@every inf", "@"]
schedule_text = st.one_of(
    st.builds(lambda prefix, words: prefix + " ".join(words), st.sampled_from(PREFIXES),
              st.lists(fields, min_size=0, max_size=7)),
    st.builds(str.__add__, st.sampled_from(PREFIXES), st.sampled_from(DESCRIPTORS)),
    st.text(max_size=30),
)
timezones = st.none() | st.sampled_from(
    ["", "Local", "UTC", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe", "Mars/Base",
     "../etc", "/etc/localtime", "UTC\x00", "a" * 300, "Etc/GMT+14", "EST5EDT"]
) | st.text(max_size=12)
instants = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.none() | st.just(UTC))


@FUZZ
@given(st.lists(schedule_text, min_size=1, max_size=3), timezones, instants)
def test_next_and_previous_fire_with_any_schedule(schedules: list[str], tz: str | None, at: datetime) -> None:
    try:
        fire = next_fire(schedules, tz, at)
    except InvalidInput as exc:
        assert exc.message
    else:
        assert fire.tzinfo is UTC and fire > at.replace(tzinfo=UTC)
    try:
        before = previous_fire(schedules, tz, at)
    except InvalidInput as exc:
        assert exc.message
    else:
        assert before is None or before.tzinfo is UTC and before <= at.replace(tzinfo=UTC)


@FUZZ
@given(st.lists(st.sampled_from(DESCRIPTORS) | fields.map(lambda f: f"{f} * * * *"), min_size=1, max_size=2),
       instants, st.integers(0, 5))
def test_next_fires_are_strictly_increasing(schedules: list[str], at: datetime, count: int) -> None:
    try:
        times = next_fires(schedules, "UTC", at, count)
    except InvalidInput:
        return
    assert times == sorted(set(times)) and len(times) == count


@FUZZ
@given(timezones)
def test_zone_of_any_name(name: str | None) -> None:
    try:
        zone_of(name)
    except InvalidInput as exc:
        assert exc.message


@FUZZ
@given(st.one_of(st.text(max_size=10), st.integers(), st.none(), st.lists(st.text(max_size=5), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)))
def test_schedules_of_any_type(value: object) -> None:
    for schedules in (value, [value]):
        try:
            next_fire(schedules, None, datetime(2024, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
        except InvalidInput as exc:
            assert exc.message


@pytest.mark.parametrize(
    "schedules, tz, message",
    [
        (["0 0 * * *"], "a" * 300, "not a known IANA time zone"),  # OSError: file name too long
        (["CRON_TZ=" + "a" * 300 + " 0 0 * * *"], None, "not a known IANA time zone"),
        (["0 0 * * *"], 5, "not a string"),
        (5, None, "non-empty list"),  # TypeError: int is not iterable
        ({"a": "0 0 * * *"}, None, "non-empty list"),
        (["@every 99999999999h"], None, "longest duration"),  # OverflowError in timedelta
    ],
)
def test_bad_schedules_found_by_the_properties(schedules: Any, tz: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        next_fire(schedules, tz, datetime(2024, 1, 1, tzinfo=UTC))


def test_a_fire_time_past_year_9999_is_none_not_an_overflow() -> None:
    with pytest.raises(InvalidInput, match="never fire"):
        next_fire(["@every 8760h"], "UTC", datetime(9999, 12, 31, 12, tzinfo=UTC))
    assert previous_fire(["@every 8760h"], "UTC", datetime(1, 1, 1, 0, 30)) is None
