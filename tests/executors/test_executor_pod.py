"""Several containers per task (init, sidecar, containerSet), stopping, and the sandbox probe."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from executor_helpers import bwrap_unusable, run, sh

from conveyor.errors import ExecutorError
from conveyor.executors._streams import RESULT_LIMIT_BYTES
from conveyor.executors.base import ContainerSpec, TaskSpec
from conveyor.executors.process import ProcessExecutor

MakeExecutor = Callable[..., ProcessExecutor]
MakeSpec = Callable[..., TaskSpec]


def test_init_sidecar_main_order(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    mounts = ({"name": "work", "mountPath": "/work"},)  # the pod's shared emptyDir
    spec = make_spec(
        sh("echo init > /work/init.txt", name="hello", role="init", volume_mounts=mounts),
        sh("echo up > /work/side.txt; exec sleep 1000", name="side", role="sidecar", volume_mounts=mounts),
        sh(
            "cat /work/init.txt; while [ ! -s /work/side.txt ]; do sleep 0.02; done; cat /work/side.txt",
            volume_mounts=mounts,
        ),
        volumes=({"name": "work", "emptyDir": {}},),
    )
    started = time.monotonic()
    result = run(make_executor(mode), spec)
    assert time.monotonic() - started < 4  # the sleeping sidecar did not keep the task alive
    assert result.phase == "Succeeded", result.message
    assert result.result == "init\nup"
    assert result.containers["hello"] == 0 and result.containers["main"] == 0
    assert result.containers["side"] == 143  # SIGTERM when main ended
    assert (spec.log_dir / "hello.log").exists() and (spec.log_dir / "side.log").exists()


def test_failing_init_container_stops_the_task(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    spec = make_spec(sh("exit 4", name="prep", role="init"), sh("echo never"))
    result = run(make_executor(mode), spec)
    assert (result.phase, result.exit_code) == ("Failed", 4)
    assert result.message == 'init container "prep" failed: Error (exit code 4)'
    assert result.containers == {"prep": 4, "main": None}


def test_volume_mount_is_shared_by_containers(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    mount = ({"name": "workspace", "mountPath": "/workspace"},)
    spec = make_spec(
        ContainerSpec(
            name="a",
            image="argoproj/argosay:v2",
            args=("echo", "hi", "/workspace/out"),
            volume_mounts=mount,
        ),
        ContainerSpec(
            name="main", image="argoproj/argosay:v2", dependencies=("a",), volume_mounts=mount
        ),
        volumes=({"name": "workspace", "emptyDir": {}},),
        output_parameters={"out": "/workspace/out"},
        output_artifacts={"out": "/workspace/out"},
    )
    result = run(make_executor(mode), spec)
    assert result.phase == "Succeeded", result.message
    assert result.parameters == {"out": "hi"} and result.artifacts["out"].read_text() == "hi"
    assert result.result == "hello argo"  # a containerSet's result is the container named "main"


def _wait_for(name: str) -> str:
    # A rendezvous: b and c each wait for the other, so they pass only when run in parallel.
    return f"for i in $(seq 200); do [ -e /tmp/{name} ] && exit 0; sleep 0.02; done; exit 9"


def test_container_set_graph(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(
        sh("echo a >> /tmp/order", name="a"),
        sh("touch /tmp/b; echo b >> /tmp/order; " + _wait_for("c"), name="b", dependencies=("a",)),
        sh("touch /tmp/c; echo c >> /tmp/order; " + _wait_for("b"), name="c", dependencies=("a",)),
        sh("echo d >> /tmp/order; cat /tmp/order", name="d", dependencies=("b", "c")),
    )
    result = run(make_executor(mode), spec)
    assert result.phase == "Succeeded", result.message
    assert result.containers == {"a": 0, "b": 0, "c": 0, "d": 0}
    assert result.result is None  # no container named "main"
    order = (spec.log_dir / "d.log").read_text().split()
    assert order[0] == "a" and order[-1] == "d" and sorted(order[1:3]) == ["b", "c"]


def test_container_set_failing_dependency(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    spec = make_spec(
        sh("exit 2", name="a"),
        sh("echo b", name="b", dependencies=("a",)),
        sh("echo c", name="c", dependencies=("b",)),
        sh("sleep 0.2; echo free", name="main"),
    )
    result = run(make_executor(mode), spec)
    assert (result.phase, result.exit_code, result.message) == (
        "Failed",
        2,
        "a: Error (exit code 2)",
    )
    assert result.containers == {"a": 2, "b": None, "c": None, "main": 0}
    assert result.result == "free"


def test_container_set_unknown_dependency_is_an_error(
    make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    spec = make_spec(sh("true", name="a"), sh("true", name="b", dependencies=("nope",)))
    result = run(make_executor("none"), spec)
    assert result.phase == "Error" and "b never started" in result.message


def test_terminate_stops_promptly(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    executor = make_executor(mode)

    async def go() -> tuple[float, object]:
        handle = await executor.launch(
            make_spec(
                ContainerSpec(name="main", image="argoproj/argosay:v2", args=("sleep", "100s"))
            )
        )
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await handle.terminate(grace_s=2)
        return time.monotonic() - started, await handle.wait()

    took, result = asyncio.run(go())
    assert took < 2.5
    assert result.phase == "Failed" and result.message == "terminated"  # type: ignore[attr-defined]


def test_terminate_escalates_to_sigkill(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    executor = make_executor("none")

    async def go() -> float:
        handle = await executor.launch(make_spec(sh("trap '' TERM; sleep 100 & wait; sleep 100")))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await handle.terminate(grace_s=0.3)
        assert (await handle.wait()).message == "terminated"
        return time.monotonic() - started

    assert asyncio.run(go()) < 2


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_background_children_do_not_outlive_the_task(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    marker = f"1000.{os.getpid()}{len(mode)}"  # a unique `sleep` argument to look for
    result = run(
        make_executor(mode), make_spec(sh(f"sleep {marker} & sleep {marker} & echo started"))
    )
    assert result.phase == "Succeeded" and result.result == "started"
    deadline = time.monotonic() + 2
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


def test_huge_stdout_keeps_memory_flat(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    code = "import sys\nline = b'x' * 1023 + b'\\n'\nfor _ in range(100 * 1024): sys.stdout.buffer.write(line)\nprint('end')"
    spec = make_spec(ContainerSpec(name="main", command=("python3", "-c", code)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = run(make_executor(), spec)
    grew_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.phase == "Succeeded", result.message
    assert grew_mib < 48
    assert result.result is not None and len(result.result) == RESULT_LIMIT_BYTES
    assert result.result.endswith("x\nend")  # Argo keeps the last 256 kB
    assert "last 256 KiB" in result.message
    assert (spec.log_dir / "main.log").stat().st_size == 100 * 1024 * 1024 + 4


def test_logs_stream_while_running(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(sh("echo early; sleep 0.6; echo late"))

    async def go() -> str:
        handle = await make_executor().launch(spec)
        await asyncio.sleep(0.4)
        seen = (spec.log_dir / "main.log").read_text()
        await handle.wait()
        return seen

    assert asyncio.run(go()) == "early\n"


def test_bwrap_is_probed_and_used(make_executor: MakeExecutor, tmp_path: Path) -> None:
    problem = bwrap_unusable(tmp_path)
    if problem:
        pytest.skip(f"bubblewrap is not usable on this machine: {problem}")
    warnings: list[str] = []
    assert asyncio.run(make_executor("auto", log=warnings.append).sandbox_mode()) == "bwrap"
    assert warnings == []


def test_unusable_bwrap_falls_back_with_one_warning(
    make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    warnings: list[str] = []
    executor = make_executor("auto", log=warnings.append)
    executor._bwrap = "/nonexistent/bwrap"

    async def go() -> None:
        for _ in range(2):
            await (await executor.launch(make_spec(sh("true")))).wait()

    asyncio.run(go())
    assert asyncio.run(executor.sandbox_mode()) == "none"
    assert len(warnings) == 1 and "partial" in warnings[0] and "bubblewrap" in warnings[0]


def test_forced_bwrap_that_does_not_work_cannot_launch(
    make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    executor = make_executor("bwrap")
    executor._bwrap = "/nonexistent/bwrap"
    with pytest.raises(ExecutorError, match="CONVEYOR_SANDBOX=bwrap"):
        asyncio.run(executor.launch(make_spec(sh("true"))))


@pytest.mark.parametrize("key", ["", "..", "a/b"])
def test_bad_key_cannot_launch(key: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    with pytest.raises(ExecutorError, match="scratch folder"):
        asyncio.run(make_executor("none").launch(make_spec(sh("true"), key=key)))


def test_close_terminates_running_tasks(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    executor = make_executor()

    async def go() -> str:
        handle = await executor.launch(make_spec(sh("sleep 100")))
        await asyncio.sleep(0.2)
        await executor.close()
        return (await handle.wait()).message

    assert asyncio.run(go()) == "terminated"
