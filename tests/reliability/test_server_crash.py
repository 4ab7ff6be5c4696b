"""Server crash: `conveyor server` SIGKILLed at random moments while workflows of mixed
shapes (DAG, steps, a loop, retries, a failing one) run, and started again each time.

What is checked, once the last restart has finished every workflow:
- each workflow ends in its expected phase with its expected output;
- no workflow is lost or duplicated: the server lists exactly the ones it acknowledged;
- a task whose exit was recorded never runs again: each Pod node has exactly one
  `task_finished` event, no task reported a start after that event was stored, and a
  task started at most 1 + failedPodRestarts times (a task running at the moment of a
  crash runs again, at-least-once as in Argo; the side effects are counted outside
  conveyor, by an HTTP counter each task calls when it starts and when it is done);
- the store passes SQLite's integrity check and conveyor's (`_integrity.py`).

Counts: CI runs 5 workflows (one of each shape) and 6 kills; the `slow` variant is the
issue's 20 workflows and 20 kills. The process executor runs the tasks (containers have
their crash test in tests/runtime/test_recovery_podman.py). The kill moments come from a
seeded random generator: `CONVEYOR_CRASH_SEED` replays a run, and a failure names its seed.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.store import Store
from tests.conftest import free_port, start_server
from tests.reliability._integrity import store_problems
from tests.reliability._shapes import HitCounter, Shape, shape_for

_DONE = ("Succeeded", "Failed", "Error")


def _kill(server: subprocess.Popen[str]) -> None:
    # The server process alone, as a crash would: its tasks are left to fend for themselves.
    os.kill(server.pid, signal.SIGKILL)
    server.wait()


def _wait_all_done(url: str, names: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        got = {n: httpx.get(f"{url}/api/v1/workflows/default/{n}", timeout=10).json() for n in names}
        pending = [n for n, wf in got.items() if (wf.get("status") or {}).get("phase") not in _DONE]
        if not pending:
            return got
        assert time.monotonic() < deadline, f"still unfinished after the last restart: {pending}"
        time.sleep(0.3)


def _check_side_effects(shape: Shape, wf: dict[str, Any], store: Store, hits: HitCounter) -> list[str]:
    name = wf["metadata"]["name"]
    pods = {nid: n for nid, n in wf["status"]["nodes"].items() if n.get("type") == "Pod"}
    finished: dict[str, list[dict[str, Any]]] = {}
    for event in store.load_events("default", name):
        if event.get("type") == "task_finished":
            finished.setdefault(event["node"], []).append(event)
    starts = hits.count("start")
    problems = []
    if len(pods) != shape.pods:
        problems.append(f"{name}: {len(pods)} pods, expected {shape.pods}")
    for nid, node in pods.items():
        pod, what = node["podName"], f"{name}/{node['displayName']} ({node['podName']})"
        events = finished.get(nid, [])
        if len(events) != 1:
            problems.append(f"{what}: {len(events)} task_finished events, expected exactly 1")
            continue
        recorded = events[0]["at"]
        late = [h.at - recorded for h in hits.hits if h.pod == pod and h.kind == "start" and h.at > recorded]
        if late:
            problems.append(f"{what}: started again {late} s after its exit was recorded")
        allowed = 1 + int(node.get("failedPodRestarts") or 0)
        if starts[pod] > allowed:
            problems.append(f"{what}: started {starts[pod]} times, at most {allowed} allowed")
        if node["phase"] == "Succeeded" and starts[pod] < 1:
            problems.append(f"{what}: Succeeded but never reported its start")
    return problems


def _outcome(shape: Shape, wf: dict[str, Any]) -> list[str]:
    name = wf["metadata"]["name"]
    status = wf["status"]
    problems = []
    if status["phase"] != shape.phase:
        problems.append(f"{name}: phase {status['phase']} ({status.get('message')}), expected {shape.phase}")
    nodes = [n for n in status["nodes"].values() if n["displayName"] == shape.node]
    results = [(n.get("outputs") or {}).get("result") for n in nodes]
    if shape.result not in results:
        problems.append(f"{name}: node {shape.node} has results {results}, expected {shape.result!r}")
    return problems


def crash_run(home: Path, workflows: int, kills: int, *, sleep_s: float = 0.4) -> None:
    seed = int(os.environ.get("CONVEYOR_CRASH_SEED") or random.SystemRandom().randrange(10**6))
    rng = random.Random(seed)
    hits = HitCounter()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    shapes = [shape_for(i, hits.url, sleep_s) for i in range(workflows)]
    per_round = math.ceil(workflows / kills)
    acknowledged: list[str] = []
    server, _ = start_server(port=port, log_path=home.parent / "server-0.log")
    try:
        for k in range(kills):
            for shape in shapes[k * per_round:(k + 1) * per_round]:
                reply = httpx.post(f"{url}/api/v1/workflows/default", json={"workflow": shape.manifest}, timeout=30)
                assert reply.status_code == 200, reply.text
                acknowledged.append(shape.manifest["metadata"]["name"])
            # Sometimes right after the restart (mid-recovery), sometimes with tasks well under way.
            time.sleep(rng.uniform(0.05, 2.5))
            _kill(server)
            server, _ = start_server(port=port, log_path=home.parent / f"server-{k + 1}.log")
        final = _wait_all_done(url, acknowledged, timeout_s=60 + 10 * workflows)
        listed = [w["metadata"]["name"] for w in
                  httpx.get(f"{url}/api/v1/workflows/default", timeout=30).json().get("items") or []]
    finally:
        server.terminate()
        server.wait(30)
        hits.close()

    relaunched = sum(int(n.get("failedPodRestarts") or 0) for wf in final.values() for n in wf["status"]["nodes"].values())
    assert relaunched, f"seed {seed}: no kill caught a task running, so nothing was recovered; the run tests nothing"
    problems = []
    if sorted(listed) != sorted(acknowledged):
        problems.append(f"listed {sorted(listed)}, acknowledged {sorted(acknowledged)}")
    with Store.open(home / "conveyor.db") as store:
        for shape in shapes:
            wf = final[shape.manifest["metadata"]["name"]]
            problems += _outcome(shape, wf) + _check_side_effects(shape, wf, store, hits)
    problems += store_problems(home / "conveyor.db")
    assert not problems, f"seed {seed} (CONVEYOR_CRASH_SEED={seed} replays it):\n" + "\n".join(problems)


def test_sigkill_the_server_while_workflows_run(conveyor_home: Path) -> None:
    """CI's count: 5 workflows (one per shape), 6 kills."""
    crash_run(conveyor_home, workflows=5, kills=6)


@pytest.mark.slow
def test_sigkill_the_server_20_times_under_20_workflows(conveyor_home: Path) -> None:
    """The issue's count: 20 workflows, 20 kills."""
    crash_run(conveyor_home, workflows=20, kills=20)
