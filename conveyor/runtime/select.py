"""Choosing the executor from settings, and saying in one line which and why."""

from __future__ import annotations

from collections.abc import Callable

from conveyor.config import Settings
from conveyor.executors.base import Executor
from conveyor.executors.process import ProcessExecutor

__all__ = ["choose_executor"]


async def choose_executor(settings: Settings, log: Callable[[str], None]) -> tuple[Executor, str]:
    """(executor, one line saying which one runs tasks and why)."""
    executor = ProcessExecutor(settings, log=log)
    mode = await executor.sandbox_mode()
    why = "no container executor yet" if settings.executor == "auto" else "CONVEYOR_EXECUTOR=process"
    sandbox = (
        "each task in its own bubblewrap filesystem"
        if mode == "bwrap"
        else "no bubblewrap: task paths remapped, partial isolation"
    )
    return executor, f"executor: process ({sandbox}; {why})"
