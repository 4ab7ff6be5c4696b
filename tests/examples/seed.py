"""What the examples' tests share: why podman tests cannot run here, the seed project's
image built once, the seed platform's variables read off pipeline.yaml, and a workflow
spec normalised so that what four clients submitted can be compared."""

from __future__ import annotations

import asyncio
import copy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conveyor.executors.podman import podman_problem
from tests.conftest import CACHE, ROOT

EXAMPLES = ROOT / "examples"
PIPELINES = EXAMPLES / "pipelines"
SEED_PROJECT = EXAMPLES / "seed-project"
#: the stand-in the seed project's dockerfile builds FROM (scripts/containers.sh tags it)
BASE = "docker.io/library/python:3.11-slim"
#: how current and legacy Hera package a function as a script: a preamble before its body
HERA_PREAMBLE = "import os\nimport sys\nsys.path.append(os.getcwd())\n"


def podman_skip_reason() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman; scripts/containers.sh does it)"
    if (problem := asyncio.run(podman_problem("podman"))) is not None:
        return f"podman cannot run containers here ({problem}); run scripts/containers.sh"
    if subprocess.run(["podman", "image", "exists", BASE], capture_output=True).returncode != 0:
        return f"the stand-in base image {BASE} is missing; run scripts/containers.sh"
    return None


def pipeline_manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PIPELINES / "pipeline.yaml").read_text())
    return loaded


def seed_env(spec: dict[str, Any]) -> dict[str, str]:
    """The seed platform's variables that make the Python pipelines build `spec` (pipeline.yaml's)."""
    templates = {t["name"]: t for t in spec["templates"]}
    [(key, value)] = spec["nodeSelector"].items()
    [toleration] = spec["tolerations"]
    [user] = templates["python-task"]["script"]["env"]
    return {
        "WORKFLOW_SA": spec["serviceAccountName"], "REGISTRY_PULL_SECRET": spec["imagePullSecrets"][0]["name"],
        "WORKFLOW_NODE_SELECTOR_KEY": key, "WORKFLOW_NODE_SELECTOR_VALUE": value,
        "WORKFLOW_NODE_SELECTOR_VALUE_SMALL": templates["python-task"]["nodeSelector"][key],
        "WORKFLOW_NODE_TOLERATION_KEY": toleration["key"], "WORKFLOW_NODE_TOLERATION_VALUE": toleration["value"],
        "PIPELINE_IMAGE": image_of(spec), "PIPELINE_USER": user["value"],
    }


def image_of(spec: dict[str, Any]) -> str:
    """The seed image a run of the pipeline uses: its `image` parameter (the container task names it)."""
    templates = {t["name"]: t for t in spec["templates"]}
    assert templates["container-task"]["container"]["image"] == "{{workflow.parameters.image}}"
    [image] = [p["value"] for p in spec["arguments"]["parameters"] if p["name"] == "image"]
    return str(image)


def with_image(spec: dict[str, Any], image: str) -> dict[str, Any]:
    """`spec` (pipeline.yaml's) as `submit -p image=IMAGE` runs it."""
    spec = copy.deepcopy(spec)
    for p in spec["arguments"]["parameters"]:
        if p["name"] == "image":
            p["value"] = image
    return spec


def normalised(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with the names clients choose for themselves made equal: the entrypoint
    template is `main` (Couler names it after the salted workflow name), templates are in
    name order, and a script's source has no Hera preamble or trailing blank space."""
    spec = copy.deepcopy(spec)
    entry = spec["entrypoint"]
    spec["entrypoint"] = "main"
    for t in spec["templates"]:
        if t["name"] == entry:
            t["name"] = "main"
        if "script" in t:
            source = t["script"]["source"]
            t["script"]["source"] = source.removeprefix(HERA_PREAMBLE).rstrip()
    spec["templates"] = sorted(spec["templates"], key=lambda t: t["name"])
    return spec


def build_seed_image(workdir: Path, ref: str, env: dict[str, str]) -> None:
    """Build the seed project's image as its README says: wheels fetched on the host
    (cached between runs), then `conveyor image build --network none`."""
    project = workdir / "seed-project"
    shutil.copytree(SEED_PROJECT, project, ignore=shutil.ignore_patterns("wheels"))
    wheels = CACHE / "seed-wheels"
    got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                          "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                          "-d", str(wheels), "-r", str(project / "src" / "requirements.txt")],
                         capture_output=True, text=True, timeout=600)
    if got.returncode != 0:
        pytest.fail(f"pip download of the seed project's requirements failed:\n{got.stderr[-2000:]}")
    shutil.copytree(wheels, project / "wheels")
    built = subprocess.run([sys.executable, "-m", "conveyor", "image", "build", str(project), "-t", ref,
                            "--network", "none", "-q"], capture_output=True, text=True, env=env, timeout=600)
    assert built.returncode == 0, built.stderr


def wait_done(url: str, ns: str, name: str, headers: dict[str, str] | None = None,
              timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(f"{url}/api/v1/workflows/{ns}/{name}", headers=headers or {}, timeout=10)
        r.raise_for_status()
        wf: dict[str, Any] = r.json()
        if wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"):
            return wf
        assert time.monotonic() < deadline, f"{name} did not finish in {timeout_s}s: {wf.get('status')}"
        time.sleep(0.3)


def results(wf: dict[str, Any]) -> dict[str, Any]:
    """displayName -> the Pod node, for the nodes that ran a task."""
    return {n["displayName"]: n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"}
