"""Isolation, at workflow level, with the podman executor through the runtime.

- A task over its `resources.limits.memory` ends Failed with "OOMKilled" in its node's
  message and exit code 137 on the node, and the workflow Fails.
- Two tasks of one DAG running at the same time cannot see each other's files: not
  through /tmp, not through a volume of the same name, not through the host folders
  under CONVEYOR_HOME that hold the other's scratch and artifacts; nor the host's home.
  The test holds both containers alive (each waits for a file the test drops into it
  with `podman exec`) until the reader has looked, so the overlap is certain, not timed.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import Settings
from conveyor.executors._ctr import WORKFLOW_LABEL
from conveyor.executors.podman import podman_problem
from conveyor.runtime import WorkflowRunner, choose_executor, prepare_workflow
from conveyor.store import ArtifactRepo, Store
from tests.conftest import drive

_problem = asyncio.run(podman_problem("podman"))
pytestmark = pytest.mark.skipif(_problem is not None,
                                reason=f"podman cannot run containers here ({_problem}); run scripts/containers.sh")


@pytest.fixture
def podman_settings(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "podman")
    return Settings.from_env()


def workflow(name: str, templates: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
            "spec": {"entrypoint": "main", "templates": templates, **spec}}


def pods(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["displayName"]: n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"}


def test_a_task_over_its_memory_limit_fails_the_workflow_as_oomkilled(podman_settings: Settings) -> None:
    store = Store.open(podman_settings.db_path)
    manifest = workflow(f"oom-{uuid.uuid4().hex[:8]}", [
        {"name": "main", "dag": {"tasks": [{"name": "hog", "template": "hog"}]}},
        {"name": "hog", "container": {
            "image": "python:alpine3.23", "command": ["python", "-c"],
            "args": ["x = bytearray(512 * 1024 * 1024); print(len(x))"],
            "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}}}}])
    wf, resolved = prepare_workflow(manifest, templates=store, namespace="default")
    store.create_workflow(wf)
    done = asyncio.run(drive(podman_settings, store, ArtifactRepo(podman_settings.artifact_dir), wf, resolved, 120))
    assert done["status"]["phase"] == "Failed", done["status"].get("message")
    hog = pods(done)["hog"]
    assert hog["phase"] == "Failed"
    assert "OOMKilled" in hog["message"] and "137" in hog["message"], hog["message"]
    assert hog["outputs"]["exitCode"] == "137"
    # what was stored is what the API serves: read it back rather than trust the runner's copy
    stored = store.get_workflow("default", manifest["metadata"]["name"])
    assert pods(stored)["hog"]["outputs"]["exitCode"] == "137"


READER = """
pat="{p1}""{p2}"  # the marker, split so that this script does not hold it
{wait}
found=""
for f in /tmp/mine /work/mine {host_home_file} {home} {scratch} {artifacts}; do
  [ -e "$f" ] && found="$found $f"
done
# every mount the task has (its own volumes and inputs), searched for the marker
for m in /tmp /work /root /home $(awk '{{print $2}}' /proc/self/mounts); do
  case "$m" in /|/proc*|/sys*|/dev*) continue;; esac
  hits=$(grep -rl "$pat" "$m" 2>/dev/null) && found="$found $hits"
done
echo "found:${{found:- nothing}}"
"""
WAIT = """touch /tmp/ready-reader
i=0; while [ ! -e /tmp/go ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done
[ -e /tmp/go ] || {{ echo "the test never said go"; exit 3; }}"""
WRITER = """
echo "$MARK" > /tmp/mine; echo "$MARK" > /work/mine; touch /tmp/ready-writer
i=0; while [ ! -e /tmp/go-home ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done
"""


async def _podman(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec("podman", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def _running(wf_label: str) -> list[str]:
    _, out = await _podman("ps", "--filter", f"label={WORKFLOW_LABEL}={wf_label}", "--format", "{{.Names}}")
    return out.split()


async def _the_one_with(names: list[str], path: str) -> str | None:
    for name in names:
        if (await _podman("exec", name, "test", "-e", path))[0] == 0:
            return name
    return None


def test_two_tasks_at_the_same_time_see_neither_each_other_nor_the_host_home(podman_settings: Settings) -> None:
    settings = podman_settings
    p1, p2 = uuid.uuid4().hex, uuid.uuid4().hex
    mark = p1 + p2
    host_home_file = Path.home() / f".conveyor-test-{uuid.uuid4().hex}"
    name = f"iso-{uuid.uuid4().hex[:8]}"
    paths = {"host_home_file": host_home_file, "home": settings.home, "scratch": settings.scratch_dir,
             "artifacts": settings.artifact_dir}
    reader = READER.format(p1=p1, p2=p2, wait=WAIT.format(), **paths)
    later = READER.format(p1=p1, p2=p2, wait="", **paths)
    work = [{"name": "work", "mountPath": "/work"}]
    manifest = workflow(name, [
        {"name": "main", "dag": {"tasks": [
            {"name": "writer", "template": "writer"},
            {"name": "reader", "template": "reader"},
            # after the writer: its output artifact now sits in the host's artifact store
            {"name": "later", "template": "later", "depends": "writer"}]}},
        {"name": "writer", "container": {"image": "busybox", "command": ["sh", "-c", WRITER],
                                         "env": [{"name": "MARK", "value": mark}], "volumeMounts": work},
         # stored unarchived, so the marker is there in plain text for anything that could look
         "outputs": {"artifacts": [{"name": "mine", "path": "/tmp/mine", "archive": {"none": {}}}]}},
        {"name": "reader", "container": {"image": "busybox", "command": ["sh", "-c", reader], "volumeMounts": work}},
        {"name": "later", "container": {"image": "busybox", "command": ["sh", "-c", later], "volumeMounts": work}},
    ], volumes=[{"name": "work", "emptyDir": {}}])

    store = Store.open(settings.db_path)
    wf, resolved = prepare_workflow(manifest, templates=store, namespace="default")
    store.create_workflow(wf)
    seen_on_host: list[Path] = []

    async def go() -> dict[str, Any]:
        executor, _ = await choose_executor(settings, lambda msg: None)
        runner = WorkflowRunner(settings, store, ArtifactRepo(settings.artifact_dir), executor, wf, resolved=resolved)
        run = asyncio.ensure_future(runner.run())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            writer = reader = None
            while writer is None or reader is None:
                assert not run.done(), "the workflow ended before both tasks ran"
                assert loop.time() < deadline, "the writer and the reader never ran at the same time"
                await asyncio.sleep(0.2)
                names = await _running(f"default.{name}")
                writer = await _the_one_with(names, "/tmp/ready-writer")
                reader = await _the_one_with(names, "/tmp/ready-reader")
            # the writer's files are there on the host, under CONVEYOR_HOME, while the reader looks
            seen_on_host.extend(p for p in settings.scratch_dir.rglob("mine") if mark in p.read_text())
            assert (await _podman("exec", reader, "touch", "/tmp/go"))[0] == 0
            while reader in await _running(f"default.{name}"):
                assert loop.time() < deadline, "the reader did not finish"
                await asyncio.sleep(0.1)
            assert writer in await _running(f"default.{name}"), "the writer ended before the reader had looked"
            assert (await _podman("exec", writer, "touch", "/tmp/go-home"))[0] == 0
            return await asyncio.wait_for(run, 90)
        finally:
            if not run.done():
                runner.send({"type": "terminate", "message": "the test gave up"})
                await asyncio.wait_for(run, 60)
            await executor.close()

    host_home_file.write_text(mark)
    try:
        done = asyncio.run(go())
    finally:
        host_home_file.unlink()
    assert seen_on_host, "the writer's /work volume was not found under CONVEYOR_HOME/scratch while it ran"
    assert done["status"]["phase"] == "Succeeded", done["status"].get("message")
    nodes = pods(done)
    assert nodes["reader"]["outputs"]["result"] == "found: nothing"
    assert nodes["later"]["outputs"]["result"] == "found: nothing"
    # and the writer's output artifact really is in the host store the later task could not see
    assert [p for p in settings.artifact_dir.rglob("*") if p.is_file() and p.read_text(errors="replace") == mark + "\n"]
