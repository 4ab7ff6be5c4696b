"""`conveyor up`: the server and UI in one command, the files it names loaded,
its address and export lines printed, and Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT, STANDINS, free_port


def test_up_serves_the_ui_loads_the_files_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    cron = tmp_path / "cron.yaml"
    cron.write_text(yaml.safe_dump({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
                                    "metadata": {"name": "nightly"}, "spec": {"schedules": ["0 2 * * *"], "workflowSpec": {
                                        "entrypoint": "main", "templates": [{"name": "main", "container": {
                                            "image": "busybox", "command": ["true"]}}]}}}))
    port = free_port()
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home"), "PATH": f"{os.environ['PATH']}:{STANDINS}"}
    proc = subprocess.Popen([sys.executable, "-m", "conveyor", "up", "examples/dag-pipeline.yaml", str(cron),
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"conveyor is up: the web UI is at http://127.0.0.1:{port}/"), first
        printed = [proc.stdout.readline() for _ in range(5)]
        assert any(line.startswith("  loaded CronWorkflow nightly") for line in printed), printed
        assert f"  export PIPELINE_HOST=http://127.0.0.1:{port}\n" in printed
        assert "  export PIPELINE_NS=default\n" in printed
        url = f"http://127.0.0.1:{port}"
        page = httpx.get(url + "/")
        assert page.status_code == 200 and '<script type="module" src="/ui/js/app.js">' in page.text
        assert httpx.get(url + "/ui/js/graph.js").status_code == 200
        assert httpx.get(url + "/api/v1/cron-workflows/default/nightly").status_code == 200
        deadline = time.monotonic() + 60
        while True:
            items = httpx.get(url + "/api/v1/workflows/default").json()["items"] or []
            phases = {w["metadata"]["name"]: (w.get("status") or {}).get("phase") for w in items}
            if phases and all(p == "Succeeded" for p in phases.values()):
                break
            assert time.monotonic() < deadline, phases
            time.sleep(0.2)
        assert [n.startswith("dag-pipeline-") for n in phases] == [True]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_up_refuses_a_bad_file_before_starting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    out = subprocess.run([sys.executable, "-m", "conveyor", "up", str(bad), "--port", str(free_port())], cwd=ROOT,
                         env={**os.environ, "CONVEYOR_HOME": str(tmp_path / "home")}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("invalid:")
    assert "ConfigMap" in out.stderr
