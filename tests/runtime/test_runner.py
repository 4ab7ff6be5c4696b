"""The runtime end to end with the process executor: artifacts, isolation, logs, status writes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.runtime import choose_executor
from conveyor.runtime.prepare import prepare_workflow
from conveyor.runtime.runner import WorkflowRunner
from conveyor.store import ArtifactRepo, Store
from tests.conftest import RunWorkflow


def wf(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    doc.update({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"})
    doc.setdefault("metadata", {"generateName": "t-"})
    return doc


def by_display(result: dict[str, Any], display: str) -> dict[str, Any]:
    return next(n for n in result["status"]["nodes"].values() if n["displayName"] == display)


ARTIFACTS = """
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: read
        template: read
        arguments:
          artifacts:
          - {name: folder, from: "{{steps.make.outputs.artifacts.folder}}"}
          - {name: plain, from: "{{steps.make.outputs.artifacts.plain}}"}
          - {name: one, from: "{{steps.make.outputs.artifacts.folder}}", subPath: b/two.txt}
  - name: make
    container:
      image: busybox
      command: [sh, -c, "mkdir -p /out/b && echo one > /out/a.txt && echo two > /out/b/two.txt && echo p > /tmp/p.txt"]
    outputs:
      artifacts:
      - {name: folder, path: /out, globalName: everything}
      - {name: plain, path: /tmp/p.txt, archive: {none: {}}}
      - {name: missing, path: /nope, optional: true}
  - name: read
    inputs:
      artifacts:
      - {name: folder, path: /in/folder}
      - {name: plain, path: /in/p.txt}
      - {name: one, path: /in/one.txt}
    container:
      image: busybox
      command: [sh, -c, "cat /in/folder/a.txt /in/folder/b/two.txt /in/p.txt /in/one.txt"]
"""


@pytest.mark.parametrize("sandbox", ["auto", "none"])
def test_artifacts_travel_between_tasks(run_workflow: RunWorkflow, monkeypatch: pytest.MonkeyPatch, sandbox: str, settings: Any) -> None:
    monkeypatch.setenv("CONVEYOR_SANDBOX", sandbox)
    result = run_workflow(wf(ARTIFACTS))
    assert result["status"]["phase"] == "Succeeded", result["status"].get("message")
    assert by_display(result, "read")["outputs"]["result"] == "one\ntwo\np\ntwo"
    make = by_display(result, "make")["outputs"]["artifacts"]
    assert [a["name"] for a in make] == ["folder", "plain"]  # the optional one was absent
    assert make[0]["local"]["key"].endswith("/folder.tgz")
    assert (settings.artifact_dir / make[1]["local"]["key"]).read_text() == "p\n"  # archive: none
    assert result["status"]["outputs"]["artifacts"][0]["name"] == "everything"


def test_parallel_tasks_do_not_see_each_others_files(run_workflow: RunWorkflow) -> None:
    result = run_workflow(wf("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: w, template: w, arguments: {parameters: [{name: v, value: "{{item}}"}]}, withItems: [a, b, c, d]}
  - name: w
    inputs: {parameters: [{name: v}]}
    container:
      image: busybox
      command: [sh, -c, "test ! -e /tmp/out.txt && echo {{inputs.parameters.v}} > /tmp/out.txt && sleep 0.3 && cat /tmp/out.txt"]
    outputs:
      parameters: [{name: seen, valueFrom: {path: /tmp/out.txt}}]
"""))
    assert result["status"]["phase"] == "Succeeded"
    pods = [n for n in result["status"]["nodes"].values() if n["type"] == "Pod"]
    assert sorted((n["outputs"]["result"], n["outputs"]["parameters"][0]["value"]) for n in pods) == [
        ("a", "a"), ("b", "b"), ("c", "c"), ("d", "d")]


def test_logs_are_kept_and_indexed(run_workflow: RunWorkflow, settings: Any) -> None:
    result = run_workflow(wf("""
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: python:3.11
      command: [python3]
      source: |
        import sys
        print("to stdout")
        print("to stderr", file=sys.stderr)
"""))
    assert result["status"]["phase"] == "Succeeded"
    store = Store.open(settings.db_path)
    logs = store.list_logs("default", result["metadata"]["name"])
    assert [row["container"] for row in logs] == ["main"]
    text = Path(logs[0]["path"]).read_text()
    assert "to stdout" in text and "to stderr" in text
    assert by_display(result, result["metadata"]["name"])["outputs"]["result"] == "to stdout"


def test_a_missing_tool_is_an_error_node_with_a_clear_message(run_workflow: RunWorkflow) -> None:
    result = run_workflow(wf("""
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: busybox, command: [no-such-tool-here]}
"""))
    assert result["status"]["phase"] == "Error"
    assert "no-such-tool-here" in result["status"]["message"] and "not found" in result["status"]["message"]


def test_the_runner_keeps_no_status_between_writes_only_the_last(settings: Any) -> None:
    store = Store.open(settings.db_path)
    manifest = wf("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, template: t}
    - - {name: two, template: t}
  - name: t
    container: {image: busybox, command: [sh, -c, "sleep 0.3"]}
""")
    workflow, resolved = prepare_workflow(manifest, templates=store, namespace="default")
    store.create_workflow(workflow)
    kept: list[tuple[str, bool]] = []  # (phase written, whether the runner still holds a status then)

    async def main() -> dict[str, Any]:
        executor, _ = await choose_executor(settings, lambda msg: None)
        runner = WorkflowRunner(settings, store, ArtifactRepo(settings.artifact_dir), executor, workflow,
                                resolved=resolved,
                                on_persist=lambda w: kept.append((w["status"]["phase"], "status" in runner.workflow)))
        try:
            return await runner.run()
        finally:
            await executor.close()

    result = asyncio.run(main())
    store.close()
    assert result["status"]["phase"] == "Succeeded"
    assert kept[-1] == ("Succeeded", True)  # run() returns the last one
    assert len(kept) > 1 and all(not holds for _, holds in kept[:-1]), kept
