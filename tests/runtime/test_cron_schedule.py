"""next_fire / previous_fire: table-driven, DST included (Argo's own tables first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conveyor.errors import InvalidInput
from conveyor.runtime._cron_schedule import machine_zone, zone_of
from conveyor.runtime.cron import next_fire, previous_fire

LA = ZoneInfo("America/Los_Angeles")
NY = ZoneInfo("America/New_York")


def local(t: datetime, zone: ZoneInfo) -> str:
    return t.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def fires(schedules: list[str], tz: str, start: datetime, n: int = 3) -> list[str]:
    out, t = [], start
    for _ in range(n):
        t = next_fire(schedules, tz, t)
        assert t.tzinfo is UTC
        out.append(local(t, ZoneInfo(tz)))
    return out


# https://argo-workflows.readthedocs.io/en/latest/cron-workflows/#daylight-saving
ARGO_DST_TABLE = [
    (
        "59 1 * * *",
        datetime(2020, 3, 7, 12, tzinfo=LA),
        ["2020-03-08 01:59 PST", "2020-03-09 01:59 PDT", "2020-03-10 01:59 PDT"],
    ),
    (
        "0 2 * * *",
        datetime(2020, 3, 7, 12, tzinfo=LA),
        ["2020-03-09 02:00 PDT", "2020-03-10 02:00 PDT", "2020-03-11 02:00 PDT"],
    ),
    (
        "1 2 * * *",
        datetime(2020, 3, 7, 12, tzinfo=LA),
        ["2020-03-09 02:01 PDT", "2020-03-10 02:01 PDT", "2020-03-11 02:01 PDT"],
    ),
    (
        "59 1 * * *",
        datetime(2020, 10, 31, 12, tzinfo=LA),
        ["2020-11-01 01:59 PDT", "2020-11-01 01:59 PST", "2020-11-02 01:59 PST"],
    ),
    (
        "0 2 * * *",
        datetime(2020, 10, 31, 12, tzinfo=LA),
        ["2020-11-01 02:00 PST", "2020-11-02 02:00 PST", "2020-11-03 02:00 PST"],
    ),
    (
        "1 2 * * *",
        datetime(2020, 10, 31, 12, tzinfo=LA),
        ["2020-11-01 02:01 PST", "2020-11-02 02:01 PST", "2020-11-03 02:01 PST"],
    ),
]


@pytest.mark.parametrize(("cron", "start", "expected"), ARGO_DST_TABLE)
def test_argo_documented_dst_table(cron: str, start: datetime, expected: list[str]) -> None:
    assert fires([cron], "America/Los_Angeles", start) == expected


NEW_YORK = [
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day
    (
        "skipped wall time",
        ["30 2 * * *"],
        datetime(2024, 3, 9, 12, tzinfo=NY),
        ["2024-03-11 02:30 EDT", "2024-03-12 02:30 EDT", "2024-03-13 02:30 EDT"],
    ),
    (
        "hour after the gap",
        ["0 3 * * *"],
        datetime(2024, 3, 9, 12, tzinfo=NY),
        ["2024-03-10 03:00 EDT", "2024-03-11 03:00 EDT", "2024-03-12 03:00 EDT"],
    ),
    (
        "every 30 min across the gap",
        ["*/30 * * * *"],
        datetime(2024, 3, 10, 1, 0, tzinfo=NY),
        ["2024-03-10 01:30 EST", "2024-03-10 03:00 EDT", "2024-03-10 03:30 EDT"],
    ),
    # 2024-11-03: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice
    (
        "repeated wall time",
        ["30 1 * * *"],
        datetime(2024, 11, 2, 12, tzinfo=NY),
        ["2024-11-03 01:30 EDT", "2024-11-03 01:30 EST", "2024-11-04 01:30 EST"],
    ),
    (
        "every 30 min across the fold",
        ["*/30 * * * *"],
        datetime(2024, 11, 3, 0, 45, tzinfo=NY),
        ["2024-11-03 01:00 EDT", "2024-11-03 01:30 EDT", "2024-11-03 01:00 EST"],
    ),
    (
        "hourly across the fold",
        ["0 * * * *"],
        datetime(2024, 11, 3, 0, 30, tzinfo=NY),
        ["2024-11-03 01:00 EDT", "2024-11-03 01:00 EST", "2024-11-03 02:00 EST"],
    ),
    (
        "from inside the second 01:xx",
        ["45 1 * * *"],
        datetime(2024, 11, 3, 1, 10, tzinfo=NY, fold=1),
        ["2024-11-03 01:45 EST", "2024-11-04 01:45 EST", "2024-11-05 01:45 EST"],
    ),
    (
        "Argo's skip-forward pair",
        ["30 2 * * *", "0 3 * * *"],
        datetime(2024, 3, 9, 12, tzinfo=NY),
        ["2024-03-10 03:00 EDT", "2024-03-11 02:30 EDT", "2024-03-11 03:00 EDT"],
    ),
]


@pytest.mark.parametrize(
    ("schedules", "start", "expected"), [c[1:] for c in NEW_YORK], ids=[c[0] for c in NEW_YORK]
)
def test_new_york_transitions(schedules: list[str], start: datetime, expected: list[str]) -> None:
    assert fires(schedules, "America/New_York", start) == expected


U = UTC
ZONELESS = [
    (
        "strictly after a fire time",
        ["* * * * *"],
        "UTC",
        datetime(2024, 1, 1, 12, 0, tzinfo=U),
        datetime(2024, 1, 1, 12, 1, tzinfo=U),
    ),
    (
        "sub-second after",
        ["* * * * *"],
        "UTC",
        datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=U),
        datetime(2024, 1, 1, 12, 1, tzinfo=U),
    ),
    (
        "naive means UTC",
        ["0 * * * *"],
        "UTC",
        datetime(2024, 1, 1, 12, 30),
        datetime(2024, 1, 1, 13, 0, tzinfo=U),
    ),
    (
        "earliest of several (Argo example, Friday)",
        ["*/3 * * * 1-5", "*/2 * * * *"],
        "America/Los_Angeles",
        datetime(2024, 1, 5, 20, 2, tzinfo=U),
        datetime(2024, 1, 5, 20, 3, tzinfo=U),
    ),
    (
        "earliest of several (Saturday: weekdays only drop out)",
        ["*/3 * * * 1-5", "*/2 * * * *"],
        "America/Los_Angeles",
        datetime(2024, 1, 6, 20, 2, tzinfo=U),
        datetime(2024, 1, 6, 20, 4, tzinfo=U),
    ),
    (
        "order in the list does not matter",
        ["0 12 * * *", "0 6 * * *"],
        "UTC",
        datetime(2024, 1, 1, 7, tzinfo=U),
        datetime(2024, 1, 1, 12, tzinfo=U),
    ),
    (
        "zone shifts the hour",
        ["0 9 * * *"],
        "Asia/Tokyo",
        datetime(2024, 1, 1, 1, tzinfo=U),
        datetime(2024, 1, 2, 0, tzinfo=U),
    ),
    (
        "CRON_TZ prefix wins over timezone",
        ["CRON_TZ=Asia/Tokyo 0 9 * * *"],
        "America/New_York",
        datetime(2024, 1, 1, 1, tzinfo=U),
        datetime(2024, 1, 2, 0, tzinfo=U),
    ),
    (
        "@daily",
        ["@daily"],
        "UTC",
        datetime(2024, 1, 1, 1, tzinfo=U),
        datetime(2024, 1, 2, tzinfo=U),
    ),
    (
        "@hourly",
        ["@hourly"],
        "UTC",
        datetime(2024, 1, 1, 1, 5, tzinfo=U),
        datetime(2024, 1, 1, 2, tzinfo=U),
    ),
    (
        "@weekly is Sunday midnight",
        ["@weekly"],
        "UTC",
        datetime(2024, 1, 1, tzinfo=U),
        datetime(2024, 1, 7, tzinfo=U),
    ),
    (
        "@every counts from the epoch",
        ["@every 90m"],
        "UTC",
        datetime(2024, 1, 1, 0, 10, tzinfo=U),
        datetime(2024, 1, 1, 1, 30, tzinfo=U),
    ),
    (
        "@every under a second is one second",
        ["@every 10ms"],
        "UTC",
        datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=U),
        datetime(2024, 1, 1, 0, 0, 1, tzinfo=U),
    ),
    (
        "day-of-month OR day-of-week",
        ["0 0 13 * 5"],
        "UTC",
        datetime(2024, 9, 1, tzinfo=U),
        datetime(2024, 9, 6, tzinfo=U),
    ),
    (
        "names for months and days",
        ["0 0 * JAN MON"],
        "UTC",
        datetime(2024, 1, 1, 1, tzinfo=U),
        datetime(2024, 1, 8, tzinfo=U),
    ),
    (
        "leap day",
        ["0 0 29 2 *"],
        "UTC",
        datetime(2024, 3, 1, tzinfo=U),
        datetime(2028, 2, 29, tzinfo=U),
    ),
]


@pytest.mark.parametrize(
    ("schedules", "tz", "after", "expected"),
    [c[1:] for c in ZONELESS],
    ids=[c[0] for c in ZONELESS],
)
def test_next_fire(schedules: list[str], tz: str, after: datetime, expected: datetime) -> None:
    assert next_fire(schedules, tz, after) == expected


PREVIOUS = [
    (
        "a fire time is its own previous",
        ["* * * * *"],
        "UTC",
        datetime(2024, 1, 1, 12, 0, tzinfo=U),
        datetime(2024, 1, 1, 12, 0, tzinfo=U),
    ),
    (
        "just before",
        ["* * * * *"],
        "UTC",
        datetime(2024, 1, 1, 11, 59, 59, 999999, tzinfo=U),
        datetime(2024, 1, 1, 11, 59, tzinfo=U),
    ),
    (
        "latest of several",
        ["0 * * * *", "30 * * * *"],
        "UTC",
        datetime(2024, 1, 1, 12, 45, tzinfo=U),
        datetime(2024, 1, 1, 12, 30, tzinfo=U),
    ),
    (
        "second 01:30 on the fold day",
        ["30 1 * * *"],
        "America/New_York",
        datetime(2024, 11, 3, 7, tzinfo=U),
        datetime(2024, 11, 3, 6, 30, tzinfo=U),
    ),
    (
        "first 01:30 on the fold day",
        ["30 1 * * *"],
        "America/New_York",
        datetime(2024, 11, 3, 6, 29, tzinfo=U),
        datetime(2024, 11, 3, 5, 30, tzinfo=U),
    ),
    (
        "skips the gap",
        ["30 2 * * *"],
        "America/New_York",
        datetime(2024, 3, 10, 12, tzinfo=U),
        datetime(2024, 3, 9, 7, 30, tzinfo=U),
    ),
    (
        "@every",
        ["@every 1h"],
        "UTC",
        datetime(2024, 1, 1, 12, 59, tzinfo=U),
        datetime(2024, 1, 1, 12, tzinfo=U),
    ),
]


@pytest.mark.parametrize(
    ("schedules", "tz", "before", "expected"),
    [c[1:] for c in PREVIOUS],
    ids=[c[0] for c in PREVIOUS],
)
def test_previous_fire(schedules: list[str], tz: str, before: datetime, expected: datetime) -> None:
    assert previous_fire(schedules, tz, before) == expected


def test_fold_hour_every_minute_fires_each_minute_twice() -> None:
    t, seen = datetime(2024, 11, 3, 4, 59, tzinfo=U), []
    while t < datetime(2024, 11, 3, 7, 0, tzinfo=U):
        t2 = next_fire(["* * * * *"], "America/New_York", t)
        assert t2 - t == timedelta(minutes=1)  # no gap and no repeat in real time
        seen.append(t2.astimezone(NY).strftime("%H:%M"))
        t = t2
    assert seen.count("01:30") == 2 and seen.count("02:30") == 0 and len(seen) == 121


BAD = [
    ("three fields", ["* * *"], "UTC", "schedule '* * *' is not a cron expression"),
    ("seconds field", ["0 * * * * *"], "UTC", "use 5 fields"),
    ("out of range", ["61 * * * *"], "UTC", "'61 * * * *' is not a cron expression"),
    ("empty list", [], "UTC", "needs a non-empty list of schedules"),
    ("a string, not a list", "* * * * *", "UTC", "needs a non-empty list of schedules"),
    ("not a string", [5], "UTC", "schedule 5 is not a string"),
    (
        "unknown zone",
        ["* * * * *"],
        "Mars/Olympus_Mons",
        "timezone 'Mars/Olympus_Mons' is not a known IANA time zone",
    ),
    (
        "unknown CRON_TZ",
        ["CRON_TZ=Nowhere/Land 0 1 * * *"],
        "UTC",
        "'Nowhere/Land' is not a known IANA",
    ),
    ("never fires", ["0 0 30 2 *"], "UTC", "never fire"),
    ("@every without duration", ["@every soon"], "UTC", "schedule '@every soon'"),
    ("@every negative", ["@every -5m"], "UTC", "@every needs a positive duration"),
    (
        "one bad among good",
        ["0 1 * * *", "nope"],
        "UTC",
        "schedule 'nope' is not a cron expression",
    ),
]


@pytest.mark.parametrize(
    ("schedules", "tz", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_input_names_the_value(schedules: list[str], tz: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        next_fire(schedules, tz, datetime(2024, 1, 1, tzinfo=U))
    assert message in err.value.message


@pytest.mark.parametrize("name", [None, "", "Local"])
def test_unset_zone_is_the_machine_zone(name: str | None) -> None:
    assert zone_of(name) is machine_zone()
    after = datetime(2024, 7, 1, 12, 0, 30, tzinfo=U)
    assert next_fire(["* * * * *"], name, after) == datetime(2024, 7, 1, 12, 1, tzinfo=U)
