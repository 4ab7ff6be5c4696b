"""Choosing the executor (CONVEYOR_EXECUTOR=auto|process|podman|docker) and the line that says why.

A missing runtime is simulated, never assumed: podman is taken off PATH (a folder of
links to everything else), made to fail `podman info` with a stand-in script, and
DOCKER_HOST points at a socket nobody serves. The Docker Engine that `auto` falls back
to is podman's Docker-compatible socket, which needs no dockerd.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.config import Settings
from conveyor.errors import ExecutorError
from conveyor.executors.base import Executor
from conveyor.executors.docker import DockerExecutor
from conveyor.executors.podman import PodmanExecutor, podman_problem
from conveyor.executors.process import ProcessExecutor
from conveyor.runtime import choose_executor
from tests.conftest import path_without

_podman_problem = asyncio.run(podman_problem("podman"))
needs_podman = pytest.mark.skipif(_podman_problem is not None,
                                  reason=f"podman cannot run containers here ({_podman_problem}); "
                                         "run scripts/containers.sh")
ROOT = Path(__file__).resolve().parents[2]
CRUN_ERROR = "Error: crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI permission denied"


def choose(settings: Settings) -> tuple[Executor, str, list[str]]:
    """(executor, its one line, the warnings it logged); the executor is closed again."""
    warnings: list[str] = []

    async def go() -> tuple[Executor, str]:
        executor, line = await choose_executor(settings, warnings.append)
        await executor.close()
        return executor, line

    executor, line = asyncio.run(go())
    return executor, line, warnings


@pytest.fixture
def no_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_without("podman", tmp_path / "bin-no-podman"))


@pytest.fixture
def broken_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `podman` first on PATH that fails as podman does here before it is configured."""
    folder = tmp_path / "bin-broken-podman"
    folder.mkdir()
    fake = folder / "podman"
    fake.write_text(f"#!/bin/sh\necho 'time=\"x\" level=warning msg=\"noise\"' >&2\necho '{CRUN_ERROR}' >&2\nexit 125\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    host = f"unix://{tmp_path}/nobody-serves-this.sock"
    monkeypatch.setenv("DOCKER_HOST", host)
    return host


@pytest.fixture
def podman_docker_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DOCKER_HOST set to podman's Docker Engine API on a socket of this test's own."""
    if _podman_problem is not None:
        pytest.skip(f"podman cannot run containers here ({_podman_problem}), so it cannot serve the Docker "
                    "Engine API either; run scripts/containers.sh")
    try:
        import docker
    except ImportError:
        pytest.skip("the docker SDK is not installed (pip install 'docker>=7')")
    sock = tmp_path / "podman.sock"
    service = subprocess.Popen([shutil.which("podman") or "podman", "system", "service", "--time=0",
                                f"unix://{sock}"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # cwd: see test_executor_containers (`oom`)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                docker.DockerClient(base_url=f"unix://{sock}", timeout=2).close()  # asks the version
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline or service.poll() is not None:
                    pytest.skip("`podman system service` did not come up on its socket")
                time.sleep(0.1)
        monkeypatch.setenv("DOCKER_HOST", f"unix://{sock}")
        yield f"unix://{sock}"
    finally:
        service.terminate()
        service.wait(timeout=30)


@needs_podman
def test_auto_picks_podman_when_it_works(tmp_path: Path, no_docker: str) -> None:
    executor, line, _ = choose(Settings(home=tmp_path, executor="auto"))
    assert isinstance(executor, PodmanExecutor)
    assert line == "executor: podman (each task in its own container; podman works here)"


def test_auto_without_podman_falls_back_to_a_docker_engine(tmp_path: Path, podman_docker_api: str,
                                                           no_podman: None) -> None:
    executor, line, _ = choose(Settings(home=tmp_path, executor="auto"))
    assert isinstance(executor, DockerExecutor)
    assert line == "executor: docker (each task in its own container; a Docker Engine answers)"


def test_auto_with_no_runtime_runs_processes_and_says_why(tmp_path: Path, no_podman: None, no_docker: str) -> None:
    executor, line, _ = choose(Settings(home=tmp_path, executor="auto"))
    assert isinstance(executor, ProcessExecutor)
    assert line.startswith("executor: process (") and "\n" not in line
    assert "no container runtime: podman is not installed" in line
    assert f"no Docker Engine answers at {no_docker}" in line


def test_auto_with_a_broken_podman_names_its_error(tmp_path: Path, broken_podman: None, no_docker: str) -> None:
    executor, line, _ = choose(Settings(home=tmp_path, executor="auto"))
    assert isinstance(executor, ProcessExecutor)
    assert f"no container runtime: {CRUN_ERROR.removeprefix('Error: ')}" in line  # podman's own last line
    assert "noise" not in line and "\n" not in line


@pytest.mark.parametrize("sandbox, says", [
    ("none", "no bubblewrap: task paths remapped, partial isolation"),
    ("auto", None),  # bubblewrap where it works, the partial note where not: depends on the machine
])
def test_process_is_used_when_asked_even_where_podman_works(tmp_path: Path, sandbox: str, says: str | None) -> None:
    executor, line, warnings = choose(Settings(home=tmp_path, executor="process", sandbox=sandbox))
    assert isinstance(executor, ProcessExecutor)
    assert line.endswith("; CONVEYOR_EXECUTOR=process)")
    if says is not None:
        assert line == f"executor: process ({says}; CONVEYOR_EXECUTOR=process)"
        assert any("CONVEYOR_SANDBOX=none" in w for w in warnings)
    else:
        assert line.startswith(("executor: process (each task in its own bubblewrap filesystem;",
                                "executor: process (no bubblewrap:"))


@needs_podman
def test_podman_when_asked(tmp_path: Path) -> None:
    executor, line, _ = choose(Settings(home=tmp_path, executor="podman"))
    assert isinstance(executor, PodmanExecutor)
    assert line == "executor: podman (each task in its own container; CONVEYOR_EXECUTOR=podman)"


def test_docker_when_asked(tmp_path: Path, podman_docker_api: str) -> None:
    executor, line, _ = choose(Settings(home=tmp_path, executor="docker"))
    assert isinstance(executor, DockerExecutor)
    assert line == "executor: docker (each task in its own container; CONVEYOR_EXECUTOR=docker)"


def test_podman_asked_but_not_installed_is_a_clear_error(tmp_path: Path, no_podman: None) -> None:
    with pytest.raises(ExecutorError) as raised:
        choose(Settings(home=tmp_path, executor="podman"))
    assert raised.value.message == (
        "CONVEYOR_EXECUTOR=podman but podman cannot run containers here: podman is not installed; "
        "install it (scripts/containers.sh) or set CONVEYOR_EXECUTOR=auto")


def test_podman_asked_but_broken_names_podmans_error(tmp_path: Path, broken_podman: None) -> None:
    with pytest.raises(ExecutorError) as raised:
        choose(Settings(home=tmp_path, executor="podman"))
    message = raised.value.message
    assert CRUN_ERROR.removeprefix("Error: ") in message and "noise" not in message and "\n" not in message
    assert message.endswith("install it (scripts/containers.sh) or set CONVEYOR_EXECUTOR=auto")


def test_docker_asked_but_no_engine_is_a_clear_error(tmp_path: Path, no_docker: str) -> None:
    with pytest.raises(ExecutorError) as raised:
        choose(Settings(home=tmp_path, executor="docker"))
    message = raised.value.message
    # where it looked and what it found there, not the SDK's nested reprs
    assert message.startswith(f"CONVEYOR_EXECUTOR=docker but no Docker Engine answers at {no_docker}: "
                              "the socket does not exist (is dockerd running?); ")
    assert message.endswith("start dockerd or set DOCKER_HOST, or set CONVEYOR_EXECUTOR=auto")
    assert "\n" not in message


# -- the faces: `conveyor run` prints the line, `conveyor server` refuses in one line ---------

HELLO = ROOT / "examples" / "hello-world.yaml"


def conveyor(*args: str, env: dict[str, str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout_s)


@needs_podman
def test_run_says_it_uses_podman_and_why(tmp_path: Path) -> None:
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home"), "CONVEYOR_EXECUTOR": "auto"}
    done = conveyor("run", str(HELLO), "-q", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("executor: ")]
    assert lines == ["executor: podman (each task in its own container; podman works here)"]


def test_run_without_a_runtime_says_it_uses_processes_and_why(tmp_path: Path, no_podman: None,
                                                              no_docker: str) -> None:
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home"), "CONVEYOR_EXECUTOR": "auto"}
    done = conveyor("run", str(HELLO), "-q", "-o", "json", env=env)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("executor: ")]
    assert line.startswith("executor: process (") and "podman is not installed" in line and no_docker in line


@pytest.mark.parametrize("asked", ["podman", "docker"])
def test_server_asked_for_a_missing_runtime_exits_with_one_line(tmp_path: Path, no_podman: None,
                                                                no_docker: str, asked: str) -> None:
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home"), "CONVEYOR_EXECUTOR": asked}
    done = conveyor("server", "--port", "0", env=env, timeout_s=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if f"CONVEYOR_EXECUTOR={asked} but" in line]
    assert len(errors) == 1 and errors[0].startswith("error: "), done.stderr
    assert "set CONVEYOR_EXECUTOR=auto" in errors[0]
