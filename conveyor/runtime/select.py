"""Choosing the executor from settings, and saying in one line which and why."""

from __future__ import annotations

from collections.abc import Callable

from conveyor.config import Settings
from conveyor.errors import ExecutorError
from conveyor.executors.base import Executor
from conveyor.executors.docker import DockerExecutor, docker_problem
from conveyor.executors.podman import PodmanExecutor
from conveyor.executors.process import ProcessExecutor

__all__ = ["choose_executor"]


async def choose_executor(settings: Settings, log: Callable[[str], None]) -> tuple[Executor, str]:
    """(executor, one line saying which one runs tasks and why).

    auto tries podman, then a Docker Engine (DOCKER_HOST or the default socket), then
    host processes; naming one executor makes its absence an error, not a fallback.
    """
    why = "CONVEYOR_EXECUTOR=process"
    if settings.executor in ("auto", "podman"):
        podman = PodmanExecutor(settings, log=log)
        # one look: whether podman works, and the containers a killed conveyor left behind,
        # which go now, not at the first task
        problem = await podman.open()
        if problem is None:
            why = "podman works here" if settings.executor == "auto" else "CONVEYOR_EXECUTOR=podman"
            return podman, f"executor: podman (each task in its own container; {why})"
        if settings.executor == "podman":
            raise ExecutorError(
                f"CONVEYOR_EXECUTOR=podman but podman cannot run containers here: {problem}; "
                "install it (scripts/containers.sh) or set CONVEYOR_EXECUTOR=auto"
            )
        why = f"no container runtime: {problem}"
    if settings.executor in ("auto", "docker"):
        missing = await docker_problem()
        if missing is None:
            how = "a Docker Engine answers" if settings.executor == "auto" else "CONVEYOR_EXECUTOR=docker"
            docker = DockerExecutor(settings, log=log)
            await docker.sweep()
            return docker, f"executor: docker (each task in its own container; {how})"
        if settings.executor == "docker":
            raise ExecutorError(
                f"CONVEYOR_EXECUTOR=docker but {missing}; "
                "start dockerd or set DOCKER_HOST, or set CONVEYOR_EXECUTOR=auto"
            )
        why = f"{why}; {missing}"
    executor = ProcessExecutor(settings, log=log)
    mode = await executor.sandbox_mode()
    sandbox = (
        "each task in its own bubblewrap filesystem"
        if mode == "bwrap"
        else "no bubblewrap: task paths remapped, partial isolation"
    )
    return executor, f"executor: process ({sandbox}; {why})"
