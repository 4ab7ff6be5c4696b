"""The service behind the server: many workflows in one process.

It submits workflows (committed to the store before the call returns), runs
each with a WorkflowRunner, routes control events to them, and on start
recovers the workflows a previous process left running (kill -9 included):
their state is rebuilt from stored events, finished tasks are never run again,
and tasks that were running are launched again.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conveyor.config import Settings
from conveyor.engine.retry import match_selector, pods_to_rerun, retry_events
from conveyor.errors import InvalidInput, NotFound
from conveyor.executors.base import Executor
from conveyor.expr import checked_expressions
from conveyor.runtime.journal import Journal
from conveyor.runtime.prepare import prepare_workflow
from conveyor.runtime.runner import WorkflowRunner, driver_alive
from conveyor.runtime.ttl import expired, sweep_pause_s
from conveyor.spec import validate
from conveyor.store import ArtifactRepo, Store

__all__ = ["Service", "TEMPLATE_KINDS", "DONE_PHASES"]

TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
DONE_PHASES = ("Succeeded", "Failed", "Error")
_log = logging.getLogger("conveyor")
#: how often finished workflows are checked against their ttlStrategy
TTL_SWEEP_EVERY_S = 1.0

Key = tuple[str, str]


class Service:
    def __init__(self, settings: Settings, store: Store, repo: ArtifactRepo, executor: Executor) -> None:
        self.settings = settings
        self.store = store
        self.repo = repo
        self.executor = executor
        self.runners: dict[Key, WorkflowRunner] = {}
        self.tasks: dict[Key, asyncio.Task[dict[str, Any]]] = {}
        #: called with ("ADDED" | "MODIFIED" | "DELETED", workflow) as each workflow is
        #: created, written or deleted (the watch stream listens here)
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        #: told when a CronWorkflow is created, changed or deleted (the cron ticker's notify)
        self.on_cron_change: Callable[[], None] = lambda: None
        self._ttl_sweeper: asyncio.Task[None] | None = None
        #: the group commit of this service's creates and of its runners' events and status
        self.journal = Journal(store)

    # -- lifecycle -----------------------------------------------------------
    async def start(self) -> list[str]:
        """Resume the workflows a previous process left unfinished; their names."""
        resumed = []
        for phase in ("Pending", "Running"):
            token: str | None = None
            while True:
                items, token = self.store.list_workflows(phases=[phase], limit=500, continue_token=token)
                for wf in items:
                    meta = wf["metadata"]
                    if driver_alive(wf):
                        continue  # a `conveyor run` in another process still drives it
                    if (meta["namespace"], meta["name"]) not in self.runners:
                        self._run(wf, None, recover=True)
                        resumed.append(f"{meta['namespace']}/{meta['name']}")
                if not token:
                    break
        if self._ttl_sweeper is None:
            self._ttl_sweeper = asyncio.ensure_future(self._sweep_ttl())
        return resumed

    async def close(self) -> None:
        """Stop driving workflows; they stay Running in the store and resume on the next start."""
        if self._ttl_sweeper is not None:
            self._ttl_sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ttl_sweeper
            self._ttl_sweeper = None
        for task in self.tasks.values():
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.executor.close()

    # -- workflows -----------------------------------------------------------
    def create_workflow(
        self,
        namespace: str,
        manifest: Mapping[str, Any],
        *,
        dry_run: bool = False,
        parameters: Mapping[str, str] | None = None,
        entrypoint: str | None = None,
    ) -> dict[str, Any]:
        wf, resolved = self._store_new(namespace, manifest, dry_run, parameters, entrypoint)
        if not dry_run:
            self._start_new(wf, resolved)
        return wf

    async def create_workflow_async(self, namespace: str, manifest: Mapping[str, Any], *,
                                    dry_run: bool = False) -> dict[str, Any]:
        """`create_workflow` for the API: the checks run in a worker thread and the
        fsynced insert goes through the journal, so the server goes on answering other
        requests meanwhile, and creates arriving together share one commit."""
        wf, resolved = await asyncio.to_thread(self._store_new, namespace, manifest, True, None, None)
        if dry_run:
            return wf
        # Stored and started in a task of its own: a client that hangs up mid-request
        # leaves a workflow that runs, never one stored and forgotten.
        created = asyncio.ensure_future(self._create_and_start(wf, resolved))
        created.add_done_callback(lambda t: t.cancelled() or t.exception())  # the caller may be gone
        return await asyncio.shield(created)

    async def _create_and_start(self, wf: dict[str, Any], resolved: dict[str, Any] | None) -> dict[str, Any]:
        stored = await self.journal.create(wf)
        self._start_new(stored, resolved)
        return stored

    def _store_new(self, namespace: str, manifest: Mapping[str, Any], dry_run: bool,
                   parameters: Mapping[str, str] | None, entrypoint: str | None,
                   ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Check and resolve a new workflow and, unless a dry run, store it (thread-safe: touches no runner)."""
        meta = manifest.get("metadata") or {}
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise InvalidInput(
                f"the workflow's metadata.namespace {meta['namespace']!r} does not match the request's namespace {namespace!r}"
            )
        wf, resolved = prepare_workflow(
            manifest, templates=self.store, namespace=namespace, parameters=parameters, entrypoint=entrypoint,
            limits=self.settings,
        )
        if not dry_run:
            self.store.create_workflow(wf)  # committed before the call answers; AlreadyExists if taken
        return wf, resolved

    def _start_new(self, wf: dict[str, Any], resolved: dict[str, Any] | None) -> None:
        self._publish("ADDED", wf)
        self._run(wf, resolved, recover=False)

    def lint_workflow(self, namespace: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
        doc = {**manifest, "metadata": {**(manifest.get("metadata") or {}), "namespace": namespace}}
        return checked_expressions(validate(doc, templates=self.store, limits=self.settings))

    def get_workflow(self, namespace: str, name: str, *, nodes: bool = True) -> dict[str, Any]:
        """The workflow as last stored; `nodes=False` leaves out `status.nodes` (cheaper)."""
        return self.store.get_workflow(namespace, name, nodes=nodes)

    def workflow_json(self, namespace: str, name: str) -> str:
        """The workflow as last stored, as JSON text (in the API's own form: compact, UTF-8)."""
        return self.store.workflow_json(namespace, name)

    async def delete_workflow(self, namespace: str, name: str) -> None:
        """Delete from the live list; a finished workflow's archived copy stays."""
        self.store.get_workflow(namespace, name)  # NotFound first
        key = (namespace, name)
        runner, task = self.runners.get(key), self.tasks.get(key)
        if runner is not None and task is not None:
            runner.send({"type": "terminate", "message": "workflow deleted"})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), 30)
        last = self.store.get_workflow(namespace, name)
        self.store.delete_workflow(namespace, name)
        self._publish("DELETED", last)

    def control(self, namespace: str, name: str, event: dict[str, Any]) -> dict[str, Any]:
        """Deliver resume/stop/terminate to a running workflow; the workflow as it stands."""
        wf = self.store.get_workflow(namespace, name)
        phase = (wf.get("status") or {}).get("phase", "")
        if phase in DONE_PHASES:
            raise InvalidInput(f"workflow {name!r} has already ended ({phase}); cannot {event['type']} it")
        runner = self.runners.get((namespace, name))
        if runner is not None:
            runner.send(event)
        else:  # run by another process (a `conveyor run`): leave it a request
            self.store.add_request(namespace, name, event)
        return wf

    def set_node(
        self, namespace: str, name: str, *, selector: str, output_parameters: str | None = None,
        phase: str | None = None, message: str | None = None,
    ) -> dict[str, Any]:
        """Argo's `node set`: outputs for, and optionally the end of, suspended nodes the selector names."""
        if not selector:
            raise InvalidInput("set needs a nodeFieldSelector naming the suspended node, e.g. displayName=approve")
        if phase not in (None, "", "Succeeded", "Failed", "Error"):
            raise InvalidInput(f"phase {phase!r} cannot be set; use Succeeded, Failed or Error")
        try:
            params = json.loads(output_parameters) if output_parameters else {}
        except ValueError:
            raise InvalidInput(f'outputParameters {output_parameters!r} is not a JSON object such as {{"approve": "YES"}}') from None
        if not isinstance(params, dict):
            raise InvalidInput('outputParameters must be a JSON object such as {"approve": "YES"}')
        wf = self.store.get_workflow(namespace, name)
        nodes = (wf.get("status") or {}).get("nodes") or {}
        if not any(n.get("type") == "Suspend" and n.get("phase") == "Running" and match_selector(n, selector)
                   for n in nodes.values()):
            raise InvalidInput(f"nodeFieldSelector {selector!r} names no suspended node of workflow {name!r}")
        event = {"type": "set", "selector": selector, "parameters": {k: str(v) for k, v in params.items()},
                 "phase": phase or None, "message": message or ""}
        return self.control(namespace, name, event)

    async def wait(self, namespace: str, name: str, timeout_s: float | None = None) -> dict[str, Any]:
        task = self.tasks.get((namespace, name))
        if task is None:
            return self.store.get_workflow(namespace, name)
        return await asyncio.wait_for(asyncio.shield(task), timeout_s)

    def log_files(self, namespace: str, name: str) -> dict[str, dict[str, Path]]:
        """node ID -> container -> log file, for finished tasks and for tasks still running.

        A task's log is indexed in the store only once it ends; until then it is
        found in the workflow's log folder, named `<node ID>-<attempt>/<container>.log`
        (see `tasks.build_spec`). The newest attempt wins, and the index wins over both.
        """
        out: dict[str, dict[str, Path]] = {}
        folder = self.settings.logs_dir / namespace / name
        live = folder.glob("*/*.log") if folder.is_dir() else iter(())
        for path in sorted(live, key=_mtime):
            out.setdefault(path.parent.name.rpartition("-")[0], {})[path.stem] = path
        for row in self.store.list_logs(namespace, name):
            out.setdefault(row["node_id"], {})[row["container"]] = Path(row["path"])
        return out

    # -- templates -----------------------------------------------------------
    def put_template(self, kind: str, namespace: str, manifest: Mapping[str, Any], *, replace: bool = False) -> dict[str, Any]:
        doc = self.lint_template(kind, namespace, manifest)
        if kind == "CronWorkflow":
            # The scheduler counts a new cron's first run from its creation.
            meta = doc.setdefault("metadata", {})
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        stored = self.store.put_template(kind, doc, replace=replace)
        if kind == "CronWorkflow":
            self.on_cron_change()
        return stored

    def delete_template(self, kind: str, namespace: str, name: str) -> None:
        self.store.delete_template(kind, namespace, name)
        if kind == "CronWorkflow":
            self.on_cron_change()

    def lint_template(self, kind: str, namespace: str, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """The template as `put_template` would store it (validated, in v4 spelling); stores nothing."""
        if kind not in TEMPLATE_KINDS:
            raise InvalidInput(f"unknown template kind {kind!r}")
        doc = {**manifest, "apiVersion": "argoproj.io/v1alpha1", "kind": kind}
        meta = dict(doc.get("metadata") or {})
        if kind != "ClusterWorkflowTemplate":
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise InvalidInput(f"metadata.namespace {meta['namespace']!r} does not match the request's namespace {namespace!r}")
            meta["namespace"] = namespace
        doc["metadata"] = meta
        return checked_expressions(validate(doc, templates=self.store, limits=self.settings))

    def get_template(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        found = self.store.get_template(kind, namespace, name)
        if found is None:
            plural = {"WorkflowTemplate": "workflowtemplates", "ClusterWorkflowTemplate": "clusterworkflowtemplates",
                      "CronWorkflow": "cronworkflows"}[kind]
            raise NotFound(f'{plural}.argoproj.io "{name}" not found')
        return found

    # -- internals -----------------------------------------------------------
    def retry_workflow(
        self,
        namespace: str,
        name: str,
        *,
        restart_successful: bool = False,
        node_field_selector: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run the failed pods of a finished workflow again (and, with restart_successful,
        the nodes the selector names and everything after them); the rest keeps its results."""
        wf = self.store.get_workflow(namespace, name)
        status = wf.get("status") or {}
        if (namespace, name) in self.runners or status.get("phase") not in DONE_PHASES:
            raise InvalidInput(f"workflow {name!r} is still {status.get('phase') or 'running'}; only a finished workflow can be retried")
        if restart_successful and not node_field_selector:
            raise InvalidInput("restartSuccessful needs a nodeFieldSelector naming the nodes to run again")
        rerun = pods_to_rerun(status.get("nodes") or {}, restart_successful=restart_successful, selector=node_field_selector)
        if not rerun:
            raise InvalidInput(f"workflow {name!r} has no failed node to retry; name successful ones with restartSuccessful and a nodeFieldSelector")
        if parameters:
            args = wf.setdefault("spec", {}).setdefault("arguments", {})
            plist = args.setdefault("parameters", [])
            known = {p.get("name") for p in plist}
            for key in parameters:
                if key not in known:
                    raise InvalidInput(f"parameter {key!r} is not a parameter of workflow {name!r}")
            for p in plist:
                if p.get("name") in parameters:
                    p["value"] = parameters[p["name"]]
                    p.pop("valueFrom", None)
            stored = status.get("storedWorkflowTemplateSpec")
            if stored:
                stored_params = ((stored.get("arguments") or {}).get("parameters")) or []
                for p in stored_params:
                    if p.get("name") in parameters:
                        p["value"] = parameters[p["name"]]
        self.store.replace_events(namespace, name, retry_events(self.store.load_events(namespace, name), rerun))
        wf["status"] = {**status, "phase": "Running", "message": "", "finishedAt": None}
        wf["metadata"].setdefault("labels", {}).pop("workflows.argoproj.io/completed", None)
        self.store.update_workflow(wf)
        self._run(wf, None, recover=True, retrying=True)
        return wf

    def resubmit_workflow(self, namespace: str, name: str, *, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A new workflow from the same manifest (Argo names it `<name>-xxxxx`)."""
        return self._resubmit(self.store.get_workflow(namespace, name), parameters)

    def resubmit_archived_workflow(self, uid: str, *, parameters: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A new live workflow from an archived one's manifest, in its namespace."""
        return self._resubmit(self.store.get_archived(uid), parameters)

    def _resubmit(self, old: dict[str, Any], parameters: Mapping[str, str] | None) -> dict[str, Any]:
        meta = old.get("metadata") or {}
        namespace, name = meta["namespace"], meta["name"]
        labels = {k: v for k, v in (meta.get("labels") or {}).items() if not k.startswith("workflows.argoproj.io/")}
        labels["workflows.argoproj.io/resubmitted-from-workflow"] = name
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("conveyor.dev/")}
        manifest = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": f"{name}-", "labels": labels, "annotations": annotations},
            "spec": old.get("spec") or {},
        }
        return self.create_workflow(namespace, manifest, parameters=parameters)

    def _run(self, wf: dict[str, Any], resolved: dict[str, Any] | None, *, recover: bool, retrying: bool = False) -> None:
        meta = wf["metadata"]
        key = (meta["namespace"], meta["name"])
        runner = WorkflowRunner(
            self.settings, self.store, self.repo, self.executor, wf, resolved=resolved, recover=recover, retrying=retrying,
            on_persist=self._published, journal=self.journal,
        )
        self.runners[key] = runner
        task = asyncio.ensure_future(runner.run())
        self.tasks[key] = task

        def forget(_: object) -> None:
            self.runners.pop(key, None)
            self.tasks.pop(key, None)
            if not task.cancelled() and task.exception() is not None:
                _log.error("workflow %s/%s stopped with an internal error: %s", *key, task.exception())
            elif not task.cancelled():
                self._archive(*key)

        task.add_done_callback(forget)

    def _archive(self, namespace: str, name: str) -> None:
        """Archive the workflow as its runner last wrote it, if it finished (a cancelled run did not)."""
        try:
            self.store.archive_stored(namespace, name, DONE_PHASES)
        except Exception:  # the live workflow is intact; only its archived copy is missing
            _log.exception("could not archive workflow %s/%s", namespace, name)

    async def _sweep_ttl(self) -> None:
        """Delete finished workflows whose ttlStrategy has run out, every TTL_SWEEP_EVERY_S.

        Finding them reads every finished workflow, so its cost grows with the history
        kept (150 ms for 3,000 one-task workflows): it runs in a worker thread, off the
        event loop, and the pause after a costly sweep grows (`sweep_pause_s`).
        podGC needs no counterpart here: a task's process or container is gone
        when the task ends, so there are no pods left to collect.
        """
        pause = TTL_SWEEP_EVERY_S
        while True:
            await asyncio.sleep(pause)
            started = time.monotonic()
            try:
                for wf in await asyncio.to_thread(self._due, datetime.now(UTC)):
                    if (wf["metadata"]["namespace"], wf["metadata"]["name"]) not in self.runners:
                        self._expire(wf)
            except Exception:  # one bad sweep must not end the loop
                _log.exception("the ttlStrategy sweep failed")
            pause = sweep_pause_s(time.monotonic() - started, TTL_SWEEP_EVERY_S)

    def _due(self, now: datetime) -> list[dict[str, Any]]:
        """The finished workflows whose ttlStrategy has run out at `now` (read only: any thread)."""
        due: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            items, token = self.store.list_workflows(phases=list(DONE_PHASES), limit=500, continue_token=token)
            due += [wf for wf in items if expired(wf, now)]
            if not token:
                return due

    def _expire(self, wf: dict[str, Any]) -> None:
        """Remove `wf` from the live list with its artifacts and logs; the archive keeps it."""
        namespace, name = wf["metadata"]["namespace"], wf["metadata"]["name"]
        self.store.archive_workflow(wf)  # again: a process that stopped before archiving it left none
        with contextlib.suppress(NotFound):
            self.store.delete_workflow(namespace, name)
        # Output artifacts are keyed `<workflow name>/<pod>/<artifact>` (engine/_pod.py).
        with contextlib.suppress(NotFound, InvalidInput):
            self.repo.delete(name)
        shutil.rmtree(self.settings.logs_dir / namespace / name, ignore_errors=True)
        _log.info("deleted workflow %s/%s: its ttlStrategy ran out (it stays in the archive)", namespace, name)
        self._publish("DELETED", wf)

    def _published(self, wf: dict[str, Any]) -> None:
        self._publish("MODIFIED", wf)

    def _publish(self, kind: str, wf: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, wf)
            except Exception:  # a broken watcher must never stop a workflow
                _log.exception("a workflow listener failed on %s", kind)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed while listing
        return 0.0
