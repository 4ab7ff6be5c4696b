"""CronTicker driving a real Service (store, runners, process executor) on a fake clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from conveyor.config import Settings
from conveyor.runtime import Service, choose_executor
from conveyor.runtime.cron import CronTicker
from conveyor.store import ArtifactRepo, Store

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()  # 1704067200, a Monday, 00:00:00Z
HOLD = [{"name": "main", "suspend": {}}]  # stays Running until resumed: no process at all
FAIL = [{"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", "exit 1"]}}]
ECHO = [
    {
        "name": "main",
        "script": {
            "image": "busybox",
            "command": ["sh"],
            "source": "echo {{workflow.scheduledTime}}",
        },
    }
]


def minute(n: int, second: float = 0) -> float:
    return T0 + 60 * n + second


def child(name: str, n: int) -> str:
    return f"{name}-{int(minute(n))}"


def cron_manifest(
    name: str = "tick", templates: list[dict[str, Any]] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": "2024-01-01T00:00:00Z",
        },
        "spec": {
            "schedules": ["* * * * *"],
            "workflowSpec": {"entrypoint": "main", "templates": templates or HOLD},
            **spec,
        },
    }


class FakeTime:
    """clock() and sleep() for the ticker: sleeping moves the clock; past `until` it parks for good."""

    def __init__(self, service: Service, start: float, *, settle: bool = False) -> None:
        self.service = service
        self.now = start
        self.settle = settle
        self.until = start
        self.reached = asyncio.Event()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.now + seconds > self.until:
            self.reached.set()
            await asyncio.Event().wait()  # the test cancels the ticker from here
        self.now += seconds
        if self.settle and self.service.tasks:  # let started workflows finish within this "sleep"
            await asyncio.wait(list(self.service.tasks.values()), timeout=30)
        await asyncio.sleep(0.02)  # runners take their turn


async def drive(ticker: CronTicker, fake: FakeTime, until: float) -> None:
    """Run the ticker from fake.now until its next wake-up would pass `until`."""
    fake.until, fake.reached = until, asyncio.Event()
    task = asyncio.ensure_future(ticker.run())
    try:
        await asyncio.wait_for(fake.reached.wait(), 30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


Scenario = Callable[[Service], Awaitable[None]]


def run(settings: Settings, scenario: Scenario) -> None:
    async def main() -> None:
        executor, _ = await choose_executor(settings, lambda msg: None)
        service = Service(
            settings, Store.open(settings.db_path), ArtifactRepo(settings.artifact_dir), executor
        )
        try:
            await scenario(service)
        finally:
            await service.close()

    asyncio.run(main())


def names(service: Service, cron: str = "tick") -> list[str]:
    items, _ = service.store.list_workflows(
        "default", label_selector=f"workflows.argoproj.io/cron-workflow={cron}"
    )
    return sorted(wf["metadata"]["name"] for wf in items)


def stored_cron(service: Service, name: str = "tick") -> dict[str, Any]:
    found = service.store.get_template("CronWorkflow", "default", name)
    assert found is not None
    return found


async def until_phase(
    service: Service, name: str, phases: tuple[str, ...], timeout_s: float = 10
) -> str:
    for _ in range(int(timeout_s / 0.05)):
        phase = service.store.get_workflow("default", name)["status"].get("phase", "")
        if phase in phases:
            return phase
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never reached {phases}")


def test_every_minute_starts_exactly_one_workflow_per_minute(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest())
        fake = FakeTime(service, minute(0, 30))
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(5, 30))

        assert names(service) == [child("tick", n) for n in range(1, 6)]
        wf = service.store.get_workflow("default", child("tick", 3))
        assert wf["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] == "tick"
        assert (
            wf["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"]
            == "2024-01-01T00:03:00Z"
        )
        status = stored_cron(service)["status"]
        assert status["lastScheduledTime"] == "2024-01-01T00:05:00Z"
        assert status["phase"] == "Active"
        assert sorted(ref["name"] for ref in status["active"]) == names(service)
        assert stored_cron(service)["metadata"]["annotations"] == {
            "cronworkflows.argoproj.io/last-used-schedule": "* * * * *"
        }
        assert max(fake.sleeps) <= 60.0 + 0.01  # woke at each fire time, never slept past one

    run(settings, scenario)


def test_scheduled_time_reaches_the_workflow_and_successes_are_counted(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template(
            "CronWorkflow", cron_manifest(templates=ECHO, timezone="America/New_York")
        )
        fake = FakeTime(service, minute(0, 30), settle=True)
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(2, 30))

        wf = service.store.get_workflow("default", child("tick", 1))
        assert wf["status"]["phase"] == "Succeeded"
        [node] = [n for n in wf["status"]["nodes"].values() if n.get("type") == "Pod"]
        assert node["outputs"]["result"] == "2023-12-31T19:01:00-05:00"
        assert (
            stored_cron(service)["status"]["succeeded"] == 1
        )  # the minute-2 run is still being settled

    run(settings, scenario)


def test_restart_within_the_deadline_starts_the_missed_run_once(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest(startingDeadlineSeconds=30))
        fake = FakeTime(service, minute(0, 30))
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(2, 30))
        assert names(service) == [child("tick", 1), child("tick", 2)]

        # down from 00:02:30 to 00:03:10: the 00:03 run is 10 s late, within 30 s
        fake.now = minute(3, 10)
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(3, 50))
        assert names(service) == [child("tick", n) for n in (1, 2, 3)]

        # a crash lost the status write after the 00:03 run started: it is not started again
        cron = stored_cron(service)
        cron["status"] = {"lastScheduledTime": "2024-01-01T00:02:00Z"}
        service.store.put_template("CronWorkflow", cron, replace=True)
        fake.now = minute(3, 20)
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(3, 50))
        assert names(service) == [child("tick", n) for n in (1, 2, 3)]
        status = stored_cron(service)["status"]
        assert status["lastScheduledTime"] == "2024-01-01T00:03:00Z"
        assert "conditions" not in status
        assert sorted(ref["name"] for ref in status["active"]) == names(service)

    run(settings, scenario)


def test_restart_past_the_deadline_skips_the_missed_run(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest(startingDeadlineSeconds=30))
        fake = FakeTime(service, minute(0, 30))
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(1, 30))
        fake.now = minute(4, 40)  # 00:04 is 40 s late: skipped; 00:02 and 00:03 are older misses
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(5, 30))
        assert names(service) == [child("tick", 1), child("tick", 5)]

    run(settings, scenario)


def test_forbid_skips_while_one_runs(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest(concurrencyPolicy="Forbid"))
        fake = FakeTime(service, minute(0, 30))
        ticker = CronTicker(service, clock=fake.clock, sleep=fake.sleep)
        await drive(ticker, fake, minute(3, 30))
        assert names(service) == [child("tick", 1)]

        service.control("default", child("tick", 1), {"type": "resume"})
        await until_phase(service, child("tick", 1), ("Succeeded",))
        await drive(ticker, fake, minute(4, 30))
        assert names(service) == [child("tick", 1), child("tick", 4)]
        assert stored_cron(service)["status"]["succeeded"] == 1

    run(settings, scenario)


def test_replace_terminates_the_running_one_then_starts(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest(concurrencyPolicy="Replace"))
        fake = FakeTime(service, minute(0, 30))
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(2, 30))
        assert names(service) == [child("tick", 1), child("tick", 2)]
        assert (
            await until_phase(service, child("tick", 1), ("Failed", "Error", "Succeeded"))
            == "Failed"
        )
        # the replacement runs on (its task sleeps): it reaches Running, not an end
        assert await until_phase(service, child("tick", 2), ("Running", "Failed", "Error", "Succeeded")) == "Running"

    run(settings, scenario)


def test_failures_are_counted_trimmed_and_stop_strategy_suspends(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template(
            "CronWorkflow",
            cron_manifest(
                templates=FAIL,
                failedJobsHistoryLimit=1,
                stopStrategy={"expression": "cronworkflow.failed >= 2"},
            ),
        )
        fake = FakeTime(service, minute(0, 30), settle=True)
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(4, 30))

        assert names(service) == [child("tick", 2)]  # runs at 1 and 2; the older failure trimmed
        cron = stored_cron(service)
        assert cron["spec"]["suspend"] is True
        assert cron["metadata"]["labels"]["cronworkflows.argoproj.io/completed"] == "true"
        status = cron["status"]
        assert (status["phase"], status["failed"], status["succeeded"]) == ("Stopped", 2, 0)
        assert status["lastScheduledTime"] == "2024-01-01T00:02:00Z"
        assert status["conditions"] == [
            {
                "type": "Completed",
                "status": "True",
                "message": "stopStrategy expression 'cronworkflow.failed >= 2' holds (succeeded=0, failed=2); "
                "scheduling is suspended",
            }
        ]

    run(settings, scenario)


def test_suspend_skips_and_resume_does_not_make_up_for_it(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest(startingDeadlineSeconds=3600))
        fake = FakeTime(service, minute(0, 30))
        ticker = CronTicker(service, clock=fake.clock, sleep=fake.sleep)
        await drive(ticker, fake, minute(1, 30))
        for suspend, until in ((True, minute(4, 30)), (False, minute(5, 30))):
            cron = stored_cron(service)
            cron["spec"]["suspend"] = suspend
            service.store.put_template("CronWorkflow", cron, replace=True)
            ticker.notify()
            await drive(ticker, fake, until)
        assert names(service) == [child("tick", 1), child("tick", 5)]

    run(settings, scenario)


def test_when_spaces_runs_as_in_the_cron_when_example(settings: Settings) -> None:
    when = "{{= cronworkflow.lastScheduledTime == nil || (now() - cronworkflow.lastScheduledTime).Seconds() > 360 }}"

    async def scenario(service: Service) -> None:
        service.store.put_template("CronWorkflow", cron_manifest(when=when))
        fake = FakeTime(service, minute(0, 30))
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(13, 30))
        # now() is the ticker's clock, a few ms past each fire time, so 6 minutes later passes "> 360 s"
        assert names(service) == [child("tick", 1), child("tick", 7), child("tick", 13)]

    run(settings, scenario)


def test_a_broken_cron_workflow_is_recorded_and_the_others_still_run(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        # written past validation, as a hand-edited store could hold them
        service.store.put_template(
            "CronWorkflow", cron_manifest("bad-schedule", schedules=["every minute"])
        )
        service.store.put_template(
            "CronWorkflow", cron_manifest("bad-policy", concurrencyPolicy="Sometimes")
        )
        service.store.put_template(
            "CronWorkflow", cron_manifest("bad-spec", templates=[{"name": "other"}])
        )
        service.store.put_template("CronWorkflow", cron_manifest("good"))
        fake = FakeTime(service, minute(0, 30))
        await drive(CronTicker(service, clock=fake.clock, sleep=fake.sleep), fake, minute(1, 30))

        assert names(service, "good") == [child("good", 1)]
        assert [
            c["type"] for c in stored_cron(service, "bad-schedule")["status"]["conditions"]
        ] == ["SpecError"]
        assert (
            "'every minute' is not a cron expression"
            in (stored_cron(service, "bad-schedule")["status"]["conditions"][0]["message"])
        )
        for name, message in (
            ("bad-policy", "run policy error: concurrencyPolicy 'Sometimes'"),
            ("bad-spec", "Failed to submit Workflow"),
        ):
            status = stored_cron(service, name)["status"]
            assert status["conditions"][0]["type"] == "SubmissionError"
            assert message in status["conditions"][0]["message"]
            assert status["failed"] == 1 and "lastScheduledTime" not in status

    run(settings, scenario)


def test_notify_wakes_the_ticker_at_once_even_from_another_thread(settings: Settings) -> None:
    async def scenario(service: Service) -> None:
        fake = FakeTime(service, minute(0, 30))
        ticker = CronTicker(service, clock=fake.clock, sleep=fake.sleep)
        task = asyncio.ensure_future(ticker.run())
        try:
            await asyncio.wait_for(fake.reached.wait(), 10)  # asleep, with nothing to do
            doomed = cron_manifest(stopStrategy={"expression": "cronworkflow.failed >= 3"})
            doomed["status"] = {"failed": 3}
            service.store.put_template("CronWorkflow", doomed)
            await asyncio.to_thread(ticker.notify)
            for _ in range(100):
                if stored_cron(service)["spec"].get("suspend"):
                    break
                await asyncio.sleep(0.02)
            assert stored_cron(service)["spec"]["suspend"] is True
            assert fake.now == minute(0, 30)  # no fake time passed: the wake-up came from notify()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    run(settings, scenario)
