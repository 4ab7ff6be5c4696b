"""Executors run one task (one Argo "pod") and report how it ended.

They sit behind the small Protocol in `conveyor.executors.base`; they never
touch engine state. `ProcessExecutor` runs tasks as host processes.
"""

from conveyor.executors.base import (
    ContainerSpec,
    Executor,
    InputFile,
    TaskHandle,
    TaskResult,
    TaskSpec,
)
from conveyor.executors.process import ProcessExecutor

__all__ = [
    "ContainerSpec",
    "Executor",
    "InputFile",
    "ProcessExecutor",
    "TaskHandle",
    "TaskResult",
    "TaskSpec",
]
