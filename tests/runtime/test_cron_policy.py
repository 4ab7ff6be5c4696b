"""due_runs, decide, stop_reason, history_to_delete: tables, no I/O, the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.errors import ExpressionError, InvalidInput
from conveyor.runtime.cron import Decision, decide, due_runs, history_to_delete, stop_reason


def at(hh: int, mm: int, ss: float = 0, day: int = 1) -> datetime:
    return datetime(2024, 1, day, hh, mm, tzinfo=UTC) + timedelta(seconds=ss)


EVERY_MINUTE: dict[str, Any] = {"schedules": ["* * * * *"]}
LONG_AGO = at(0, 0)

# (id, spec, last_scheduled, now, created, watching_since, schedule_changed, expected)
DUE = [
    ("on time", EVERY_MINUTE, at(12, 5), at(12, 6, 0.3), LONG_AGO, LONG_AGO, False, [at(12, 6)]),
    (
        "late wake-up is still on time",
        EVERY_MINUTE,
        at(12, 5),
        at(12, 6, 40),
        LONG_AGO,
        LONG_AGO,
        False,
        [at(12, 6)],
    ),
    ("nothing new", EVERY_MINUTE, at(12, 6), at(12, 6, 59), LONG_AGO, LONG_AGO, False, []),
    ("before the first fire", EVERY_MINUTE, None, at(12, 5, 59), at(12, 5, 1), LONG_AGO, True, []),
    (
        "first run after creation",
        EVERY_MINUTE,
        None,
        at(12, 6, 1),
        at(12, 5, 30),
        LONG_AGO,
        True,
        [at(12, 6)],
    ),
    (
        "fire time before creation",
        EVERY_MINUTE,
        None,
        at(12, 6, 20),
        at(12, 6, 10),
        LONG_AGO,
        True,
        [],
    ),
    (
        "a busy loop starts only the latest",
        EVERY_MINUTE,
        at(12, 0),
        at(12, 6, 1),
        LONG_AGO,
        LONG_AGO,
        False,
        [at(12, 6)],
    ),
    # Argo's Crash Recovery example: last run 12:05, down 12:05:55-12:06:05, deadline > 5 s
    (
        "restart within the deadline",
        {**EVERY_MINUTE, "startingDeadlineSeconds": 10},
        at(12, 5),
        at(12, 6, 5),
        LONG_AGO,
        at(12, 6, 5),
        False,
        [at(12, 6)],
    ),
    (
        "deadline just passed (now < t + deadline is strict)",
        {**EVERY_MINUTE, "startingDeadlineSeconds": 5},
        at(12, 5),
        at(12, 6, 5),
        LONG_AGO,
        at(12, 6, 5),
        False,
        [],
    ),
    (
        "deadline 0 skips a missed run",
        {**EVERY_MINUTE, "startingDeadlineSeconds": 0},
        at(12, 5),
        at(12, 6, 5),
        LONG_AGO,
        at(12, 6, 5),
        False,
        [],
    ),
    (
        "no deadline skips a missed run",
        EVERY_MINUTE,
        at(12, 5),
        at(12, 6, 5),
        LONG_AGO,
        at(12, 6, 5),
        False,
        [],
    ),
    (
        "long outage: one catch-up, the latest",
        {**EVERY_MINUTE, "startingDeadlineSeconds": 3600},
        at(10, 0),
        at(12, 6, 5),
        LONG_AGO,
        at(12, 6, 5),
        False,
        [at(12, 6)],
    ),
    (
        "older misses never count",
        {"schedules": ["0 * * * *"], "startingDeadlineSeconds": 600},
        at(10, 0),
        at(12, 30),
        LONG_AGO,
        at(12, 30),
        False,
        [],
    ),
    (
        "never ran: nothing to catch up (Argo)",
        {**EVERY_MINUTE, "startingDeadlineSeconds": 60},
        None,
        at(12, 6, 5),
        at(12, 0, 30),
        at(12, 6, 5),
        True,
        [],
    ),
    (
        "schedule edited: no catch-up (Argo)",
        {**EVERY_MINUTE, "startingDeadlineSeconds": 60},
        at(12, 5),
        at(12, 6, 5),
        LONG_AGO,
        at(12, 6, 5),
        True,
        [],
    ),
    (
        "schedule edited, on time under the new one",
        {"schedules": ["*/2 * * * *"]},
        at(12, 5),
        at(12, 6, 1),
        LONG_AGO,
        at(12, 5, 30),
        True,
        [at(12, 6)],
    ),
    (
        "edit seen after the fire time: not made up for",
        {"schedules": ["*/2 * * * *"]},
        at(12, 5),
        at(12, 6, 40),
        LONG_AGO,
        at(12, 6, 30),
        True,
        [],
    ),
    (
        "several schedules: the latest due",
        {"schedules": ["0 * * * *", "30 * * * *"]},
        at(12, 0),
        at(12, 30, 0.2),
        LONG_AGO,
        LONG_AGO,
        False,
        [at(12, 30)],
    ),
    (
        "zone",
        {"schedules": ["0 9 * * *"], "timezone": "Asia/Tokyo"},
        at(0, 0, day=1),
        at(0, 0, 1, day=2),
        LONG_AGO,
        LONG_AGO,
        False,
        [at(0, 0, day=2)],
    ),
    (
        "DST: the second 01:30 is a run of its own",
        {"schedules": ["30 1 * * *"], "timezone": "America/New_York"},
        datetime(2024, 11, 3, 5, 30, tzinfo=UTC),
        datetime(2024, 11, 3, 6, 30, 1, tzinfo=UTC),
        LONG_AGO,
        LONG_AGO,
        False,
        [datetime(2024, 11, 3, 6, 30, tzinfo=UTC)],
    ),
]


@pytest.mark.parametrize(
    ("spec", "last", "now", "created", "watching", "changed", "expected"),
    [c[1:] for c in DUE],
    ids=[c[0] for c in DUE],
)
def test_due_runs(
    spec: dict[str, Any],
    last: datetime | None,
    now: datetime,
    created: datetime,
    watching: datetime,
    changed: bool,
    expected: list[datetime],
) -> None:
    assert (
        due_runs(spec, last, now, created, watching_since=watching, schedule_changed=changed)
        == expected
    )


def test_due_runs_without_a_watcher_treats_every_past_time_as_missed() -> None:
    spec = {**EVERY_MINUTE, "startingDeadlineSeconds": 30}
    assert due_runs(spec, at(12, 5), at(12, 6, 10), LONG_AGO) == [at(12, 6)]
    assert due_runs(EVERY_MINUTE, at(12, 5), at(12, 6, 10), LONG_AGO) == []


def cron(
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "kind": "CronWorkflow",
        "metadata": {
            "name": "nightly",
            "namespace": "data",
            "labels": labels or {},
            "annotations": annotations or {},
        },
        "spec": {"schedules": ["* * * * *"], **(spec or {})},
        "status": status or {},
    }


def running(*names: str) -> list[dict[str, Any]]:
    return [{"metadata": {"name": n}, "status": {"phase": "Running"}} for n in names]


WHEN_EXAMPLE = "{{= cronworkflow.lastScheduledTime == nil || (now() - cronworkflow.lastScheduledTime).Seconds() > 360 }}"
T = at(12, 0)

# (id, cron, active, now, expected)
DECIDE = [
    ("Allow, nothing running", cron({"concurrencyPolicy": "Allow"}), [], None, Decision(True)),
    (
        "Allow, one running",
        cron({"concurrencyPolicy": "Allow"}),
        running("a"),
        None,
        Decision(True),
    ),
    ("default is Allow", cron(), running("a", "b"), None, Decision(True)),
    ("Forbid, nothing running", cron({"concurrencyPolicy": "Forbid"}), [], None, Decision(True)),
    (
        "Forbid, one running",
        cron({"concurrencyPolicy": "Forbid"}),
        running("nightly-1"),
        None,
        Decision(False, "concurrencyPolicy Forbid: nightly-1 still running"),
    ),
    ("Replace, nothing running", cron({"concurrencyPolicy": "Replace"}), [], None, Decision(True)),
    (
        "Replace stops every active one",
        cron({"concurrencyPolicy": "Replace"}),
        running("a", "b"),
        None,
        Decision(True, "concurrencyPolicy Replace: stopping a, b", stop=("a", "b")),
    ),
    (
        "suspended",
        cron({"suspend": True}),
        [],
        None,
        Decision(False, "the CronWorkflow is suspended"),
    ),
    ("suspend false", cron({"suspend": False}), [], None, Decision(True)),
    ("when: never ran", cron({"when": WHEN_EXAMPLE}), [], None, Decision(True)),
    (
        "when: ran 2 min ago",
        cron({"when": WHEN_EXAMPLE}, {"lastScheduledTime": "2024-01-01T11:58:00Z"}),
        [],
        None,
        Decision(False, f"spec.when {WHEN_EXAMPLE!r} is false"),
    ),
    (
        "when: ran 7 min ago",
        cron({"when": WHEN_EXAMPLE}, {"lastScheduledTime": "2024-01-01T11:53:00Z"}),
        [],
        None,
        Decision(True),
    ),
    (
        "when: now() is the now passed in",
        cron({"when": WHEN_EXAMPLE}, {"lastScheduledTime": "2024-01-01T11:58:00Z"}),
        [],
        at(12, 5),
        Decision(True),
    ),
    (
        "when: labels",
        cron({"when": "{{cronworkflow.labels.team}} == data"}, labels={"team": "data"}),
        [],
        None,
        Decision(True),
    ),
    (
        "when: label with dots, in an expression",
        cron(
            {"when": "{{= cronworkflow.labels['app.kubernetes.io/part-of'] == 'etl' }}"},
            labels={"app.kubernetes.io/part-of": "etl"},
        ),
        [],
        None,
        Decision(True),
    ),
    (
        "when: annotations",
        cron({"when": "{{cronworkflow.annotations.tier}} == gold"}, annotations={"tier": "silver"}),
        [],
        None,
        Decision(False, "spec.when '{{cronworkflow.annotations.tier}} == gold' is false"),
    ),
    (
        "when: name and namespace",
        cron({"when": "'{{cronworkflow.name}}/{{cronworkflow.namespace}}' == 'nightly/data'"}),
        [],
        None,
        Decision(True),
    ),
    (
        "when: counters",
        cron(
            {"when": "{{= cronworkflow.failed < 3 && cronworkflow.succeeded >= 1 }}"},
            {"failed": 2, "succeeded": 1},
        ),
        [],
        None,
        Decision(True),
    ),
    (
        "when false wins over Allow",
        cron({"when": "false", "concurrencyPolicy": "Allow"}),
        [],
        None,
        Decision(False, "spec.when 'false' is false"),
    ),
    (
        "suspend checked before when",
        cron({"suspend": True, "when": "{{= nonsense( }}"}),
        [],
        None,
        Decision(False, "the CronWorkflow is suspended"),
    ),
]


@pytest.mark.parametrize(
    ("doc", "active", "now", "expected"), [c[1:] for c in DECIDE], ids=[c[0] for c in DECIDE]
)
def test_decide(
    doc: dict[str, Any], active: list[dict[str, Any]], now: datetime | None, expected: Decision
) -> None:
    assert decide(doc, active, T, now) == expected


DECIDE_ERRORS = [
    (
        "unknown policy",
        cron({"concurrencyPolicy": "Sometimes"}),
        InvalidInput,
        "concurrencyPolicy 'Sometimes' is not known; use one of Allow, Forbid, Replace",
    ),
    ("broken when", cron({"when": "{{= 1 + }}"}), ExpressionError, "cannot substitute"),
    (
        "when that is not a condition",
        cron({"when": "{{= 5 }}"}),
        ExpressionError,
        "spec.when '{{= 5 }}'",
    ),
]


@pytest.mark.parametrize(
    ("doc", "error", "message"), [c[1:] for c in DECIDE_ERRORS], ids=[c[0] for c in DECIDE_ERRORS]
)
def test_decide_errors(doc: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as err:
        decide(doc, [], T)
    assert message in str(err.value)


# (id, stopStrategy, status, expected fragment or None)
STOP = [
    ("no strategy", None, {"failed": 9}, None),
    ("failed below", {"expression": "cronworkflow.failed >= 3"}, {"failed": 2}, None),
    (
        "failed reached",
        {"expression": "cronworkflow.failed >= 3"},
        {"failed": 3},
        "stopStrategy expression 'cronworkflow.failed >= 3' holds (succeeded=0, failed=3); scheduling is suspended",
    ),
    (
        "succeeded reached",
        {"expression": "cronworkflow.succeeded >= 1"},
        {"succeeded": 1},
        "succeeded=1",
    ),
    ("counters absent are 0", {"expression": "cronworkflow.succeeded >= 1"}, {}, None),
    (
        "name is in scope",
        {"expression": "cronworkflow.name == 'nightly' && cronworkflow.failed > 0"},
        {"failed": 1},
        "holds",
    ),
]


@pytest.mark.parametrize(
    ("strategy", "status", "expected"), [c[1:] for c in STOP], ids=[c[0] for c in STOP]
)
def test_stop_reason(
    strategy: dict[str, Any] | None, status: dict[str, Any], expected: str | None
) -> None:
    doc = cron({"stopStrategy": strategy} if strategy else {}, status)
    reason = stop_reason(doc, T)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


@pytest.mark.parametrize(
    ("expression", "error", "message"),
    [
        (
            "cronworkflow.failed >=",
            ExpressionError,
            "spec.stopStrategy.expression 'cronworkflow.failed >='",
        ),
        ("cronworkflow.failed", InvalidInput, "gave 0, not true or false"),
    ],
)
def test_stop_reason_errors(expression: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as err:
        stop_reason(cron({"stopStrategy": {"expression": expression}}), T)
    assert message in str(err.value)


def wf(name: str, phase: str, finished_minute: int | None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if finished_minute is not None:
        status["finishedAt"] = f"2024-01-01T12:{finished_minute:02d}:00Z"
    return {
        "metadata": {"name": name, "creationTimestamp": "2024-01-01T00:00:00Z"},
        "status": status,
    }


HISTORY = [
    wf("s1", "Succeeded", 1),
    wf("s5", "Succeeded", 5),
    wf("s3", "Succeeded", 3),
    wf("s2", "Succeeded", 2),
    wf("s4", "Succeeded", 4),
    wf("f1", "Failed", 1),
    wf("e2", "Error", 2),
    wf("f3", "Failed", 3),
    wf("r9", "Running", None),
    wf("p9", "Pending", None),
]

# (id, spec, expected names to delete)
LIMITS = [
    ("defaults keep 3 succeeded and 1 failed", {}, ["s2", "s1", "e2", "f1"]),
    (
        "the example's 4 and 4",
        {"successfulJobsHistoryLimit": 4, "failedJobsHistoryLimit": 4},
        ["s1"],
    ),
    (
        "0 keeps none",
        {"successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0},
        ["s5", "s4", "s3", "s2", "s1", "f3", "e2", "f1"],
    ),
    (
        "negative means the default",
        {"successfulJobsHistoryLimit": -1, "failedJobsHistoryLimit": -2},
        ["s2", "s1", "e2", "f1"],
    ),
    (
        "more room than workflows",
        {"successfulJobsHistoryLimit": 10, "failedJobsHistoryLimit": 10},
        [],
    ),
]


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS])
def test_history_to_delete(spec: dict[str, Any], expected: list[str]) -> None:
    assert history_to_delete(spec, HISTORY) == expected


def test_history_orders_by_finish_time_not_name() -> None:
    items = [wf("b-late", "Succeeded", 50), wf("a-early", "Succeeded", 10)]
    assert history_to_delete({"successfulJobsHistoryLimit": 1}, items) == ["a-early"]
