"""The command line end to end: exit codes, output, the store under CONVEYOR_HOME."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.store import Store
from tests.spec.shared import BROKEN
from tests.spec.test_spec_broken import EXPECTED as BROKEN_EXPECTED

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello-world.yaml"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, doc: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.mark.parametrize("name", sorted(BROKEN_EXPECTED))
def test_lint_reports_each_problem_with_its_path(name: str, conveyor_home: Path) -> None:
    code, out, err = invoke("lint", str(BROKEN / name))
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    for path, fragment in BROKEN_EXPECTED[name]:
        lines = [line for line in err.splitlines() if fragment in line]
        assert lines, f"{fragment!r} not in:\n{err}"
        if path:
            assert any(f": {path}: " in line for line in lines), f"path {path!r} not in {lines}"
    assert err.strip().splitlines()[-1].startswith("✖")


def test_lint_passes_a_good_file(conveyor_home: Path) -> None:
    code, out, _ = invoke("lint", str(HELLO))
    assert code == 0 and "no problems" in out


def test_run_prints_the_final_workflow_as_json(conveyor_home: Path) -> None:
    code, out, err = invoke("run", str(HELLO), "-p", "message=hi there", "-o", "json")
    assert code == 0, err
    wf = json.loads(out)
    assert wf["status"]["phase"] == "Succeeded"
    pod = next(n for n in wf["status"]["nodes"].values() if n["type"] == "Pod")
    assert pod["outputs"]["result"] == "hi there"
    assert "executor: process" in err
    # recorded in the store under CONVEYOR_HOME, for the server to show later
    store = Store.open(conveyor_home / "conveyor.db")
    stored = store.get_workflow("default", wf["metadata"]["name"])
    assert stored["status"]["phase"] == "Succeeded"


def test_run_exits_1_when_the_workflow_fails(conveyor_home: Path, tmp_path: Path) -> None:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "fails-"},
        "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", "echo oops; exit 3"]}}]},
    }
    code, out, _ = invoke("run", write(tmp_path, "f.yaml", doc), "-o", "tree")
    assert code == 1
    assert "Error (exit code 3)" in out and "Failed" in out


def test_run_rejects_invalid_input_with_exit_2(conveyor_home: Path, tmp_path: Path) -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "x"},
           "spec": {"entrypoint": "nope", "templates": [{"name": "main", "suspend": {}}]}}
    code, _, err = invoke("run", write(tmp_path, "bad.yaml", doc))
    assert code == 2
    assert "spec.entrypoint" in err and "Traceback" not in err
    code, _, err = invoke("run", str(HELLO), "-p", "novalue")
    assert code == 2 and "NAME=VALUE" in err


def test_template_create_then_run_by_reference(conveyor_home: Path, tmp_path: Path) -> None:
    tmpl = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "greeter"},
            "spec": {"entrypoint": "hello", "arguments": {"parameters": [{"name": "who", "value": "x"}]},
                     "templates": [{"name": "hello", "container": {"image": "busybox", "command": ["echo", "hi {{workflow.parameters.who}}"]}}]}}
    code, out, err = invoke("template", "create", write(tmp_path, "t.yaml", tmpl))
    assert code == 0, err
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "ref-"},
          "spec": {"workflowTemplateRef": {"name": "greeter"}, "arguments": {"parameters": [{"name": "who", "value": "you"}]}}}
    code, out, err = invoke("run", write(tmp_path, "w.yaml", wf), "-o", "json")
    assert code == 0, err
    result = json.loads(out)
    pod = next(n for n in result["status"]["nodes"].values() if n["type"] == "Pod")
    assert pod["outputs"]["result"] == "hi you"
    code, out, _ = invoke("template", "list")
    assert out.split() == ["NAME", "greeter"]  # `argo template list`'s table


def test_conveyor_home_defaults_and_the_real_entry_point(tmp_path: Path) -> None:
    """The installed `conveyor` script, in a fresh process: no traceback for a missing file."""
    env = {"CONVEYOR_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "conveyor", "lint", str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "missing.yaml" in proc.stderr


def _start_run(tmp_path: Path, home: Path, doc: dict) -> subprocess.Popen[str]:
    path = write(tmp_path, f"{doc['metadata']['name']}.yaml", doc)
    env = {**__import__("os").environ, "CONVEYOR_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "conveyor", "run", path, "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_phase(home: Path, name: str, node_type: str) -> None:
    import time

    store = Store.open(home / "conveyor.db")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        wf = store.find_workflow("default", name)
        nodes = (wf or {}).get("status", {}).get("nodes", {})
        if any(n["type"] == node_type and n["phase"] == "Running" for n in nodes.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never had a running {node_type} node")


def test_resume_reaches_a_run_in_another_process(conveyor_home: Path, tmp_path: Path) -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "approval"},
           "spec": {"entrypoint": "main", "templates": [
               {"name": "main", "steps": [[{"name": "approve", "template": "approve"}],
                                          [{"name": "say", "template": "say", "arguments": {"parameters": [
                                              {"name": "m", "value": "{{steps.approve.outputs.parameters.answer}}"}]}}]]},
               {"name": "approve", "suspend": {}, "outputs": {"parameters": [{"name": "answer", "valueFrom": {"supplied": {}}}]}},
               {"name": "say", "inputs": {"parameters": [{"name": "m"}]},
                "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.m}}"]}}]}}
    proc = _start_run(tmp_path, conveyor_home, doc)
    try:
        _wait_for_phase(conveyor_home, "approval", "Suspend")
        code, out, err = invoke("resume", "approval", "-p", "answer=ship it")
        assert code == 0 and "resume requested" in out, err
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    wf = json.loads(stdout)
    say = next(n for n in wf["status"]["nodes"].values() if n["displayName"] == "say")
    assert say["outputs"]["result"] == "ship it"
    code, _, err = invoke("resume", "approval")
    assert code == 2 and "already ended" in err


def test_stop_kills_a_running_workflow(conveyor_home: Path, tmp_path: Path) -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "sleepy"},
           "spec": {"entrypoint": "main", "templates": [
               {"name": "main", "container": {"image": "busybox", "command": ["sleep", "300"]}}]}}
    proc = _start_run(tmp_path, conveyor_home, doc)
    try:
        _wait_for_phase(conveyor_home, "sleepy", "Pod")
        code, out, _ = invoke("stop", "sleepy", "--message", "enough")
        assert code == 0
        stdout, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    wf = json.loads(stdout)
    assert wf["status"]["phase"] == "Failed" and wf["status"]["message"] == "enough"


def test_run_a_file_holding_a_template_and_the_workflow_that_uses_it(conveyor_home: Path, tmp_path: Path) -> None:
    tmpl = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "lib"},
            "spec": {"templates": [{"name": "say", "inputs": {"parameters": [{"name": "m"}]},
                                    "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.m}}"]}}]}}
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "multi-"},
          "spec": {"entrypoint": "main", "templates": [{"name": "main", "steps": [[{
              "name": "hi", "templateRef": {"name": "lib", "template": "say"},
              "arguments": {"parameters": [{"name": "m", "value": "from the same file"}]}}]]}]}}
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump_all([tmpl, wf]))
    code, out, err = invoke("run", str(path), "-o", "json")
    assert code == 0, err
    result = json.loads(out)
    hi = next(n for n in result["status"]["nodes"].values() if n["displayName"] == "hi")
    assert hi["outputs"]["result"] == "from the same file"
    assert hi["templateRef"] == {"name": "lib", "template": "say"}


def test_lint_rejects_plugin_templates_as_needing_the_agent(conveyor_home: Path, tmp_path: Path) -> None:
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "p-"},
           "spec": {"entrypoint": "main", "templates": [{"name": "main", "plugin": {"hello": {"text": "x"}}}]}}
    code, _, err = invoke("lint", write(tmp_path, "plugin.yaml", doc))
    assert code == 2 and "plugin" in err and "Kubernetes" in err
