"""The rate-limit example (examples/rate-limit): a fan-out of downloads from a service
that refuses more than 2 requests in flight with 429.

With the example's `parallelism: 2` every download succeeds at the first try and the
service refuses nothing; with that line taken out the downloads start together, the
service answers 429 and the ones refused fail again on each retry while the first ones
still hold it, so the workflow fails. CI runs the example's own count, 6 tiles of 2 s
each (about 15 s for both runs), on the process executor.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import RunWorkflow
from tests.examples.seed import EXAMPLES

FAN_OUT = EXAMPLES / "rate-limit" / "fan-out.yaml"


@pytest.fixture
def tile_service() -> Iterator[str]:
    """examples/rate-limit/server.py on a free port, as the example's comment starts it."""
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "rate-limit" / "server.py"), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "tile service on http://127.0.0.1:PORT (...)"
    assert line.startswith("tile service on "), line
    yield line.split()[3]
    proc.terminate()
    proc.wait(10)


def fan_out(*, parallelism: bool) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(FAN_OUT.read_text())
    [main] = [t for t in manifest["spec"]["templates"] if t["name"] == "main"]
    assert main["parallelism"] == 2  # the service's limit, as server.py defaults it
    if not parallelism:
        del main["parallelism"]
    return manifest


def stats(url: str) -> dict[str, int]:
    got: dict[str, int] = httpx.get(f"{url}/stats", timeout=5).json()
    return got


def test_with_parallelism_every_download_succeeds(run_workflow: RunWorkflow, tile_service: str) -> None:
    wf = run_workflow(fan_out(parallelism=True), parameters={"url": tile_service}, timeout_s=120)
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    pods = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    tiles = int(yaml.safe_load(FAN_OUT.read_text())["spec"]["arguments"]["parameters"][1]["value"])
    assert len(pods) == tiles  # no retries were needed
    assert sorted(json.loads(p["outputs"]["result"])["tile"] for p in pods) == sorted(
        str(i) for i in range(1, tiles + 1))
    seen = stats(tile_service)
    assert seen["refused"] == 0 and seen["served"] == tiles and seen["most_in_flight"] <= 2


def test_without_parallelism_downloads_fail_with_429(run_workflow: RunWorkflow, tile_service: str,
                                                     conveyor_home: Path) -> None:
    wf = run_workflow(fan_out(parallelism=False), parameters={"url": tile_service}, timeout_s=120)
    assert wf["status"]["phase"] == "Failed"
    failed = [n for n in wf["status"]["nodes"].values() if n["type"] == "Retry" and n["phase"] == "Failed"]
    assert failed, "every download got through: the service never limited them"
    assert stats(tile_service)["refused"] > 0
    logs = "".join(p.read_text() for p in (conveyor_home / "logs").rglob("*.log"))
    assert "HTTP 429 Too Many Requests" in logs
