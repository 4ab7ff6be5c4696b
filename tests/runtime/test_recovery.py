"""Crash safety: a process driving a workflow is SIGKILLed mid-flight; the next
one resumes it from the stored events. Finished tasks never run again; tasks
that were running are launched again and counted on their node."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conveyor.store import Store
from tests.conftest import start_server

DRIVER = r"""
import asyncio, json, sys
from conveyor.config import Settings
from conveyor.runtime import Service, choose_executor
from conveyor.store import ArtifactRepo, Store

async def main(mode: str) -> None:
    settings = Settings.from_env()
    store = Store.open(settings.db_path)
    executor, _ = await choose_executor(settings, lambda m: None)
    service = Service(settings, store, ArtifactRepo(settings.artifact_dir), executor)
    if mode == "submit":
        service.create_workflow("default", json.loads(sys.argv[2]))
        await asyncio.sleep(3600)  # killed by the test
    else:
        resumed = await service.start()
        print(json.dumps(resumed), file=sys.stderr)
        wf = await service.wait("default", "crashy", 120)
        print(json.dumps(wf))
        await service.close()

asyncio.run(main(sys.argv[1]))
"""

WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"name": "crashy"},
    "spec": {
        "entrypoint": "main",
        "templates": [
            {"name": "main", "dag": {"tasks": [
                {"name": "a", "template": "work", "arguments": {"parameters": [{"name": "s", "value": "0"}]}},
                {"name": "b", "template": "work", "depends": "a", "arguments": {"parameters": [{"name": "s", "value": "3"}]}},
                {"name": "c", "template": "work", "depends": "a", "arguments": {"parameters": [{"name": "s", "value": "3"}]}},
                {"name": "d", "template": "work", "depends": "b && c", "arguments": {"parameters": [{"name": "s", "value": "0"}]}},
            ]}},
            {"name": "work", "inputs": {"parameters": [{"name": "s"}]},
             "container": {"image": "busybox", "command": ["sh", "-c", "sleep {{inputs.parameters.s}}; echo done-{{pod.name}}"]}},
        ],
    },
}


def _driver(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CONVEYOR_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _running(store: Store, display: str) -> bool:
    wf = store.find_workflow("default", "crashy") or {}
    nodes = (wf.get("status") or {}).get("nodes") or {}
    return any(n["displayName"] == display and n["phase"] == "Running" for n in nodes.values())


def test_sigkill_mid_dag_then_resume(conveyor_home: Path) -> None:
    first = _driver(conveyor_home, "submit", json.dumps(WORKFLOW))
    store = Store.open(conveyor_home / "conveyor.db")
    try:
        deadline = time.monotonic() + 30
        while not (_running(store, "b") and _running(store, "c")):
            assert time.monotonic() < deadline, first.stderr.read() if first.poll() is not None else "b and c never ran"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert store.get_workflow("default", "crashy")["status"]["phase"] == "Running"

    second = _driver(conveyor_home, "resume")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(err.strip().splitlines()[-1]) == ["default/crashy"]
    wf = json.loads(out)
    status = wf["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    nodes = {n["displayName"]: n for n in status["nodes"].values()}
    assert nodes["b"].get("failedPodRestarts") == 1 and nodes["c"].get("failedPodRestarts") == 1
    assert "failedPodRestarts" not in nodes["a"] and "failedPodRestarts" not in nodes["d"]
    # side effects: each task's "done" line appears in exactly one launch's log
    logs = conveyor_home / "logs" / "default" / "crashy"
    for name in "abcd":
        node_id = nodes[name]["id"]
        done = [p for p in logs.glob(f"{node_id}-*/main.log") if "done-" in p.read_text()]
        assert len(done) == 1, f"task {name} finished {len(done)} times"
        assert nodes[name]["outputs"]["result"] == f"done-{nodes[name]['podName']}"
    # the interrupted launches of b and c left logs without the line: they did run twice
    assert len(list(logs.glob(f"{nodes['b']['id']}-*/main.log"))) == 2
    assert not store.integrity_check()


def test_a_workflow_driven_by_a_live_process_is_not_taken_over() -> None:
    import socket

    from conveyor.runtime.runner import DRIVER_ANNOTATION, DRIVER_ID, driver_alive

    other = subprocess.Popen(["sleep", "30"])
    try:
        host = socket.gethostname()
        assert driver_alive({"metadata": {"annotations": {DRIVER_ANNOTATION: f"{other.pid}@{host}"}}})
        assert not driver_alive({"metadata": {"annotations": {DRIVER_ANNOTATION: DRIVER_ID}}})  # ourselves
        assert not driver_alive({"metadata": {"annotations": {DRIVER_ANNOTATION: f"{other.pid}@elsewhere"}}})
        assert not driver_alive({"metadata": {}})
    finally:
        other.kill()
        other.wait()
    assert not driver_alive({"metadata": {"annotations": {DRIVER_ANNOTATION: f"{other.pid}@{host}"}}})


def _start_server(port: int) -> subprocess.Popen[str]:
    return start_server(port=port, new_session=True)[0]


def test_sigkill_the_server_mid_dag_then_restart_it(conveyor_home: Path) -> None:
    """The issue's own scenario: `conveyor server` killed with SIGKILL while a DAG runs."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v1/workflows/default"
    server = _start_server(port)
    try:
        r = httpx.post(base, json={"workflow": WORKFLOW}, timeout=10)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while True:
            nodes = httpx.get(f"{base}/crashy", timeout=5).json()["status"].get("nodes") or {}
            if sum(1 for n in nodes.values() if n["displayName"] in ("b", "c") and n["phase"] == "Running") == 2:
                break
            assert time.monotonic() < deadline, "b and c never ran"
            time.sleep(0.05)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    server = _start_server(port)
    try:
        deadline = time.monotonic() + 60
        while (wf := httpx.get(f"{base}/crashy", timeout=5).json())["status"]["phase"] not in ("Succeeded", "Failed", "Error"):
            assert time.monotonic() < deadline, "the workflow did not finish after the restart"
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    nodes = {n["displayName"]: n for n in wf["status"]["nodes"].values()}
    logs = conveyor_home / "logs" / "default" / "crashy"
    for name in "abcd":
        done = [p for p in logs.glob(f"{nodes[name]['id']}-*/main.log") if "done-" in p.read_text()]
        assert len(done) == 1, f"task {name} finished {len(done)} times"
    assert nodes["b"].get("failedPodRestarts") == 1
