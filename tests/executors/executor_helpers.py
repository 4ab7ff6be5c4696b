"""Small helpers shared by the executor test modules (imported, not fixtures)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from conveyor.executors._sandbox import bwrap_problem
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec
from conveyor.executors.process import ProcessExecutor


def sh(script: str, name: str = "main", **kw: Any) -> ContainerSpec:
    """A container running `sh -c script`."""
    return ContainerSpec(name=name, command=("sh", "-c"), args=(script,), **kw)


def run(executor: ProcessExecutor, spec: TaskSpec) -> TaskResult:
    async def go() -> TaskResult:
        return await (await executor.launch(spec)).wait()

    return asyncio.run(go())


_bwrap_problem: list[str | None] = []


def bwrap_unusable(tmp: Path) -> str | None:
    """Why bubblewrap cannot be used on this machine (probed once per session), or None."""
    if not _bwrap_problem:
        _bwrap_problem.append(
            asyncio.run(bwrap_problem("/usr/bin/bwrap", tmp, os.environ.get("PATH", "")))
        )
    return _bwrap_problem[0]


def processes_with(text: str) -> list[int]:
    """Pids (other than this one) whose command line contains `text`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd and int(pid) != os.getpid():
            found.append(int(pid))
    return found
