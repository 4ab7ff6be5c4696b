"""Small helpers shared by the executor test modules (imported, not fixtures)."""

from __future__ import annotations

import asyncio
from typing import Any

from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec
from conveyor.executors.process import ProcessExecutor


def sh(script: str, name: str = "main", **kw: Any) -> ContainerSpec:
    """A container running `sh -c script`."""
    return ContainerSpec(name=name, command=("sh", "-c"), args=(script,), **kw)


def run(executor: ProcessExecutor, spec: TaskSpec) -> TaskResult:
    async def go() -> TaskResult:
        return await (await executor.launch(spec)).wait()

    return asyncio.run(go())
