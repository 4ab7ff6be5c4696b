"""The docker executor against a real Docker Engine (tests/docker_engine.py starts one if none answers).

Skipped, with the reason, where no engine can be had or podman holds no stand-in
images to load into it. Images are the stand-ins scripts/containers.sh builds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from executor_helpers import sh

from conveyor.config import Settings
from conveyor.executors.base import ContainerSpec, InputFile, TaskResult, TaskSpec
from conveyor.executors.docker import DockerExecutor
from conveyor.executors.podman import OWNER_LABEL, TASK_LABEL
from tests.docker_engine import engine


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    found = engine()
    if found.host is None:
        pytest.skip(f"no Docker Engine for the docker executor: {found.problem}")
    import docker

    c = docker.DockerClient(base_url=found.host)
    yield c
    c.close()


@pytest.fixture
def executor(tmp_path: Path, client: Any) -> DockerExecutor:
    return DockerExecutor(Settings(home=tmp_path / "home"), log=lambda _: None)


def run(executor: DockerExecutor, spec: TaskSpec) -> TaskResult:
    async def go() -> TaskResult:
        try:
            return await (await executor.launch(spec)).wait()
        finally:
            await executor.close()

    return asyncio.run(go())


def containers_of(client: Any, key: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{TASK_LABEL}={key}"})]


def box(script: str, **kw: object) -> ContainerSpec:
    return sh(script, image="busybox", **kw)  # type: ignore[arg-type]


def test_a_script_task_with_inputs_outputs_env_and_workdir(executor: DockerExecutor, client: Any,
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
    assert result.result == "from an input artifact ada /work"  # stdout only
    assert result.parameters == {"p": "seven"}
    assert (result.artifacts["a"] / "answer").read_text() == "42" and "gone" not in result.artifacts
    assert (result.artifacts["a"] / "deep" / "more").read_text() == "43"
    log = (spec.log_dir / "main.log").read_text()
    assert "from an input artifact" in log and "to stderr" in log
    assert containers_of(client, spec.key) == []  # removed once its outputs were read


def test_exit_code_and_message(executor: DockerExecutor, make_spec: Callable[..., TaskSpec]) -> None:
    result = run(executor, make_spec(box("echo oops >&2; exit 3")))
    assert (result.phase, result.exit_code, result.message) == ("Failed", 3, "Error (exit code 3)")


def test_over_the_memory_limit_is_oomkilled(executor: DockerExecutor, make_spec: Callable[..., TaskSpec]) -> None:
    hog = ContainerSpec(name="main", image="python:alpine3.23", command=("python", "-c"),
                        args=("x = bytearray(512 * 1024 * 1024); print(len(x))",),
                        resources={"limits": {"memory": "64Mi", "cpu": "500m"}})
    result = run(executor, make_spec(hog))
    assert result.phase == "Failed" and result.exit_code == 137
    assert "OOMKilled" in result.message


def test_a_task_sees_neither_the_host_home_nor_another_task(executor: DockerExecutor,
                                                            make_spec: Callable[..., TaskSpec]) -> None:
    marker = Path.home() / f".conveyor-test-{uuid.uuid4().hex}"
    marker.write_text("host secret")
    try:
        first = run(executor, make_spec(box(f"echo secret > /tmp/mine; cat {marker} 2>/dev/null || echo no-home")))
    finally:
        marker.unlink()
    assert first.result == "no-home", first.result
    second = run(DockerExecutor(executor.settings, log=lambda _: None),
                 make_spec(box("cat /tmp/mine 2>/dev/null || echo not-there")))
    assert second.result == "not-there"


def test_terminate_leaves_no_container(executor: DockerExecutor, client: Any,
                                       make_spec: Callable[..., TaskSpec]) -> None:
    spec = make_spec(box("echo started; sleep 600"))

    async def go() -> TaskResult:
        task = await executor.launch(spec)
        for _ in range(200):
            if (spec.log_dir / "main.log").exists() and "started" in (spec.log_dir / "main.log").read_text():
                break
            await asyncio.sleep(0.05)
        await task.terminate(grace_s=1)
        result = await task.wait()
        await executor.close()
        return result

    result = asyncio.run(go())
    assert result.phase == "Failed" and result.message == "terminated"
    assert containers_of(client, spec.key) == []


def test_a_missing_image_is_an_error_that_names_it(executor: DockerExecutor,
                                                    make_spec: Callable[..., TaskSpec]) -> None:
    spec = make_spec(ContainerSpec(name="main", image="localhost/conveyor/not-there:1", pull_policy="Never",
                                   command=("true",)))
    result = run(executor, spec)
    assert result.phase == "Error"
    assert 'image "localhost/conveyor/not-there:1" is not present' in result.message


def test_a_failed_pull_is_one_clear_message(executor: DockerExecutor, make_spec: Callable[..., TaskSpec]) -> None:
    spec = make_spec(ContainerSpec(name="main", image="127.0.0.1:9/conveyor/not-there:1", command=("true",)))
    result = run(executor, spec)
    assert result.phase == "Error"
    assert result.message.startswith('failed to pull image "127.0.0.1:9/conveyor/not-there:1": ')
    assert "\n" not in result.message


def test_init_sidecar_and_main_share_volumes_and_network(executor: DockerExecutor, client: Any,
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
    assert containers_of(client, spec.key) == []


def test_sweep_removes_containers_of_a_dead_conveyor(executor: DockerExecutor, client: Any) -> None:
    key = f"sweep-test-{uuid.uuid4().hex[:8]}"
    client.containers.run("busybox", ["sleep", "600"], detach=True, name=f"conveyor-{key}", network_mode="none",
                          labels={OWNER_LABEL: "999999999@nowhere", TASK_LABEL: key})
    mine = client.containers.run("busybox", ["sleep", "600"], detach=True, network_mode="none",
                                 labels={OWNER_LABEL: executor.owner, TASK_LABEL: key + "-mine"})
    try:
        removed = asyncio.run(executor.sweep())
        assert removed and containers_of(client, key) == []
        assert containers_of(client, key + "-mine") != []  # a live owner's container stays
    finally:
        mine.remove(force=True)
