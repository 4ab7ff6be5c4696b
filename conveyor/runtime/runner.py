"""Drive one workflow: store <-> machine <-> executor.

Events are appended to the store before the machine applies them (so a crash
loses nothing that was acknowledged), and the workflow object with its status
is written back after each batch. Task launches, kills and timers run as
asyncio tasks that feed new events into the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from conveyor.config import Settings
from conveyor.engine import Finished, Kill, Launch, Machine, SetTimer
from conveyor.errors import ConveyorError
from conveyor.executors.base import Executor, TaskHandle, TaskResult
from conveyor.runtime.journal import Journal
from conveyor.runtime.secrets import SecretResolver
from conveyor.runtime.tasks import build_spec, cleanup, result_event, stage_inputs, store_outputs
from conveyor.store import ArtifactRepo, Store

__all__ = ["WorkflowRunner", "DRIVER_ANNOTATION", "DRIVER_ID", "driver_alive"]

#: which process drives a workflow ("<pid>@<host>"), so another one never takes it over while it lives
DRIVER_ANNOTATION = "conveyor.dev/driver"
DRIVER_ID = f"{os.getpid()}@{socket.gethostname()}"

#: how often, at most, the full status is written back while a workflow runs
_PERSIST_EVERY_S = 0.25


def driver_alive(wf: Mapping[str, Any]) -> bool:
    """True when another live process on this host drives `wf` (a `conveyor run`)."""
    driver = ((wf.get("metadata") or {}).get("annotations") or {}).get(DRIVER_ANNOTATION, "")
    pid, _, host = driver.partition("@")
    if not pid.isdigit() or host != socket.gethostname() or driver == DRIVER_ID:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkflowRunner:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        repo: ArtifactRepo,
        executor: Executor,
        workflow: dict[str, Any],
        *,
        resolved: dict[str, Any] | None = None,
        recover: bool = False,
        retrying: bool = False,
        on_persist: Callable[[dict[str, Any]], None] | None = None,
        on_update: Callable[[Machine], None] | None = None,
        semaphore_limits: Mapping[str, int] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.settings = settings
        self.recover = recover or retrying
        self.retrying = retrying
        self.on_persist = on_persist
        self.store = store
        #: where events and status go: shared by every runner of a server (one commit for many)
        self.journal = journal if journal is not None else Journal(store)
        self.repo = repo
        self.executor = executor
        self.workflow = workflow
        self.on_update = on_update
        meta = workflow["metadata"]
        self.namespace: str = meta.get("namespace") or settings.namespace
        self.name: str = meta["name"]
        # `resolved` has templateRefs and workflowTemplateRef merged in; the stored
        # object keeps what the user wrote, and the resolved spec in its status
        # (Argo's storedWorkflowTemplateSpec), so a restart runs the same thing.
        stored_spec = (workflow.get("status") or {}).get("storedWorkflowTemplateSpec")
        if resolved is None and stored_spec:
            resolved = {**workflow, "spec": stored_spec}
        self.stored_spec = resolved["spec"] if resolved and resolved.get("spec") != workflow.get("spec") else None
        self.machine = Machine(
            resolved or workflow,
            max_nodes=settings.max_nodes,
            max_loop_items=settings.max_loop_items,
            semaphore_limits=semaphore_limits if semaphore_limits is not None else settings.semaphore_limits,
        )
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.handles: dict[str, TaskHandle] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self._slots = asyncio.Semaphore(settings.effective_max_parallel_tasks())
        self._last_persist = 0.0
        self._persist_every_s = _PERSIST_EVERY_S
        self._dirty = False
        #: the last status write handed to the journal (its failure stops the run, as a write's own would)
        self._written: asyncio.Future[None] | None = None
        self.killed: set[str] = set()
        #: (node id, container, log path) of tasks that ended, indexed with the next events
        self._logs: list[tuple[str, str, str]] = []

    def _replay(self) -> None:
        """Rebuild the machine from the stored events (their actions were carried out
        before the restart), then let it relaunch what was running."""
        for event in self.store.load_events(self.namespace, self.name):
            at = float(event.get("at") or time.time())
            self.machine.apply({k: v for k, v in event.items() if k != "at"}, at)
        if self.machine.phase == "Pending":
            self.queue.put_nowait({"type": "start"})
        else:  # a retry's relaunches are not restarts of a crashed run
            self.queue.put_nowait({"type": "recovered", "restart": not self.retrying})

    def send(self, event: dict[str, Any]) -> None:
        """Deliver an outside event (resume, stop, terminate) to this workflow."""
        self.queue.put_nowait(event)

    async def run(self) -> dict[str, Any]:
        if self.recover:
            self._replay()
        else:
            self.queue.put_nowait({"type": "start"})
        flusher = asyncio.ensure_future(self._flush_periodically())
        try:
            while not self.machine.done:
                batch = [await self.queue.get()]
                while not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                # Durable before applied. The journal commits in a worker thread so the loop
                # meanwhile notices more task exits (of this and other workflows): they make
                # the next batch, one fsync for many.
                stamped = [{**e, "at": time.time()} for e in batch]
                logs, self._logs = self._logs, []
                await self.journal.append(self.namespace, self.name, stamped, logs)
                for event in batch:
                    for action in self.machine.apply(event, time.time()):
                        self._act(action)
                if not self.machine.done:
                    self._persist()
                # else: _shutdown writes the final status once every task (and its
                # container) is gone, so "ended" means nothing of it is left running
                if self.on_update is not None:
                    self.on_update(self.machine)
        finally:
            flusher.cancel()
            await self._shutdown()
        return self.workflow

    async def _flush_periodically(self) -> None:
        # Batches inside the throttle window are written by this ticker, so the
        # stored status is never more than one period behind the machine. It also
        # picks up requests (resume, stop) that other processes left in the store.
        while True:
            await asyncio.sleep(self._persist_every_s)
            for event in self.store.take_requests(self.namespace, self.name):
                self.queue.put_nowait(event)
            if self._dirty:
                self._persist(force=True)

    # -- actions -----------------------------------------------------------
    def _act(self, action: object) -> None:
        if isinstance(action, Launch):
            self._spawn(self._run_task(action.node_id, action.plan))
        elif isinstance(action, Kill):
            self.killed.add(action.node_id)
            handle = self.handles.get(action.node_id)
            if handle is not None:
                self._spawn(handle.terminate())
        elif isinstance(action, SetTimer):
            delay = max(0.0, action.at - time.time())
            loop = asyncio.get_running_loop()
            self.timers[action.timer_id] = loop.call_later(
                delay, self.queue.put_nowait, {"type": "timer", "id": action.timer_id}
            )
        elif isinstance(action, Finished):
            pass

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run_task(self, node_id: str, plan: dict[str, Any]) -> None:
        # Unique across restarts too: a relaunched task never reuses a log folder.
        key = f"{node_id}-{uuid.uuid4().hex[:8]}"
        stage = self.settings.scratch_dir / f"{key}.in"
        spec = None
        async with self._slots:
            try:
                inputs = await stage_inputs(self.repo, plan, stage)
                wf_spec = self.machine.spec or {}
                secrets = SecretResolver(self.store, self.settings.secret_key_path, self.namespace)
                spec = build_spec(self.settings, plan, key, inputs, list(wf_spec.get("volumes") or []),
                                  secrets=secrets, pull_secrets=list(wf_spec.get("imagePullSecrets") or []),
                                  node_selector=wf_spec.get("nodeSelector") or {})
                handle = await self.executor.launch(spec)
                self.handles[node_id] = handle
                if node_id in self.killed:  # killed while its inputs were being staged
                    await handle.terminate()
                result = await handle.wait()
                artifacts = await store_outputs(self.repo, plan, result)
                # each container's log, `<name>.log` (one stat each, not a listing per task)
                self._logs += [(node_id, c.name, log) for c in sorted(spec.containers, key=lambda c: c.name)
                               if os.path.isfile(log := os.path.join(spec.log_dir, f"{c.name}.log"))]
            except ConveyorError as exc:
                result, artifacts = TaskResult(phase="Error", message=str(exc)), {}
            except OSError as exc:
                result, artifacts = TaskResult(phase="Error", message=f"task could not run: {exc}"), {}
            finally:
                self.handles.pop(node_id, None)
                cleanup(stage, *( [spec.collect_dir] if spec is not None else []))
        self.queue.put_nowait(result_event(node_id, result, artifacts))

    # -- persistence -------------------------------------------------------
    def _persist(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_persist < self._persist_every_s:
            self._dirty = True
            return
        if self._written is not None and self._written.done() and self._written.exception() is not None:
            raise self._written.exception()  # type: ignore[misc]  # NotFound: deleted meanwhile
        self._last_persist = now
        self._dirty = False
        self._written = written = self._write_status()

        def budget(_: object) -> None:
            # A status write costs time in proportion to the nodes (rendered here, stored
            # by the journal); keep it to about a tenth of the run however large the
            # workflow grows (the events are the record).
            self._persist_every_s = max(_PERSIST_EVERY_S, 9 * (time.monotonic() - now))

        written.add_done_callback(budget)

    def _write_status(self) -> asyncio.Future[None]:
        """Render the status and hand a new workflow object to the journal (the object
        handed over is never changed afterwards: the journal stores it in a thread)."""
        # The previous status is let go first (a new object without it: the journal may
        # still hold the old one), or two renderings of every node are alive at once while
        # the new one is built (the peak of a large workflow's RSS).
        self.workflow = {k: v for k, v in self.workflow.items() if k != "status"}
        status = self.machine.status()
        if self.stored_spec is not None:
            status["storedWorkflowTemplateSpec"] = self.stored_spec
        # As Argo shows a suspended workflow: `spec.suspend: true` until it is resumed
        spec = dict(self.workflow.get("spec") or {})
        if self.machine.suspended and not self.machine.done:
            spec["suspend"] = True
        else:
            spec.pop("suspend", None)
        meta = self.workflow["metadata"]
        annotations = {**(meta.get("annotations") or {}), DRIVER_ANNOTATION: DRIVER_ID}
        labels = {**(meta.get("labels") or {}), "workflows.argoproj.io/phase": status["phase"]}
        if self.machine.done:
            labels["workflows.argoproj.io/completed"] = "true"
        handed = {**self.workflow, "metadata": {**meta, "annotations": annotations, "labels": labels},
                  "spec": spec, "status": status}
        # Until the workflow ends the runner keeps no rendering: the journal's is the only
        # one, freed once it is stored and heard, instead of living on until the next write
        # (~23 MB of node dicts at 10,000 nodes). The last one is kept: run() returns it.
        self.workflow = handed if self.machine.done else {k: v for k, v in handed.items() if k != "status"}
        return self.journal.update(handed, self.on_persist)

    async def _shutdown(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        for handle in list(self.handles.values()):
            with contextlib.suppress(Exception):
                await handle.terminate()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._logs:  # tasks that ended after the last batch (killed at the end, or on shutdown)
            logs, self._logs = self._logs, []
            with contextlib.suppress(ConveyorError):
                await self.journal.append(self.namespace, self.name, [], logs)
        self._persist(force=True)
        assert self._written is not None
        await asyncio.shield(self._written)  # "ended" is stored before run() returns
