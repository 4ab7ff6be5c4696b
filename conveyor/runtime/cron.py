"""The cron ticker: starts the Workflows of every stored CronWorkflow on schedule.

https://argo-workflows.readthedocs.io/en/latest/cron-workflows/

The loop only sleeps and calls the pure functions of `_cron_schedule`,
`_cron_policy` and `_cron_status` (re-exported here): it wakes at the next fire
time (at least once a minute, and at once on `notify()`), and for each
CronWorkflow settles its status against its workflows, applies `stopStrategy`
and the history limits, and starts what `due_runs` and `decide` say.

A child's name is fixed by its scheduled time, so when a crash fell between
starting it and recording it, the second attempt meets AlreadyExists and only
records it: a scheduled time starts at most once. One failing CronWorkflow is
logged and recorded in its conditions; the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from conveyor.errors import AlreadyExists, ConveyorError, InvalidInput, NotFound
from conveyor.runtime._cron_policy import (
    Decision,
    decide,
    due_runs,
    history_to_delete,
    parse_time,
    stop_reason,
)
from conveyor.runtime._cron_schedule import next_fire, previous_fire
from conveyor.runtime._cron_status import (
    COMPLETED_LABEL,
    CRON_LABEL,
    LAST_SCHEDULE_ANNOTATION,
    add_active,
    drop_condition,
    rfc3339,
    schedule_signature,
    set_condition,
    settle,
    workflow_for,
)
from conveyor.runtime.service import DONE_PHASES, Service

__all__ = [
    "CronTicker",
    "Decision",
    "decide",
    "due_runs",
    "history_to_delete",
    "next_fire",
    "previous_fire",
    "stop_reason",
    "workflow_for",
]

_log = logging.getLogger("conveyor.cron")
#: added to each sleep so a wake-up lands just past the fire time, not a hair before it
_SLACK_S = 0.01

Key = tuple[str, str]


class CronTicker:
    def __init__(
        self,
        service: Service,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_sleep_s: float = 60.0,
    ) -> None:
        self.service = service
        self.clock = clock
        self.sleep = sleep
        self.max_sleep_s = max_sleep_s
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: datetime | None = None
        #: per CronWorkflow: its schedules as last seen, and since when (edits restart the watch)
        self._seen: dict[Key, tuple[str, datetime]] = {}
        #: per CronWorkflow: the last scheduled time decided on, whatever the decision
        self._handled: dict[Key, datetime] = {}
        self._first_seen: dict[Key, datetime] = {}

    # -- driving -------------------------------------------------------------
    def notify(self) -> None:
        """A CronWorkflow was created, changed or deleted: look again now. Safe from any thread."""
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            self._wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to wake
                loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Tick until cancelled. Each run watches afresh: what came due while none ran was missed."""
        self._loop = asyncio.get_running_loop()
        self._started = None
        self._seen.clear()
        self.service.listeners.append(self._on_workflow)
        try:
            while True:
                self._wake.clear()  # before the tick: a notify() during it must not be lost
                wake_at = await self.tick()
                if self._wake.is_set():
                    continue
                delay = self.max_sleep_s
                if wake_at is not None:
                    delay = min(delay, max(0.0, wake_at.timestamp() - self.clock()) + _SLACK_S)
                await self._nap(delay)
        finally:
            self._loop = None
            with contextlib.suppress(ValueError):
                self.service.listeners.remove(self._on_workflow)

    async def tick(self) -> datetime | None:
        """Visit every CronWorkflow once; the earliest next fire time among them."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        if self._started is None:
            self._started = now
        earliest: datetime | None = None
        for cron in self.service.store.list_templates("CronWorkflow"):
            meta = cron.get("metadata") or {}
            try:
                upcoming = await self._visit(cron, now)
            except Exception:  # noqa: BLE001 - one broken CronWorkflow must not stop the others
                _log.exception(
                    "cron workflow %s/%s: tick failed", meta.get("namespace"), meta.get("name")
                )
                continue
            if upcoming is not None and (earliest is None or upcoming < earliest):
                earliest = upcoming
        return earliest

    async def _nap(self, delay: float) -> None:
        sleeper = asyncio.ensure_future(self.sleep(delay))
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
            await asyncio.gather(sleeper, waiter, return_exceptions=True)

    def _on_workflow(self, event: str, wf: dict[str, Any]) -> None:
        # A child finished: counters, stopStrategy and history limits may change.
        # (A deletion changes none of them; the history trimming makes many.)
        labels = (wf.get("metadata") or {}).get("labels") or {}
        if event == "DELETED" or CRON_LABEL not in labels:
            return
        if (wf.get("status") or {}).get("phase") in DONE_PHASES:
            self.notify()

    # -- one CronWorkflow ----------------------------------------------------
    async def _visit(self, cron: dict[str, Any], now: datetime) -> datetime | None:
        meta, spec = cron.get("metadata") or {}, cron.get("spec") or {}
        key: Key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        before = _Record(cron)
        record = _Record(cron)
        children, _ = self.service.store.list_workflows(
            key[0], label_selector=f"{CRON_LABEL}={key[1]}"
        )
        record.status = settle(record.status, children)
        try:
            upcoming = next_fire(spec.get("schedules") or [], spec.get("timezone"), now)
            record.drop("SpecError")
            self._apply_stop_strategy(record, now)
        except InvalidInput as exc:
            record.condition("SpecError", exc.message)
            self._save(key, before, record)
            return None
        for name in history_to_delete(spec, children):
            with contextlib.suppress(NotFound):
                await self.service.delete_workflow(key[0], name)
        last = parse_time(record.status.get("lastScheduledTime"))
        created = (
            parse_time(meta.get("creationTimestamp"))
            or last
            or self._first_seen.setdefault(key, now)
        )
        # A time skipped by suspend, when or Forbid is not reconsidered while this process runs.
        settled = max((t for t in (last, self._handled.get(key)) if t is not None), default=None)
        due = due_runs(
            spec,
            settled,
            now,
            created,
            watching_since=self._watching_since(key, spec, now),
            schedule_changed=record.annotations.get(LAST_SCHEDULE_ANNOTATION)
            != schedule_signature(spec),
        )
        for scheduled in due:
            self._handled[key] = scheduled
            record.annotations[LAST_SCHEDULE_ANNOTATION] = schedule_signature(spec)
            active = [
                wf for wf in children if (wf.get("status") or {}).get("phase") not in DONE_PHASES
            ]
            self._start(record, active, scheduled, now)
        self._save(key, before, record)
        return None if record.suspend else upcoming

    def _watching_since(self, key: Key, spec: Mapping[str, Any], now: datetime) -> datetime:
        assert self._started is not None
        signature = schedule_signature(spec)
        seen = self._seen.get(key)
        if seen is None or seen[0] != signature:
            # Edited schedules count as watched from now: times the old ones
            # skipped are not made up for (Argo: no catch-up on a new schedule).
            seen = self._seen[key] = (signature, self._started if seen is None else now)
        return seen[1]

    def _apply_stop_strategy(self, record: _Record, now: datetime) -> None:
        reason = stop_reason(record.doc(), now)
        if reason:
            if not record.suspend:
                _log.info("cron workflow %s: %s", record.name, reason)
            record.suspend = True
            record.status["phase"] = "Stopped"
            record.labels[COMPLETED_LABEL] = "true"
            record.condition("Completed", reason)
        elif record.status.get("phase") == "Stopped" and not record.suspend:
            # Resumed after its stop expression was changed so it no longer holds.
            record.status["phase"] = "Active"
            record.labels.pop(COMPLETED_LABEL, None)
            record.drop("Completed")

    def _start(
        self, record: _Record, active: list[dict[str, Any]], scheduled: datetime, now: datetime
    ) -> None:
        try:
            decision = decide(record.doc(), active, scheduled, now)
        except InvalidInput as exc:
            self._submission_error(record, f"run policy error: {exc.message}")
            return
        if not decision.start:
            level = logging.DEBUG if record.suspend else logging.INFO
            _log.log(
                level,
                "cron workflow %s: not starting %s: %s",
                record.name,
                rfc3339(scheduled),
                decision.reason,
            )
            return
        for name in decision.stop:
            # Argo terminates the runs Replace supersedes; one that ended meanwhile is fine.
            with contextlib.suppress(NotFound, InvalidInput):
                self.service.control(record.namespace, name, {"type": "terminate"})
        manifest = workflow_for(record.doc(), scheduled)
        try:
            wf = self.service.create_workflow(record.namespace, manifest)
        except AlreadyExists:
            found = self.service.store.find_workflow(record.namespace, manifest["metadata"]["name"])
            _log.info(
                "cron workflow %s: %s already started", record.name, manifest["metadata"]["name"]
            )
            wf = found or manifest
        except ConveyorError as exc:
            self._submission_error(record, f"Failed to submit Workflow: {exc.message}")
            return
        record.status = add_active(record.status, wf)
        record.status["lastScheduledTime"] = rfc3339(scheduled)
        record.status["phase"] = "Active"
        record.drop("SubmissionError")

    def _submission_error(self, record: _Record, message: str) -> None:
        # As Argo: the scheduled time counts as a failed run, and its condition says why.
        _log.error("cron workflow %s: %s", record.name, message)
        record.condition("SubmissionError", message)
        record.status["failed"] = int(record.status.get("failed") or 0) + 1

    def _save(self, key: Key, before: _Record, after: _Record) -> None:
        if after.doc() == before.doc():
            return
        store = self.service.store
        # Read again and carry over only what the ticker owns, so an edit made
        # since this tick read the CronWorkflow is kept.
        fresh = store.get_template("CronWorkflow", key[0], key[1])
        if fresh is None:
            return
        fresh["status"] = after.status
        meta = fresh.setdefault("metadata", {})
        for field, mine, old in (
            ("labels", after.labels, before.labels),
            ("annotations", after.annotations, before.annotations),
        ):
            merged = dict(meta.get(field) or {})
            merged.update({k: v for k, v in mine.items() if old.get(k) != v})
            for k in old.keys() - mine.keys():
                merged.pop(k, None)
            meta[field] = merged
            if not merged:
                del meta[field]
        if after.suspend and not before.suspend:
            fresh.setdefault("spec", {})["suspend"] = True
        store.put_template("CronWorkflow", fresh, replace=True)


class _Record:
    """A working copy of the parts of a CronWorkflow the ticker writes."""

    def __init__(self, cron: Mapping[str, Any]) -> None:
        self._cron = cron
        meta = cron.get("metadata") or {}
        self.name = str(meta.get("name") or "")
        self.namespace = str(meta.get("namespace") or "")
        self.labels: dict[str, str] = dict(meta.get("labels") or {})
        self.annotations: dict[str, str] = dict(meta.get("annotations") or {})
        self.status: dict[str, Any] = dict(cron.get("status") or {})
        self.suspend = (cron.get("spec") or {}).get("suspend") is True

    def condition(self, kind: str, message: str) -> None:
        self.status["conditions"] = set_condition(
            self.status.get("conditions") or [], kind, message
        )

    def drop(self, kind: str) -> None:
        kept = drop_condition(self.status.get("conditions") or [], kind)
        if kept:
            self.status["conditions"] = kept
        else:
            self.status.pop("conditions", None)

    def doc(self) -> dict[str, Any]:
        """The CronWorkflow as the pure functions should see it now."""
        meta = {
            **(self._cron.get("metadata") or {}),
            "labels": self.labels,
            "annotations": self.annotations,
        }
        spec = {**(self._cron.get("spec") or {}), "suspend": self.suspend}
        return {**self._cron, "metadata": meta, "spec": spec, "status": self.status}
