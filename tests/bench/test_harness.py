"""The benchmark harness (bench/, issue 7) run small: it must produce its table and JSON,
and conveyor must run as many tasks as the baseline. Timings are never asserted: these
machines are shared, and the harness exists to report them, not to gate on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.shapes import SHAPES, build
from tests.conftest import ROOT

QUICK_N = 20  # what --quick runs


def run_bench(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(out.read_text())


def test_quick_run_reports_every_shape_against_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    done, data = run_bench(out, "--only", ",".join([*SHAPES, "latency", "get", "throughput"]))
    assert "conveyor against its baseline" in done.stdout
    assert "targets" in done.stdout and "fan · conveyor run" in done.stdout
    assert data["failed"] == {}
    figures = {(f["group"], f["label"]): f for f in data["figures"]}
    for shape in SHAPES:
        expected = QUICK_N + 1 if shape == "loop" else QUICK_N  # the loop's aggregating task
        for how in ("conveyor run", "server"):
            fig = figures[(shape, how)]
            assert fig["n"] == QUICK_N
            assert fig["baseline"]["samples"] and fig["conveyor"]["samples"]
            assert fig["ratio"] is not None
            assert fig["tasks"]["conveyor"] == fig["tasks"]["baseline"] == [expected]
            assert fig["tasks"]["match"] is True
    # the python shape's floor of a process per task ran the same tasks as conveyor
    forked = figures[("python", "server / forked floor")]
    assert forked["tasks"]["baseline"] == forked["tasks"]["conveyor"] == [QUICK_N]
    for group in ("latency", "get", "throughput", "server"):
        assert any(g == group for g, _ in figures), group
    targets = data["targets"]
    assert len(targets) == 9
    assert {t["status"] for t in targets} <= {"met", "not met", "not measured"}
    assert data["machine"]["executor"].startswith("executor: process")


def test_container_figure_or_a_stated_reason(tmp_path: Path) -> None:
    _, data = run_bench(tmp_path / "latest.json", "--only", "container")
    figures = [f for f in data["figures"] if f["group"] == "container"]
    if not figures:
        assert data["skipped"]["container"]  # no runtime: skipped, with why
        return
    # `conveyor run`, and a running server, each against its own raw loop
    assert [f["label"] for f in figures] == ["podman executor, per task", "podman executor, per task, server"]
    for fig in figures:
        assert fig["tasks"]["conveyor"] == fig["tasks"]["baseline"] == [3]


def test_baseline_and_manifest_describe_the_same_tasks() -> None:
    for shape in SHAPES:
        s = build(shape, 7)
        dag = s.manifest["spec"]["templates"][0]["dag"]["tasks"]
        assert s.manifest["spec"]["parallelism"] == 2
        if shape == "loop":
            assert len(dag[0]["withItems"]) + 1 == s.tasks == 8
        else:
            assert [t["name"] for t in dag] == list(s.graph) and s.tasks == 7
            assert all(t.get("dependencies", []) == s.graph[t["name"]] for t in dag)
