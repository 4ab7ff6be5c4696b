"""The container executor's time per task against a raw `podman run --rm IMAGE true` loop.

Both sides run K tasks one after another (conveyor: the chain shape with CONVEYOR_EXECUTOR
=podman), and each time is divided by K. Only images already in podman's store are used:
these machines reach no public registry, and a pull would be timed as task work.
https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench._figures import Figure
from bench._runs import time_run, time_server, write
from bench._server import Server, environment
from bench.shapes import container_chain

__all__ = ["CANDIDATES", "container", "podman_problem"]

#: images tried in turn; the first one podman has locally is used
CANDIDATES = ("docker.io/library/busybox:latest", "docker.io/library/alpine:3.6", "docker.io/library/debian:latest")


def _podman(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout_s)


def podman_problem() -> tuple[str, str]:
    """(image, "") when podman can run a local image, else ("", why not)."""
    if shutil.which("podman") is None:
        return "", "podman is not installed"
    try:
        image = next((i for i in CANDIDATES if _podman("image", "exists", i).returncode == 0), "")
        if not image:
            return "", f"podman has none of {', '.join(CANDIDATES)} locally (and no registry is pulled from)"
        probe = _podman("run", "--rm", image, "true")  # also the warm-up both sides profit from
    except subprocess.TimeoutExpired:
        return "", "podman did not answer within 120 s"
    if probe.returncode != 0:
        return "", f"`podman run --rm {image} true` failed: {probe.stderr.strip()[-300:]}"
    return image, ""


def _raw_loop(image: str, k: int) -> float:
    start = time.perf_counter()
    for _ in range(k):
        subprocess.run(["podman", "run", "--rm", image, "true"], check=True, capture_output=True)
    return (time.perf_counter() - start) / k


def container(image: str, k: int, reps: int, scratch: Path) -> list[Figure]:
    """Two figures, each against its own raw loop: `conveyor run` (its start-up, ~1 s of
    imports, is shared among the K tasks), and a running server (the executor's own cost
    per task: submit over HTTP, wait for Succeeded)."""
    what = f"podman run --rm {image} true, in a loop"
    run = Figure("container", "podman executor, per task", k, "s", what)
    served = Figure("container", "podman executor, per task, server", k, "s", what)
    shape = container_chain(k, image)
    files = write(shape, scratch)
    for _ in range(reps):
        run.baseline.append(_raw_loop(image, k))
        run.baseline_tasks.append(k)
        elapsed, tasks, _ = time_run(files, scratch, executor="podman")
        run.conveyor.append(elapsed / k)
        run.conveyor_tasks.append(tasks)
    home = Path(tempfile.mkdtemp(prefix="home-", dir=scratch))
    with Server(environment(home, "podman"), scratch / "container-server.log") as server:
        for _ in range(reps):
            served.baseline.append(_raw_loop(image, k))
            served.baseline_tasks.append(k)
            elapsed, tasks, _ = time_server(server, shape, lambda _: None, timeout_s=60 + 30 * k)
            served.conveyor.append(elapsed / k)
            served.conveyor_tasks.append(tasks)
    return [run, served]
