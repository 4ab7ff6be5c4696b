"""Timing one shape three ways: the baseline script, `conveyor run`, and a running server.

The baseline and `conveyor run` are timed as processes, from their start to their exit,
since that is what a user waits for: interpreter start-up and imports are in both.
Through the server, the time is from just before the POST to the poll that sees the
workflow Succeeded. Each side reports how many tasks it ran, and the harness compares.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench._server import NAMESPACE, ROOT, Server, bench_path, environment, pods_succeeded
from bench.shapes import Shape

__all__ = ["Files", "sandbox_floor", "time_baseline", "time_run", "time_server", "write"]

BASELINE = Path(__file__).with_name("baseline.py")


class Files:
    """Where one shape's manifest and graph were written."""

    def __init__(self, manifest: Path, graph: Path) -> None:
        self.manifest, self.graph = manifest, graph


def write(shape: Shape, folder: Path, argv: list[str] | None = None, *, fork: bool = False) -> Files:
    """The shape's manifest and its graph for the baseline (whose tasks run `argv`, if
    given, or with `fork` each python task in a forked child)."""
    stem = folder / f"{shape.name}-{shape.n}{'-floor' if argv or fork else ''}"
    manifest, graph = stem.with_suffix(".yaml"), stem.with_suffix(".graph.json")
    manifest.write_text(yaml.safe_dump(shape.manifest, sort_keys=False))
    extra = {**({"argv": argv} if argv else {}), **({"fork": True} if fork else {})}
    graph.write_text(json.dumps({"kind": shape.kind, "graph": shape.graph, **extra}))
    return Files(manifest, graph)


def sandbox_floor(scratch: Path) -> list[str] | None:
    """`true` run in the bubblewrap sandbox conveyor's process executor builds (the same
    binds, namespaces and options, one shared root), or None when bubblewrap does not work.
    The isolation's own cost: what no engine on top of it can go below."""
    import shutil

    from conveyor.executors._sandbox import bwrap_argv, host_layout, make_root

    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    layout = host_layout(bench_path())
    root = Path(tempfile.mkdtemp(prefix="floor-root-", dir=scratch))
    make_root(root, layout)
    argv = bwrap_argv(bwrap, root, layout, ["true"], cwd="/")
    return argv if subprocess.run(argv, capture_output=True).returncode == 0 else None


def _timed(
    argv: list[str], env: dict[str, str] | None = None, timeout_s: float | None = None
) -> tuple[float, str, str]:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"{' '.join(argv[2:4])} did not finish within {timeout_s:g} s (--timeout-s)") from None
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed, done.stdout, done.stderr


def time_baseline(files: Files) -> tuple[float, int]:
    elapsed, out, _ = _timed([sys.executable, str(BASELINE), str(files.graph)])
    return elapsed, int(json.loads(out.strip().splitlines()[-1])["tasks"])


def time_run(
    files: Files, scratch: Path, executor: str = "process", timeout_s: float | None = None,
    sandbox: str = "auto",
) -> tuple[float, int, str]:
    """`conveyor run -q -o name FILE` in a fresh CONVEYOR_HOME: (seconds, tasks run, the
    executor line it printed). `-q -o name`: the live tree and the final one are display,
    and a 10,000-node tree costs its own seconds to print."""
    from conveyor.store import Store

    home = Path(tempfile.mkdtemp(prefix="home-", dir=scratch))
    cmd = [sys.executable, "-m", "conveyor", "run", "-q", "-o", "name", str(files.manifest)]
    elapsed, out, err = _timed(cmd, environment(home, executor, sandbox), timeout_s)
    store = Store.open(home / "conveyor.db")
    try:
        wf = store.get_workflow(NAMESPACE, out.strip().splitlines()[-1])
    finally:
        store.close()
    line = next((ln for ln in err.splitlines() if ln.startswith("executor:")), "")
    return elapsed, pods_succeeded(wf), line


def time_server(
    server: Server, shape: Shape, on_progress: Callable[[str], None], timeout_s: float
) -> tuple[float, int, str]:
    """(seconds from POST to the end, tasks run, workflow name) through the server.

    Two upper bounds of the end, the smaller taken: the poll that saw it finished, and
    status.finishedAt + 1 s (whole seconds, rounded down). Short runs are timed by the
    first, to a few ms; long ones, where polls are seconds apart, by the second.
    A workflow still running after `timeout_s` is terminated, and TimeoutError raised.
    """
    wall, start = time.time(), time.perf_counter()
    name = server.submit(shape.manifest)
    try:
        status = server.wait(name, timeout_s=timeout_s, on_progress=on_progress)
    except TimeoutError:
        server.terminate(name)  # or it would go on weighing on the figures after it
        raise
    elapsed = time.perf_counter() - start
    if status.get("finishedAt"):
        finished = datetime.strptime(status["finishedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        elapsed = min(elapsed, finished.timestamp() + 1 - wall)
    wf = server.get(name)
    if status["phase"] != "Succeeded":
        message = (wf.get("status") or {}).get("message", "")
        raise RuntimeError(f"{shape.name} N={shape.n} ended {status['phase']} on the server: {message}")
    return elapsed, pods_succeeded(wf), name
