"""Task faults, through a live `conveyor server` with the process executor: a task killed
from outside, a task that never ends, one that floods stdout, one that forks children and
exits, and a full disk under the artifact folder.

Counts: one workflow per fault (the flood is the issue's 100 MB; forks in shell and Python
tasks, with and without bubblewrap); nothing here is `slow`. The full disk is a 2 MiB tmpfs
mounted as CONVEYOR_ARTIFACT_DIR (root mounts it; elsewhere that test skips, saying so).
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.engine._pod import DEADLINE_MESSAGE
from tests.executors.executor_helpers import bwrap_unusable
from tests.reliability._faults import (
    RssSampler,
    Server,
    plateau_problem,
    processes_running,
    rss_bytes,
    wait_until,
)


def _wf(name: str, main: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", **main}], **spec}}


def _sh(script: str) -> dict[str, Any]:
    return {"container": {"image": "busybox", "command": ["sh", "-c", script]}}


def _unique_sleep() -> str:
    # a duration no other process on this machine sleeps for: its command line finds it
    return f"{random.randrange(5000, 9000)}.{random.randrange(10**6)}"


@pytest.fixture
def server(conveyor_home: Path, tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "server.log")
    yield s
    s.close()


def test_a_task_killed_from_outside_fails_and_is_retried(server: Server) -> None:
    """SIGKILL to the task's process: the attempt fails saying so, and retryStrategy runs it again."""
    nap = _unique_sleep()
    main = _sh(f'if [ {{{{retries}}}} = 0 ]; then exec sleep {nap}; fi; echo second-try')
    name = server.submit(_wf("killed", {**main, "retryStrategy": {"limit": 1}}))
    pid = wait_until(lambda: processes_running("sleep", nap), 30, "the task's process")[0]
    subprocess.run(["kill", "-KILL", str(pid)], check=True)
    wf = server.wait(name)
    nodes = server.nodes(wf)
    first, second = nodes["killed(0)"], nodes["killed(1)"]
    assert first["phase"] == "Failed"
    assert "exit code 137" in first["message"] and "SIGKILL" in first["message"], first["message"]
    assert second["phase"] == "Succeeded" and second["outputs"]["result"] == "second-try"
    assert wf["status"]["phase"] == "Succeeded"


def test_a_task_that_never_ends_meets_its_deadline(server: Server) -> None:
    nap = _unique_sleep()
    main = {**_sh(f"exec sleep {nap}"), "activeDeadlineSeconds": 2}
    name = server.submit(_wf("endless", main))
    wait_until(lambda: processes_running("sleep", nap), 30, "the task's process")
    wf = server.wait(name, timeout_s=60)
    node = server.nodes(wf)["endless"]
    assert node["phase"] == "Failed" and node["message"] == DEADLINE_MESSAGE
    assert wf["status"]["phase"] == "Failed"
    assert not processes_running("sleep", nap), "the task's process outlived its deadline"


FLOOD_LINES = 3_300_000  # of 32 bytes: 105.6 MB, the 100 MB
FLOOD_LINE = "conveyor-flood-0123456789abcdef"


def test_a_task_that_floods_stdout_keeps_a_bounded_log_and_the_server_flat(server: Server) -> None:
    """100 MB of stdout: the kept log is within CONVEYOR_MAX_LOG_BYTES (its default, 10 MiB)
    with its head, its tail and a line saying what was cut; the server's RSS, sampled every
    10 ms over three such floods in turn, grows by far less than one flood and levels off."""
    cap = 10 * 1024 * 1024
    server.run(_wf("warm-up", _sh("echo warm")))  # the first workflow loads what serving needs
    baseline = rss_bytes(server.proc.pid)
    flood = _sh(f"echo FIRST; yes {FLOOD_LINE} | head -n {FLOOD_LINES}; echo LAST")
    # three floods in turn, so the curve spans 300 MB: one takes half a second, too short
    # to tell a ramp from a plateau
    with RssSampler(server.proc.pid, every_s=0.01) as rss:
        wf = server.run(_wf("flood", flood), timeout_s=120)
        for again in ("flood-2", "flood-3"):
            assert server.run(_wf(again, flood), timeout_s=120)["status"]["phase"] == "Succeeded"
    node = server.nodes(wf)["flood"]
    assert node["phase"] == "Succeeded", node.get("message")
    assert node["outputs"]["result"].endswith(f"{FLOOD_LINE}\nLAST")  # the result is stdout's tail
    growth = max(rss.samples) - baseline
    assert growth < 40 * 1024 * 1024, f"server RSS grew by {growth / 2**20:.1f} MiB during a 100 MB flood"
    # The curve over the three floods: a leak of 1 byte in 12 of the output (25 MB over the
    # 300 MB) puts the last third's peak ~17 MB above the first's. Measured here, glibc's
    # heap swings the peaks by up to ~5 MiB from flood to flood, and they creep up ~1 MiB
    # per 100 MB over dozens of floods (allocator fragmentation: MALLOC_ARENA_MAX=1 curbs
    # it); a run under load was seen 10 MiB up, so the margin is 16 MiB.
    assert not (why := plateau_problem(rss.samples, 16 * 1024 * 1024, what="three 100 MB floods")), why

    logs = list((Path(os.environ["CONVEYOR_HOME"]) / "logs" / "default" / "flood").glob("*/main.log"))
    assert len(logs) == 1
    kept = logs[0].read_bytes()
    assert len(kept) <= cap + 1024, f"log kept {len(kept)} bytes, cap {cap}"
    assert kept.startswith(b"FIRST\n") and kept.endswith(b"LAST\n")
    flood = len("FIRST\nLAST\n") + FLOOD_LINES * (len(FLOOD_LINE) + 1)
    assert f"[conveyor: {flood - cap} bytes cut here".encode() in kept
    shown = server.log("flood", node["podName"])
    assert '"content":"LAST"' in shown.replace(" ", "") and "bytes cut here" in shown


def _forking_task(kind: str, naps: list[str]) -> dict[str, Any]:
    """A background child, a `setsid` one (a new session and process group) and a
    double-forked one, in a shell or in a Python script (which the warm interpreter runs)."""
    if kind == "sh":
        return _sh(f"sleep {naps[0]} & setsid sleep {naps[1]} & (nohup sleep {naps[2]} >/dev/null 2>&1 &); "
                   "sleep 0.5; echo forked")
    source = f"""import os, subprocess, time
subprocess.Popen(["sleep", "{naps[0]}"])
subprocess.Popen(["sleep", "{naps[1]}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{naps[2]}"])
    os._exit(0)
time.sleep(0.5)
print("forked")
"""
    return {"script": {"image": "python:3.11", "command": ["python3"], "source": source}}


@pytest.mark.parametrize("kind", ["sh", "python"])
@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_children_a_task_forks_do_not_outlive_it(sandbox: str, kind: str, conveyor_home: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a task started (in its session or not) is gone once the task has ended."""
    if sandbox == "bwrap" and (why := bwrap_unusable(tmp_path / "probe")):
        pytest.skip(f"bubblewrap is not usable on this machine: {why}")
    monkeypatch.setenv("CONVEYOR_SANDBOX", sandbox)
    naps = [_unique_sleep() for _ in range(3)]
    s = Server(tmp_path / "server.log")
    try:
        wf = s.run(_wf("forks", _forking_task(kind, naps)))
        node = s.nodes(wf)["forks"]
        assert node["phase"] == "Succeeded" and node["outputs"]["result"] == "forked", node
        left = {nap: processes_running("sleep", nap) for nap in naps}
        try:
            wait_until(lambda: not any(processes_running("sleep", nap) for nap in naps), 5,
                       "the task's children to be gone")
        except AssertionError:
            raise AssertionError(f"children left running after the task ended ({sandbox}, {kind}): {left}") from None
    finally:
        s.close()
        for nap in naps:
            for pid in processes_running("sleep", nap):
                subprocess.run(["kill", "-KILL", str(pid)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root may mount here; elsewhere the test skips, saying so)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full disk here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _artifact_wf(name: str, size: int) -> dict[str, Any]:
    main = {**_sh(f"head -c {size} /dev/urandom > /tmp/blob; echo wrote"),
            "outputs": {"artifacts": [{"name": "blob", "path": "/tmp/blob"}]}}
    return _wf(name, main)


def test_a_full_artifact_disk_fails_the_node_and_the_server_keeps_serving(
        conveyor_home: Path, small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The artifact folder is a 2 MiB tmpfs: a 4 MiB output artifact ends its node in Error
    with a message naming the folder and what to do; nothing half-written stays there, so
    a small artifact stored next succeeds, and the server answers throughout."""
    monkeypatch.setenv("CONVEYOR_ARTIFACT_DIR", str(small_disk))
    s = Server(tmp_path / "server.log")
    try:
        wf = s.run(_artifact_wf("too-big", 4 * 1024 * 1024))
        node = s.nodes(wf)["too-big"]
        assert node["phase"] == "Error", node
        assert f"no space left in {small_disk}" in node["message"], node["message"]
        assert "CONVEYOR_ARTIFACT_DIR" in node["message"]
        assert wf["status"]["phase"] in ("Error", "Failed")
        leftover = sum(p.stat().st_size for p in small_disk.rglob("*") if p.is_file())
        assert leftover == 0, f"{leftover} bytes of a failed store stayed in the artifact folder"
        after = s.run(_artifact_wf("small", 1024))
        assert after["status"]["phase"] == "Succeeded", after["status"].get("message")
    finally:
        s.close()
