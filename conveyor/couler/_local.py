"""LocalSubmitter: run the built workflow in this process, as `conveyor run` does.

No server is needed; the run is recorded in the embedded store under
CONVEYOR_HOME, so a `conveyor server` started later shows it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from conveyor.config import Settings
from conveyor.couler._state import Secret
from conveyor.runtime import WorkflowRunner, choose_executor, prepare_workflow
from conveyor.store import ArtifactRepo, Store

__all__ = ["LocalSubmitter"]

log = logging.getLogger(__name__)

Json = dict[str, Any]


def _run_sync(coro: Coroutine[Any, Any, Json]) -> Json:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside an event loop (a notebook): run on a loop of our own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class LocalSubmitter:
    """`couler.run(submitter=LocalSubmitter())` runs the workflow to its end and returns the
    final Workflow object (its `status.phase` says how it went)."""

    def __init__(self, namespace: str | None = None, *, settings: Settings | None = None,
                 timeout_s: float | None = None) -> None:
        self.namespace = namespace
        self.settings = settings
        self.timeout_s = timeout_s

    def submit(self, workflow_yaml: Json, secrets: Iterable[Secret] | None = None) -> Json:
        settings = self.settings or Settings.from_env()
        if any(True for _ in secrets or ()):
            log.warning("the process executor does not read Kubernetes Secrets: "
                        "secret environment variables stay unset in this local run")
        settings.home.mkdir(parents=True, exist_ok=True)
        store = Store.open(settings.db_path)
        try:
            wf, resolved = prepare_workflow(workflow_yaml, templates=store,
                                            namespace=self.namespace or settings.namespace)
            store.create_workflow(wf)
            return _run_sync(self._drive(settings, store, wf, resolved))
        finally:
            store.close()

    async def _drive(self, settings: Settings, store: Store, wf: Json, resolved: Json) -> Json:
        executor, line = await choose_executor(settings, log.warning)
        log.info("%s", line)
        runner = WorkflowRunner(settings, store, ArtifactRepo(settings.artifact_dir), executor, wf,
                                resolved=resolved)
        try:
            return await asyncio.wait_for(runner.run(), self.timeout_s)
        finally:
            await executor.close()
