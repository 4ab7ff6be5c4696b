"""The container executors (podman, docker) against their real runtimes, each test once for each.

podman is the one scripts/containers.sh installs and configures; the Docker Engine is the
one tests/docker_engine.py finds or starts. Each runtime is skipped, with its own reason,
where it cannot run containers. Images are the local stand-ins that script tags with the
names Argo's examples use (`busybox`, ...).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from executor_helpers import sh

from conveyor.config import Settings
from conveyor.executors._ctr import OWNER_LABEL, TASK_LABEL
from conveyor.executors.base import ContainerSpec, InputFile, TaskResult, TaskSpec
from conveyor.executors.docker import DockerExecutor
from conveyor.executors.podman import PodmanExecutor, podman_problem
from tests.docker_engine import engine

Executor = PodmanExecutor | DockerExecutor


@dataclass
class Runtime:
    """One container runtime as the tests see it: its executor, and a look at its containers."""

    make: Callable[[Settings], Executor]
    containers_of: Callable[[str], list[str]]  # the names of the task's containers (by TASK_LABEL)
    leftover: Callable[[str, str], Callable[[], None]]  # start (task key, owner); the undo


def _podman() -> Iterator[Runtime]:
    problem = asyncio.run(podman_problem("podman"))
    if problem is not None:
        pytest.skip(f"podman cannot run containers here ({problem}); run scripts/containers.sh")

    def containers_of(key: str) -> list[str]:
        return subprocess.run(["podman", "ps", "--all", "--filter", f"label={TASK_LABEL}={key}", "--format",
                               "{{.Names}}"], capture_output=True, text=True, check=True).stdout.split()

    def leftover(key: str, owner: str) -> Callable[[], None]:
        name = f"conveyor-{key}"
        subprocess.run(["podman", "run", "-d", "--replace", "--name", name, "--label", f"{OWNER_LABEL}={owner}",
                        "--label", f"{TASK_LABEL}={key}", "busybox", "sleep", "600"], check=True, capture_output=True)

        def undo() -> None:
            subprocess.run(["podman", "rm", "--force", "--time", "0", name], capture_output=True)

        return undo

    yield Runtime(lambda s: PodmanExecutor(s, log=lambda _: None), containers_of, leftover)


def _docker() -> Iterator[Runtime]:
    found = engine()
    if found.host is None:
        pytest.skip(f"no Docker Engine for the docker executor: {found.problem}")
    import docker

    client = docker.DockerClient(base_url=found.host)

    def containers_of(key: str) -> list[str]:
        return [c.name for c in client.containers.list(all=True, filters={"label": f"{TASK_LABEL}={key}"})]

    def leftover(key: str, owner: str) -> Callable[[], None]:
        c: Any = client.containers.run("busybox", ["sleep", "600"], detach=True, name=f"conveyor-{key}",
                                       network_mode="none", labels={OWNER_LABEL: owner, TASK_LABEL: key})
        return lambda: c.remove(force=True)

    yield Runtime(lambda s: DockerExecutor(s, log=lambda _: None), containers_of, leftover)
    client.close()


def _docker_api_on_podman(tmp: Path) -> Iterator[Runtime]:
    """The docker executor (Docker Engine API through the SDK) against podman's compatible socket."""
    import time

    import docker

    problem = asyncio.run(podman_problem("podman"))
    if problem is not None:
        pytest.skip(f"podman cannot run containers here ({problem}); run scripts/containers.sh")
    sock = tmp / "podman.sock"
    # cwd: the service's conmon writes a file named `oom` into its working directory when a
    # container is OOM-killed (podman 4.3), which left one at the repository root
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"], cwd=tmp,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client = docker.DockerClient(base_url=f"unix://{sock}")  # asks the version: it must answer
                client.ping()
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline or service.poll() is not None:
                    pytest.skip("`podman system service` did not come up on its socket")
                time.sleep(0.1)
        podman_runtime = next(_podman())
        yield Runtime(lambda s: DockerExecutor(s, host=f"unix://{sock}", log=lambda _: None),
                      podman_runtime.containers_of, podman_runtime.leftover)
    finally:
        if client is not None:
            client.close()
        service.terminate()
        service.wait(timeout=30)


@pytest.fixture(scope="module", params=["podman", "docker", "docker-api-on-podman"])
def runtime(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    if request.param == "podman":
        yield from _podman()
    elif request.param == "docker":
        yield from _docker()
    else:
        yield from _docker_api_on_podman(tmp_path_factory.mktemp("podman-api"))


@pytest.fixture
def executor(tmp_path: Path, runtime: Runtime) -> Executor:
    return runtime.make(Settings(home=tmp_path / "home"))


def run(executor: Executor, spec: TaskSpec) -> TaskResult:
    async def go() -> TaskResult:
        try:
            return await (await executor.launch(spec)).wait()
        finally:
            await executor.close()

    return asyncio.run(go())


def box(script: str, **kw: object) -> ContainerSpec:
    return sh(script, image="busybox", **kw)  # type: ignore[arg-type]


def test_a_script_task_with_inputs_outputs_env_and_workdir(executor: Executor, runtime: Runtime,
                                                            make_spec: Callable[..., TaskSpec], tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("from an input artifact\n")
    script = ContainerSpec(
        name="main", image="python:alpine3.23", command=("python",), env={"WHO": "ada"}, working_dir="/work",
        script_source=(
            "import os, pathlib, sys\n"
            "print(open('/in/data.txt').read().strip(), os.environ['WHO'], os.getcwd())\n"
            "print('to stderr', file=sys.stderr)\n"
            "pathlib.Path('/tmp/out/deep').mkdir(parents=True)\n"
            "pathlib.Path('/tmp/out/answer').write_text('42')\n"
            "pathlib.Path('/tmp/out/deep/more').write_text('43')\n"
            "pathlib.Path('/tmp/param').write_text('seven\\n')\n"
        ),
    )
    spec = make_spec(script, inputs=(InputFile("/in/data.txt", data),),
                     output_parameters={"p": "/tmp/param", "none": "/nope"},
                     output_artifacts={"a": "/tmp/out", "gone": "/nope"})
    result = run(executor, spec)
    assert result.phase == "Succeeded", result.message
    # the image it ran, by content, for the node status (so the run can be reproduced)
    assert result.image_id is not None and re.fullmatch(r"sha256:[0-9a-f]{64}", result.image_id)
    assert result.result == "from an input artifact ada /work"  # stdout only
    assert result.parameters == {"p": "seven"}
    assert (result.artifacts["a"] / "answer").read_text() == "42" and "gone" not in result.artifacts
    assert (result.artifacts["a"] / "deep" / "more").read_text() == "43"
    log = (spec.log_dir / "main.log").read_text()
    assert "from an input artifact" in log and "to stderr" in log
    assert runtime.containers_of(spec.key) == []  # removed once its outputs were read


def test_exit_code_and_message(executor: Executor, make_spec: Callable[..., TaskSpec]) -> None:
    result = run(executor, make_spec(box("echo oops >&2; exit 3")))
    assert (result.phase, result.exit_code, result.message) == ("Failed", 3, "Error (exit code 3)")


def test_a_container_exiting_as_podman_does_is_failed_but_a_missing_command_is_an_error(
        executor: Executor, runtime: Runtime, make_spec: Callable[..., TaskSpec]) -> None:
    # 125-127 are also what `podman run` exits with when podman, not the container, failed
    own = run(executor, make_spec(box("exit 127")))
    assert (own.phase, own.exit_code) == ("Failed", 127), own.message
    missing = run(runtime.make(executor.settings),
                  make_spec(ContainerSpec(name="main", image="busybox", command=("/no/such/tool",))))
    assert missing.phase == "Error", missing.message
    assert "/no/such/tool" in missing.message


def test_over_the_memory_limit_is_oomkilled(executor: Executor, make_spec: Callable[..., TaskSpec]) -> None:
    hog = ContainerSpec(name="main", image="python:alpine3.23", command=("python", "-c"),
                        args=("x = bytearray(512 * 1024 * 1024); print(len(x))",),
                        resources={"limits": {"memory": "64Mi", "cpu": "500m"}})
    result = run(executor, make_spec(hog))
    assert result.phase == "Failed" and result.exit_code == 137
    assert "OOMKilled" in result.message


def test_a_task_sees_neither_the_host_home_nor_another_task(executor: Executor, runtime: Runtime,
                                                            make_spec: Callable[..., TaskSpec]) -> None:
    marker = Path.home() / f".conveyor-test-{uuid.uuid4().hex}"
    marker.write_text("host secret")
    try:
        first = run(executor, make_spec(box(f"echo secret > /tmp/mine; cat {marker} 2>/dev/null || echo no-home")))
    finally:
        marker.unlink()
    assert first.result == "no-home", first.result
    second = run(runtime.make(executor.settings), make_spec(box("cat /tmp/mine 2>/dev/null || echo not-there")))
    assert second.result == "not-there"


def test_terminate_leaves_no_container(executor: Executor, runtime: Runtime,
                                       make_spec: Callable[..., TaskSpec]) -> None:
    spec = make_spec(box("echo started; sleep 600"))
    log = spec.log_dir / "main.log"

    async def go() -> TaskResult:
        task = await executor.launch(spec)
        for _ in range(200):
            if log.exists() and "started" in log.read_text():
                break
            await asyncio.sleep(0.05)
        await task.terminate(grace_s=1)
        result = await task.wait()
        await executor.close()
        return result

    result = asyncio.run(go())
    assert result.phase == "Failed" and result.message == "terminated"
    assert runtime.containers_of(spec.key) == []


def test_a_missing_image_is_an_error_that_names_it(executor: Executor, make_spec: Callable[..., TaskSpec]) -> None:
    spec = make_spec(ContainerSpec(name="main", image="localhost/conveyor/not-there:1", pull_policy="Never",
                                   command=("true",)))
    result = run(executor, spec)
    assert result.phase == "Error"
    assert 'image "localhost/conveyor/not-there:1" is not present' in result.message


def test_a_failed_pull_is_one_clear_message(executor: Executor, make_spec: Callable[..., TaskSpec]) -> None:
    spec = make_spec(ContainerSpec(name="main", image="127.0.0.1:9/conveyor/not-there:1", command=("true",)))
    result = run(executor, spec)
    assert result.phase == "Error"
    assert result.message.startswith('failed to pull image "127.0.0.1:9/conveyor/not-there:1": ')
    assert "\n" not in result.message


def test_init_sidecar_and_main_share_volumes_and_network(executor: Executor, runtime: Runtime,
                                                          make_spec: Callable[..., TaskSpec]) -> None:
    mount = ({"name": "shared", "mountPath": "/shared"},)
    init = box("echo from-init > /shared/note", name="prep", role="init", volume_mounts=mount)
    server = ContainerSpec(name="web", role="sidecar", image="python:alpine3.23",
                           command=("python", "-m", "http.server", "8080", "--directory", "/shared"),
                           volume_mounts=mount)
    main = box("for i in $(seq 50); do curl -sf http://127.0.0.1:8080/note && exit 0; sleep 0.1; done; exit 1",
               volume_mounts=mount)
    spec = make_spec(init, server, main)
    result = run(executor, spec)
    assert result.phase == "Succeeded", (result.message, (spec.log_dir / "main.log").read_text())
    assert result.result == "from-init"
    assert result.containers == {"prep": 0, "web": result.containers["web"], "main": 0}
    assert runtime.containers_of(spec.key) == []


def test_sweep_removes_containers_of_a_dead_conveyor(executor: Executor, runtime: Runtime) -> None:
    key = f"sweep-test-{uuid.uuid4().hex[:8]}"
    runtime.leftover(key, "999999999@nowhere")
    undo = runtime.leftover(key + "-mine", executor.owner)
    try:
        removed = asyncio.run(executor.sweep())
        assert removed and runtime.containers_of(key) == []
        assert runtime.containers_of(key + "-mine") != []  # a live owner's container stays
    finally:
        undo()


def test_a_plain_podman_task_costs_one_podman_run(tmp_path: Path, make_spec: Callable[..., TaskSpec]) -> None:
    """A task whose stopped container nothing is read from runs `podman run --rm`, and no
    `podman rm` or `inspect` follows it; a task with an output outside its mounts keeps its
    container until the output is copied out, and removes it then. Counted through a
    stand-in `podman` that logs each command and passes it on."""
    next(_podman())  # skips where podman cannot run containers
    real = shutil.which("podman")
    calls = tmp_path / "calls"
    standin = tmp_path / "podman"
    standin.write_text(f'#!/bin/sh\necho "$1" >> {shlex.quote(str(calls))}\nexec {shlex.quote(str(real))} "$@"\n')
    standin.chmod(0o755)
    executor = PodmanExecutor(Settings(home=tmp_path / "home"), podman=str(standin), log=lambda _: None)

    async def go(*specs: TaskSpec) -> list[TaskResult]:
        try:
            return [await (await executor.launch(s)).wait() for s in specs]
        finally:
            await executor.close()

    first, plain, output = (make_spec(box("true")), make_spec(box("echo hi")),
                            make_spec(box("echo 7 > /tmp/p"), output_parameters={"p": "/tmp/p"}))
    results = asyncio.run(go(first))
    calls.write_text("")  # the first task also sweeps and looks the image up: once per executor
    results += asyncio.run(go(plain, output))
    assert [r.phase for r in results] == ["Succeeded"] * 3, [r.message for r in results]
    assert results[1].result == "hi" and results[2].parameters == {"p": "7"}
    assert calls.read_text().split() == ["run", "run", "cp", "rm"]
