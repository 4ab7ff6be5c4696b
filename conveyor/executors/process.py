"""The process executor: a task's containers run as host processes, each task in its own root.

There is no image to run, so the tools a task calls must be on the host (Argo's
example images are stood in for by small scripts in tests/standins). Each task
gets a private filesystem: with bubblewrap a scratch folder bound as `/`
(`_sandbox.py`), without it its named paths remapped under that folder
(`_paths.py`, partial isolation). Containers of a task share that root, as a pod's
containers share its volumes (`_pod.py`).
https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from conveyor.config import Settings
from conveyor.errors import ExecutorError
from conveyor.executors._paths import RemapSandbox
from conveyor.executors._pod import SCRIPT_PATH, ProcessTask
from conveyor.executors._roots import RootPool
from conveyor.executors._sandbox import (
    BwrapSandbox,
    HostLayout,
    Sandbox,
    bwrap_problem,
    host_layout,
    make_root,
)
from conveyor.executors._warm import WarmPython
from conveyor.executors.base import TaskSpec

__all__ = ["ProcessExecutor", "ProcessTask", "SandboxMode"]

SandboxMode = Literal["bwrap", "none"]
_logger = logging.getLogger(__name__)


def named_paths(spec: TaskSpec) -> list[str]:
    """Every absolute path the manifest names for this task: these are remapped without bwrap."""
    paths = [*spec.output_parameters.values(), *spec.output_artifacts.values(), SCRIPT_PATH]
    paths += [f.path for f in spec.inputs]
    for c in spec.containers:
        paths += [c.working_dir] if c.working_dir else []
        paths += [str(m["mountPath"]) for m in c.volume_mounts if m.get("mountPath")]
    return paths


class ProcessExecutor:
    """Runs tasks as host processes; see the module docstring."""

    name = "process"

    def __init__(self, settings: Settings, *, log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._log = log or _logger.warning
        self._bwrap = shutil.which("bwrap") or "/usr/bin/bwrap"
        self._mode: SandboxMode | None = None
        self._lock: asyncio.Lock | None = None
        self._tasks: set[ProcessTask] = set()
        self._roots: RootPool | None = None
        #: the layout the pool's roots are made for (`make_root`)
        self._roots_layout: HostLayout | None = None
        self._warm = WarmPython() if settings.warm_python or settings.keep_sandbox else None

    async def sandbox_mode(self) -> SandboxMode:
        """Either `bwrap` or `none`; probes bubblewrap once (`bwrap ... true`) and remembers."""
        if self._mode is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._mode is None:
                    self._mode = await self._choose_mode()
        return self._mode

    async def _choose_mode(self) -> SandboxMode:
        partial = (
            "tasks run as host processes with the paths they name remapped under a scratch "
            "folder, so isolation is partial (paths a task does not name reach the host)"
        )
        if self.settings.sandbox == "none":
            self._log(f"CONVEYOR_SANDBOX=none: {partial}")
            return "none"
        problem = await bwrap_problem(self._bwrap, self.settings.scratch_dir, _host_path_env())
        if problem is None:
            return "bwrap"
        if self.settings.sandbox == "bwrap":
            raise ExecutorError(
                f"CONVEYOR_SANDBOX=bwrap but bubblewrap does not work here: {problem}; "
                "install bubblewrap (apt-get install bubblewrap) or set CONVEYOR_SANDBOX=auto"
            )
        self._log(
            f"bubblewrap is not usable ({problem}): {partial}; "
            "install bubblewrap for a private filesystem per task"
        )
        return "none"

    async def launch(self, spec: TaskSpec) -> ProcessTask:
        if not spec.key or "/" in spec.key or spec.key in (".", ".."):
            raise ExecutorError(
                f"task key {spec.key!r} cannot name a scratch folder; use a non-empty name without '/'"
            )
        mode = await self.sandbox_mode()
        path_env = _host_path_env()
        try:
            layout = host_layout(path_env)
            root, release = await self._root_for(spec.key, mode, layout)
        except OSError as e:
            raise ExecutorError(f"cannot create a scratch folder under {self.settings.scratch_dir}: {e}") from e
        sandbox: Sandbox
        if mode == "bwrap":
            # A pooled root made for this very layout is already its skeleton.
            sandbox = BwrapSandbox(root, layout, self._bwrap, made=layout is self._roots_layout)
        else:
            keep = [dest for _, dest in layout.binds] + [link for link, _ in layout.symlinks]
            sandbox = RemapSandbox(root, named_paths(spec), keep)
        warm = launcher = None
        if self._warm is not None and not self.settings.keep_scratch:
            owner, wrap = (spec.namespace, spec.workflow), functools.partial(sandbox.wrap, cwd="/")
            if self.settings.warm_python:
                warm = functools.partial(self._warm.get, root, owner=owner, wrap=wrap)
            # A kept sandbox is only worth it under bubblewrap (without it a task is one
            # plain spawn); its interpreter is this one, which the layout shows inside.
            if self.settings.keep_sandbox and mode == "bwrap" and layout.covers(sys.executable):
                launcher = functools.partial(self._warm.launcher, root, owner, sys.executable, wrap)
        task = ProcessTask(
            spec,
            sandbox,
            base_env={"PATH": path_env, "LANG": os.environ.get("LANG") or "C.UTF-8"},
            entrypoints=dict(self.settings.image_entrypoints),
            release=release,
            warm=warm,
            launcher=launcher,
        )
        self._tasks.add(task)
        task.on_done(lambda: self._tasks.discard(task))
        return task

    async def _root_for(self, key: str, mode: SandboxMode, layout: HostLayout) -> tuple[Path, Callable[[], None]]:
        """A task's root and what to do with it after the task: a pooled root, given back
        emptied; or with CONVEYOR_KEEP_SCRATCH a folder of its own, kept for a look."""
        if self.settings.keep_scratch:
            scratch = self.settings.scratch_dir / key
            if scratch.exists():  # left by a crashed run of the same attempt
                await asyncio.to_thread(shutil.rmtree, scratch)
            root = scratch / "root"
            root.mkdir(parents=True)
            return root, lambda: None
        if self._roots is None:
            self._roots_layout = layout
            self._roots = RootPool(self.settings.scratch_dir, on_discard=self._warm.drop if self._warm else None)
        make = functools.partial(make_root, layout=layout) if mode == "bwrap" else RemapSandbox.skeleton
        root = self._roots.acquire(make)
        pool = self._roots
        return root, lambda: pool.release(root)

    async def close(self) -> None:
        """Stop every task still running (SIGTERM, SIGKILL a few seconds later), then remove their roots."""
        await asyncio.gather(*(t.terminate(grace_s=3.0) for t in list(self._tasks)))
        if self._warm is not None:
            await asyncio.to_thread(self._warm.close)
        if self._roots is not None:
            await self._roots.close()


def _host_path_env() -> str:
    # Read at each launch, not at import: the service's PATH is what tasks get.
    return os.environ.get("PATH") or os.defpath
