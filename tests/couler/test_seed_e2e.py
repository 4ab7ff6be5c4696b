"""The seed's Couler example, run as a script (only its import line changed)
against a live `conveyor server`, then followed through the REST API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, start_server

SCRIPT = Path(__file__).with_name("seed_pipeline.py")
NS = "pipelines"

SEED_ENV = {
    "WORKFLOW_NS": NS,
    "WORKFLOW_NODE_TOLERATION_KEY": "dedicated",
    "WORKFLOW_NODE_SELECTOR_KEY": "pool",
    "WORKFLOW_NODE_SELECTOR_VALUE": "batch",
    "REGISTRY_PULL_SECRET": "regcred",
}


@pytest.fixture
def server(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # Tasks run as host processes: `python:3.11` runs the host's python.
    monkeypatch.setenv("CONVEYOR_EXECUTOR", os.environ.get("CONVEYOR_EXECUTOR", "process"))
    proc, url = start_server()
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def wait_done(url: str, deadline_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        items = httpx.get(f"{url}/api/v1/workflows/{NS}", timeout=5).json().get("items") or []
        ours = [w for w in items if w["metadata"]["name"].startswith("seed-couler-")]
        if ours and ours[0].get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"):
            return httpx.get(f"{url}/api/v1/workflows/{NS}/{ours[0]['metadata']['name']}", timeout=5).json()  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"no finished seed-couler workflow in {deadline_s}s: {items}"
        time.sleep(0.2)


def test_the_seed_couler_example_runs_as_written(server: str) -> None:
    env = {**os.environ, **SEED_ENV, "PIPELINE_HOST": server}
    env.pop("CONVEYOR_HOST", None)
    run = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    wf = wait_done(server)
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    [pod] = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    assert pod["displayName"] == "hello-job" and pod["outputs"]["result"] == "hello ada"
    spec = wf["spec"]
    assert spec["tolerations"] == [
        {"key": "dedicated", "effect": "NoSchedule", "operator": "Exists"},
        {"key": "dedicated", "effect": "NoExecute", "operator": "Exists"},
    ]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    [task_template] = [t for t in spec["templates"] if t["name"] == "hello-job"]
    assert task_template["nodeSelector"] == {"pool": "batch"}
    log = httpx.get(f"{server}/api/v1/workflows/{NS}/{wf['metadata']['name']}/log",
                    params={"logOptions.container": "main"}, timeout=10).text
    assert "hello ada" in log
