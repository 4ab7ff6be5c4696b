"""Executor faults with the podman executor: the runtime missing, refusing, or dying mid-run.

The server's `podman` is a stand-in on PATH in front of the real one: a link to it that
the test deletes (the runtime is missing), or a script that passes every command on but
fails the next `podman run` with podman's own exit code 125 (the runtime refuses), or
kills itself while that container runs (the runtime dies mid-run). Each fault must end
its attempt in Error with a message saying what happened, and the workflow's
retryStrategy must run it again; nothing of the task may be left running.

Counts: one workflow per fault, three in all. Skipped, with the reason, where podman
cannot run containers.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.executors.podman import OWNER_LABEL, podman_problem
from tests.reliability._faults import Server, retried_demo, wait_until

_problem = asyncio.run(podman_problem("podman"))
pytestmark = pytest.mark.skipif(_problem is not None,
                                reason=f"podman cannot run containers here ({_problem}); run scripts/containers.sh")

# Faults armed by a flag file beside the script; each fires once (the flag goes), so the retry runs.
STANDIN = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = run ] && [ -e "$here/refuse" ]; then
    rm -f "$here/refuse"
    echo "Error: OCI runtime error: runc: container_linux.go: starting container process caused: stand-in refusal" >&2
    exit 125
fi
if [ "$1" = run ] && [ -e "$here/die" ]; then
    rm -f "$here/die"
    {real} "$@" &
    sleep 2
    kill -KILL $$
fi
exec {real} "$@"
"""


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH whose `podman` is the stand-in script."""
    real = shutil.which("podman")
    assert real is not None
    folder = tmp_path / "standin"
    folder.mkdir()
    script = folder / "podman"
    script.write_text(STANDIN.format(real=shlex.quote(real)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "podman")
    return folder


@pytest.fixture
def server(conveyor_home: Path, standin: Path, tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "server.log")
    yield s
    s.close()


def _left_running(server: Server) -> list[str]:
    out = subprocess.run(["podman", "ps", "--all", "--filter", f"label={OWNER_LABEL}={server.proc.pid}@{os.uname().nodename}",
                          "--format", "{{.Names}} ({{.Status}})"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()


def _attempts(server: Server, wf: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    nodes = server.nodes(wf)
    return nodes["demo(0)"], nodes["demo(1)"]


def _check_retried(server: Server, name: str) -> dict[str, Any]:
    wf = server.wait(name, timeout_s=120)
    first, second = _attempts(server, wf)
    assert second["phase"] == "Succeeded" and second["outputs"]["result"] == "attempt-1", second
    assert wf["status"]["phase"] == "Succeeded"
    try:
        wait_until(lambda: not _left_running(server), 30, "the task's containers to be removed")
    except AssertionError:
        raise AssertionError(f"containers left: {_left_running(server)}") from None
    return first


@pytest.mark.parametrize("fault", ["refuse", "die"])
def test_podman_failing_a_run_gives_an_error_node_and_the_retry_runs(fault: str, server: Server, standin: Path) -> None:
    (standin / fault).touch()
    first = _check_retried(server, server.submit(retried_demo()))
    assert first["phase"] == "Error", first
    if fault == "refuse":
        assert first["message"] == ('podman could not run container "main" (exit code 125): OCI runtime error: runc: '
                                    "container_linux.go: starting container process caused: stand-in refusal")
    else:
        assert first["message"] == ('podman run of container "main" ended (Error (exit code 137): killed by signal '
                                    "SIGKILL) while the container still ran: the container runtime failed mid-run")


def test_podman_gone_gives_an_error_node_and_the_retry_runs_once_it_is_back(server: Server, standin: Path) -> None:
    script = standin / "podman"
    kept = script.read_text()
    script.unlink()  # the server found podman when it started; it is gone now
    name = server.submit(retried_demo())
    first = wait_until(lambda: next((n for n in server.nodes(server.get(name)).values()
                                     if n["displayName"] == "demo(0)" and n["phase"] in ("Error", "Failed")), None),
                       60, "the first attempt to fail")
    script.write_text(kept)  # back before the retry's backoff (3 s) is over
    script.chmod(0o755)
    assert first["phase"] == "Error"
    assert first["message"].startswith(f"the container runtime is missing: cannot run {script}"), first["message"]
    assert "install podman" in first["message"]
    _check_retried(server, name)
