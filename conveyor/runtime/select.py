"""Choosing the executor from settings, and saying in one line which and why."""

from __future__ import annotations

from collections.abc import Callable

from conveyor.config import Settings
from conveyor.errors import ExecutorError
from conveyor.executors.base import Executor
from conveyor.executors.podman import PodmanExecutor, podman_problem
from conveyor.executors.process import ProcessExecutor

__all__ = ["choose_executor"]


async def choose_executor(settings: Settings, log: Callable[[str], None]) -> tuple[Executor, str]:
    """(executor, one line saying which one runs tasks and why)."""
    if settings.executor in ("auto", "podman"):
        problem = await podman_problem("podman")
        if problem is None:
            why = "podman works here" if settings.executor == "auto" else "CONVEYOR_EXECUTOR=podman"
            return PodmanExecutor(settings, log=log), f"executor: podman (each task in its own container; {why})"
        if settings.executor == "podman":
            raise ExecutorError(
                f"CONVEYOR_EXECUTOR=podman but podman cannot run containers here: {problem}; "
                "install it (scripts/containers.sh) or set CONVEYOR_EXECUTOR=auto"
            )
        why = f"no container runtime: {problem}"
    else:
        why = "CONVEYOR_EXECUTOR=process"
    executor = ProcessExecutor(settings, log=log)
    mode = await executor.sandbox_mode()
    sandbox = (
        "each task in its own bubblewrap filesystem"
        if mode == "bwrap"
        else "no bubblewrap: task paths remapped, partial isolation"
    )
    return executor, f"executor: process ({sandbox}; {why})"
