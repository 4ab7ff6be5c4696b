"""The seed pipeline's four spellings submit the same workflow, and each run of it succeeds.

examples/pipelines/ holds it as current Hera (hera_pipeline.py), legacy Hera 4
(legacy_hera_pipeline.py, in its own virtualenv), Couler's API (couler_pipeline.py)
and plain YAML (pipeline.yaml). The Python ones read the seed platform's variables;
the test sets them to the values pipeline.yaml spells out, submits all four to a live
server (tokens asked for, podman executor, the seed image built from
examples/seed-project), and compares what the server stored after normalising the
names each client picks (tests/examples/seed.py). Each run must succeed, with the
Python task's greeting, the image's statistics as the container task's result, and the
same statistics in its `stats` output artifact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, start_server
from tests.examples.seed import (
    PIPELINES,
    build_seed_image,
    normalised,
    pipeline_manifest,
    podman_skip_reason,
    results,
    seed_env,
    wait_done,
)

NS = "pipelines"


def test_the_cron_workflow_runs_the_same_pipeline() -> None:
    cron = yaml.safe_load((PIPELINES / "cron-pipeline.yaml").read_text())
    assert cron["kind"] == "CronWorkflow" and cron["spec"]["schedules"]
    assert cron["spec"]["workflowSpec"] == pipeline_manifest()["spec"]


@pytest.fixture
def server(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A podman-executor server that asks for tokens, and a write token for namespace NS."""
    conveyor_home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "podman")
    token = subprocess.run([sys.executable, "-m", "conveyor", "token", "create", "-n", NS, "--role", "write"],
                           capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    proc, url = start_server("--auth-mode", "client", log_path=conveyor_home / "server.log")
    yield url, token
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.skipif(podman_skip_reason() is not None, reason=podman_skip_reason() or "")
def test_four_spellings_submit_one_workflow_and_each_succeeds(
        server: tuple[str, str], hera4_python: Path, conveyor_home: Path, tmp_path: Path) -> None:
    url, token = server
    manifest = pipeline_manifest()
    env = {**os.environ, **seed_env(manifest["spec"]), "PIPELINE_HOST": url, "PIPELINE_NS": NS,
           "WORKFLOW_NS": NS, "PIPELINE_TOKEN": token, "PYTHONPATH": str(ROOT)}
    env.pop("CONVEYOR_HOST", None)
    image = env["PIPELINE_IMAGE"]
    build_seed_image(tmp_path, image, env)
    try:
        commands = {
            "hera": [sys.executable, str(PIPELINES / "hera_pipeline.py")],
            "legacy hera": [str(hera4_python), str(PIPELINES / "legacy_hera_pipeline.py")],
            "couler": [sys.executable, str(PIPELINES / "couler_pipeline.py")],
            "yaml": [sys.executable, "-m", "conveyor", "submit", str(PIPELINES / "pipeline.yaml"), "-o", "name"],
        }
        names = {}
        for client, argv in commands.items():
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
            assert done.returncode == 0, f"{client}: {done.stderr}"
            names[client] = done.stdout.strip().splitlines()[-1]
        assert len(set(names.values())) == 4 and all(n.startswith("seed-pipeline-") for n in names.values())

        headers = {"Authorization": f"Bearer {token}"}
        runs = {client: wait_done(url, NS, name, headers) for client, name in names.items()}
        expected = normalised(manifest["spec"])
        for client, wf in runs.items():
            assert normalised(wf["spec"]) == expected, client
            assert wf["status"]["phase"] == "Succeeded", (client, wf["status"].get("message"))
            pods = results(wf)
            assert pods["python-task"]["outputs"]["result"] == f"hello from python, {env['PIPELINE_USER']}"
            stats = json.loads(pods["container-task"]["outputs"]["result"])
            assert (stats["tile"], stats["size"], stats["seed"]) == ("seed-tile", 128, 7)
            assert stats["cells"] == 128 * 128
            assert stats["elevation_m"]["min"] <= stats["elevation_m"]["mean"] <= stats["elevation_m"]["max"]
            [artifact] = pods["container-task"]["outputs"]["artifacts"]
            with tarfile.open(conveyor_home / "artifacts" / artifact["local"]["key"]) as tar:
                member = next(m for m in tar.getmembers() if m.isfile())
                kept = tar.extractfile(member)
                assert kept is not None and json.loads(kept.read()) == stats
        # the same seed, the same statistics: the four runs computed one result
        assert len({results(wf)["container-task"]["outputs"]["result"] for wf in runs.values()}) == 1
    finally:
        subprocess.run(["podman", "rmi", image], capture_output=True)
