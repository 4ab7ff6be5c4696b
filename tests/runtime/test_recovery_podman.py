"""Crash safety with containers: `conveyor server` SIGKILLed while tasks run in podman.

The killed server's containers keep running (podman's conmon outlives its client);
the restarted server removes them by their owner label, relaunches the tasks that
were running, and no container is left once the workflow ends.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conveyor.executors.podman import OWNER_LABEL, podman_problem
from tests.conftest import free_port, start_server
from tests.runtime.test_recovery import WORKFLOW

_problem = asyncio.run(podman_problem("podman"))
pytestmark = pytest.mark.skipif(_problem is not None,
                                reason=f"podman cannot run containers here ({_problem}); run scripts/containers.sh")


def _owned_by(pid: int) -> list[str]:
    out = subprocess.run(["podman", "ps", "--all", "--filter", f"label={OWNER_LABEL}={pid}@{os.uname().nodename}",
                          "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_sigkill_the_server_while_containers_run(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "podman")
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/workflows/default"
    server, _ = start_server(port=port, new_session=True)
    first_pid = server.pid
    try:
        assert httpx.post(base, json={"workflow": WORKFLOW}, timeout=10).status_code == 200
        deadline = time.monotonic() + 60
        while len(_owned_by(first_pid)) < 2 or not all(
                n["phase"] == "Running" for n in (httpx.get(f"{base}/crashy", timeout=5).json()["status"].get("nodes")
                                                  or {}).values() if n["displayName"] in ("b", "c")):
            assert time.monotonic() < deadline, "b and c never started in containers"
            time.sleep(0.1)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert _owned_by(first_pid), "the killed server's containers should outlive it (conmon)"

    server, _ = start_server(port=port, new_session=True)
    try:
        deadline = time.monotonic() + 90
        while (wf := httpx.get(f"{base}/crashy", timeout=5).json())["status"]["phase"] not in (
                "Succeeded", "Failed", "Error"):
            assert time.monotonic() < deadline, "the workflow did not finish after the restart"
            time.sleep(0.2)
        assert _owned_by(first_pid) == [], "the restarted server left the killed one's containers"
        assert _owned_by(server.pid) == [], "containers left behind after the workflow ended"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    nodes = {n["displayName"]: n for n in wf["status"]["nodes"].values()}
    assert nodes["b"].get("failedPodRestarts") == 1 and "failedPodRestarts" not in nodes["a"]


def test_a_stopped_workflow_leaves_no_container(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "podman")
    server, url = start_server(new_session=True)
    base = f"{url}/api/v1/workflows/default"
    sleepy = {"metadata": {"name": "sleepy"}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "a", "template": "nap"}, {"name": "b", "template": "nap"}]]},
        {"name": "nap", "container": {"image": "busybox", "command": ["sleep", "600"]}}]}}
    try:
        assert httpx.post(base, json={"workflow": sleepy}, timeout=10).status_code == 200
        deadline = time.monotonic() + 60
        while len(_owned_by(server.pid)) < 2:
            assert time.monotonic() < deadline, "the naps never started"
            time.sleep(0.1)
        assert httpx.put(f"{base}/sleepy/stop", json={}, timeout=10).status_code == 200
        while (wf := httpx.get(f"{base}/sleepy", timeout=5).json())["status"]["phase"] == "Running":
            assert time.monotonic() < deadline + 30, "stop did not end the workflow"
            time.sleep(0.1)
        assert wf["status"]["phase"] == "Failed"
        assert _owned_by(server.pid) == [], "podman ps -a still lists the stopped workflow's containers"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
