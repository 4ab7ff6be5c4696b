"""The seed platform's legacy Hera (hera-workflows 4.4.2) script, unmodified, against conveyor.

hera 4 pins `argo-workflows==6.3.5`, which cannot live beside current Hera, so
the test builds its own virtualenv (the `hera4_python` fixture of tests/conftest.py,
kept under `.cache/` between runs) and runs
examples/pipelines/legacy_hera_pipeline.py in it, configured only through the
seed platform's environment variables, against a live `conveyor server` that
asks for a token (`--auth-mode client`).
"""

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

SCRIPT = ROOT / "examples" / "pipelines" / "legacy_hera_pipeline.py"


@pytest.fixture
def server(conveyor_home: Path) -> Iterator[tuple[str, str]]:
    """A server that asks for tokens, and a write token for namespace `pipelines`."""
    token = subprocess.run([sys.executable, "-m", "conveyor", "token", "create", "-n", "pipelines", "--role", "write"],
                           capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    proc, url = start_server("--auth-mode", "client")
    yield url, token
    proc.terminate()
    proc.wait(timeout=30)


def seed_env(url: str, token: str) -> dict[str, str]:
    """The seed platform's variables, as its docs set them."""
    return {
        "PIPELINE_HOST": url, "PIPELINE_NS": "pipelines", "PIPELINE_TOKEN": token, "WORKFLOW_NS": "pipelines",
        "WORKFLOW_SA": "pipeline-runner", "REGISTRY_PULL_SECRET": "registry-credentials",
        "WORKFLOW_NODE_SELECTOR_KEY": "node-pool", "WORKFLOW_NODE_SELECTOR_VALUE": "pipelines",
        "WORKFLOW_NODE_SELECTOR_VALUE_SMALL": "pipelines-small",
        "WORKFLOW_NODE_TOLERATION_KEY": "dedicated", "WORKFLOW_NODE_TOLERATION_VALUE": "pipelines",
        "PIPELINE_USER": "ada-lovelace",
    }


def wait_for(url: str, token: str, name: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(f"{url}/api/v1/workflows/pipelines/{name}", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        wf: dict[str, Any] = r.json()
        if wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error") or time.monotonic() > deadline:
            return wf
        time.sleep(0.2)


def test_the_seed_script_runs_unmodified(hera4_python: Path, server: tuple[str, str], tmp_path: Path) -> None:
    """What hera 4 sends, and its Python task's run. The container task runs the seed image,
    which the process executor cannot: tests/examples/test_pipelines.py runs the whole
    pipeline on podman, and checks it is the workflow the other three clients submit."""
    url, token = server
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **seed_env(url, token)}
    done = subprocess.run([str(hera4_python), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip().splitlines()[-1]
    assert name.startswith("seed-pipeline-")  # generate_name: the server made it unique

    wf = wait_for(url, token, name)
    nodes = {n["displayName"]: n for n in wf["status"]["nodes"].values()}
    # the source task printed the env value it was given
    assert nodes["python-task"]["phase"] == "Succeeded"
    assert nodes["python-task"]["outputs"]["result"] == "hello from python, ada-lovelace"

    spec = wf["spec"]
    assert spec["parallelism"] == 2
    assert spec["serviceAccountName"] == "pipeline-runner"
    assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
    assert spec["nodeSelector"] == {"node-pool": "pipelines"}
    toleration = {"key": "dedicated", "operator": "Equal", "value": "pipelines", "effect": "NoSchedule"}
    assert spec["tolerations"] == [toleration]
    templates = {t["name"]: t for t in spec["templates"]}
    assert templates["python-task"]["nodeSelector"] == {"node-pool": "pipelines-small"}
    # the image is the workflow parameter `image`, defaulting to PIPELINE_IMAGE's default
    assert spec["arguments"]["parameters"] == [{"name": "image", "value": "127.0.0.1:5000/seed/grid-stats:1"}]
    assert templates["container-task"]["container"]["image"] == "{{workflow.parameters.image}}"
    assert templates["container-task"]["outputs"]["artifacts"] == [{"name": "stats", "path": "/tmp/outputs/stats.json"}]


def test_a_wrong_token_is_refused(hera4_python: Path, server: tuple[str, str], tmp_path: Path) -> None:
    url, _ = server
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **seed_env(url, "not-a-token")}
    done = subprocess.run([str(hera4_python), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "401" in done.stderr and "Unauthorized" in done.stderr
    listed = httpx.get(f"{url}/api/v1/workflows/pipelines", headers={"Authorization": f"Bearer {server[1]}"}).json()
    assert not listed.get("items")
