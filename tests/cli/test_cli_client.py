"""The client commands (`submit`, `list`, `get`, `logs`, `watch`, `delete`, `retry`, `resubmit`, `stop`,
`terminate`, `suspend`, `resume`, `template ...`, `cron ...`) against one live `conveyor server`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from conveyor.cli.main import cli
from tests.cli.conftest import Server
from tests.conftest import free_port

HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "hello-world.yaml")
TABLE = ["NAME", "STATUS", "AGE", "DURATION", "PRIORITY", "MESSAGE"]


def cv(server: Server, *args: str, env: dict[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env={"PIPELINE_HOST": server.url, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def write(tmp_path: Path, doc: dict[str, Any]) -> str:
    path = tmp_path / f"{doc['kind']}-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def workflow(generate_name: str, templates: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": generate_name},
            "spec": {"entrypoint": templates[0]["name"], "templates": templates, **spec}}


def sh(name: str, script: str) -> dict[str, Any]:
    return {"name": name, "container": {"image": "busybox", "command": ["sh", "-c", script]}}


def get(server: Server, name: str) -> dict[str, Any]:
    result = cv(server, "get", name, "-o", "json")
    assert result.exit_code == 0, result.stderr
    wf: dict[str, Any] = json.loads(result.stdout)
    return wf


def by_name(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["displayName"]: n for n in wf["status"].get("nodes", {}).values()}


def until(server: Server, name: str, check: Callable[[dict[str, Any]], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check(wf := get(server, name)):
        assert time.monotonic() < deadline, f"gave up waiting on {name}: {wf['status']}"
        time.sleep(0.1)


def node_is(display: str, phase: str) -> Callable[[dict[str, Any]], bool]:
    return lambda wf: by_name(wf).get(display, {}).get("phase") == phase


def submitted(server: Server, *args: str, code: int = 0) -> str:
    result = cv(server, "submit", *args, "-o", "name")
    assert result.exit_code == code, result.stdout + result.stderr
    return result.stdout.splitlines()[0]


def test_submit_wait_get_and_logs(server: Server) -> None:
    result = cv(server, "submit", HELLO, "-p", "message=hi from the cli", "--wait", "-o", "name")
    assert result.exit_code == 0, result.stderr
    name, line = result.stdout.splitlines()
    assert line.startswith(f"{name} Succeeded at ")

    out = cv(server, "get", name).stdout
    assert f"Name:                {name}" in out and "Status:              Succeeded" in out
    assert "Parameters:\n  message:           hi from the cli" in out
    head, row = out.split("\n\n")[1].splitlines()
    assert head.split() == ["STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE"]
    pod = next(n for n in get(server, name)["status"]["nodes"].values() if n["type"] == "Pod")
    assert row.split()[:4] == ["✔", name, "hello", pod["podName"]]
    assert cv(server, "get", name, "-o", "name").stdout == f"{name}\n"
    assert "ID" in cv(server, "get", name, "-o", "wide").stdout.split("\n\n")[1].splitlines()[0].split()

    assert cv(server, "logs", name).stdout == f"{pod['podName']}: hi from the cli\n"
    # a node's display name (here the workflow's own) picks its pod
    assert cv(server, "logs", name, name, "--grep", "cli$").stdout == f"{pod['podName']}: hi from the cli\n"
    assert cv(server, "logs", name, pod["podName"], "--grep", "^nothing").stdout == ""
    missing = cv(server, "get", "no-such-workflow")
    assert missing.exit_code == 1 and missing.stderr == 'error: workflows.argoproj.io "no-such-workflow" not found\n'


FLAKY = workflow("flaky-", [
    {"name": "main", "steps": [[{"name": "first", "template": "ok"}],
                               [{"name": "second", "template": "flaky"}, {"name": "third", "template": "ok"}]]},
    sh("ok", "echo fine"),
    sh("flaky", "echo trying {{workflow.parameters.code}}; exit {{workflow.parameters.code}}"),
], arguments={"parameters": [{"name": "code", "value": "1"}]})


def test_retry_reruns_the_failed_node_and_resubmit_starts_anew(server: Server, tmp_path: Path) -> None:
    name = submitted(server, write(tmp_path, FLAKY), "--wait", code=1)
    before = by_name(get(server, name))
    assert before["second"]["phase"] == "Failed" and before["first"]["phase"] == "Succeeded"
    row = next(line for line in cv(server, "get", name).stdout.splitlines() if "second" in line)
    assert row.split()[:3] == ["├─✖", "second", "flaky"] and row.endswith("Error (exit code 1)")

    result = cv(server, "retry", name, "-p", "code=0", "--wait")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"{name} Succeeded at " in result.stdout
    after = by_name(get(server, name))
    assert after["second"]["phase"] == "Succeeded"
    for kept in ("first", "third"):  # only the failed node ran again
        assert after[kept]["finishedAt"] == before[kept]["finishedAt"] and after[kept]["id"] == before[kept]["id"]
    assert cv(server, "logs", name, "second").stdout.endswith(f"{after['second']['podName']}: trying 0\n")

    again = cv(server, "resubmit", name, "--wait", "-o", "name")
    assert again.exit_code == 0, again.stderr
    fresh = again.stdout.splitlines()[0]
    assert fresh != name and fresh.startswith(f"{name}-")
    assert by_name(get(server, fresh))["second"]["phase"] == "Succeeded"  # with the retry's code=0


GREETER = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "greeter"},
           "spec": {"entrypoint": "hello", "arguments": {"parameters": [{"name": "who", "value": "x"}]},
                    "templates": [{"name": "hello", "container": {
                        "image": "busybox", "command": ["echo", "hi {{workflow.parameters.who}}"]}}]}}


def test_templates_and_submit_from_one(server: Server, tmp_path: Path) -> None:
    path = write(tmp_path, GREETER)
    created = cv(server, "template", "create", path)
    assert created.exit_code == 0 and "Name:                greeter" in created.stdout
    again = cv(server, "template", "create", path)
    assert again.exit_code == 1 and again.stderr == 'error: workflowtemplates.argoproj.io "greeter" already exists\n'
    assert cv(server, "template", "list").stdout.split() == ["NAME", "greeter"]
    assert yaml.safe_load(cv(server, "template", "get", "greeter", "-o", "yaml").stdout)["kind"] == "WorkflowTemplate"
    assert "Entrypoint:          hello" in cv(server, "template", "get", "greeter").stdout

    name = submitted(server, "--from", "workflowtemplate/greeter", "-p", "who=you", "-l", "team=geo", "--wait")
    assert cv(server, "list", "-l", "team=geo", "-o", "name").stdout.split() == [name]
    assert cv(server, "logs", name).stdout.endswith(": hi you\n")

    assert cv(server, "template", "delete", "greeter").stdout == "WorkflowTemplate 'greeter' deleted\n"
    assert cv(server, "template", "list", "-o", "name").stdout == ""
    gone = cv(server, "template", "get", "greeter")
    assert gone.exit_code == 1 and "not found" in gone.stderr


def test_list_filters_and_terminate(server: Server, tmp_path: Path) -> None:
    sleeper = submitted(server, write(tmp_path, workflow("x-", [sh("main", "sleep 60")])), "--generate-name", "list-run-")
    finished = submitted(server, HELLO, "--generate-name", "list-done-", "--wait")
    running = cv(server, "list", "--running", "-o", "name").stdout.split()
    completed = cv(server, "list", "--completed", "-o", "name").stdout.split()
    assert sleeper in running and finished not in running
    assert finished in completed and sleeper not in completed
    # newest first; these two may share a creation second, which the name then orders
    assert sorted(cv(server, "list", "--prefix", "list-", "-o", "name").stdout.split()) == [finished, sleeper]
    assert [wf["metadata"]["name"] for wf in json.loads(cv(server, "list", "--prefix", "list-d", "-o", "json").stdout)] == [finished]
    table = cv(server, "list", "--prefix", "list-").stdout.splitlines()
    assert table[0].split() == TABLE and len(table) == 3
    assert next(r for r in table if r.startswith(finished)).split()[:2] == [finished, "Succeeded"]
    wide = cv(server, "list", "--prefix", "list-done-", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [*TABLE, "PARAMETERS"] and wide[1].endswith("message=hello world")
    assert cv(server, "list", "--status", "Succeeded", "--prefix", "list-", "-o", "name").stdout.split() == [finished]
    both = cv(server, "list", "--running", "--completed")
    assert both.exit_code == 2 and "exclude each other" in both.stderr

    assert cv(server, "terminate", sleeper).stdout == f"workflow {sleeper} terminated\n"
    watched = cv(server, "watch", sleeper)
    assert watched.exit_code == 1 and "Status:              Failed" in watched.stdout
    assert cv(server, "list", "--running", "--prefix", "list-").stdout == "No workflows found\n"


def test_stop_runs_the_exit_handler(server: Server, tmp_path: Path) -> None:
    doc = workflow("stoppable-", [sh("main", "sleep 60"), sh("cleanup", "echo cleaned up")], onExit="cleanup")
    name = submitted(server, write(tmp_path, doc))
    until(server, name, node_is(name, "Running"))
    assert cv(server, "stop", name, "--message", "enough").stdout == f"workflow {name} stopped\n"
    watched = cv(server, "watch", name)
    assert watched.exit_code == 1
    wf = get(server, name)
    assert wf["status"]["phase"] == "Failed" and wf["status"]["message"] == "enough"
    assert cv(server, "logs", name).stdout.endswith(": cleaned up\n")


def test_suspend_holds_new_steps_until_resume(server: Server, tmp_path: Path) -> None:
    doc = workflow("naps-", [{"name": "main", "steps": [[{"name": "nap", "template": "nap"}],
                                                        [{"name": "after", "template": "after"}]]},
                             sh("nap", "sleep 1"), sh("after", "echo woke up")])
    name = submitted(server, write(tmp_path, doc))
    assert cv(server, "suspend", name).stdout == f"workflow {name} suspended\n"
    until(server, name, node_is("nap", "Succeeded"))
    time.sleep(0.5)
    wf = get(server, name)
    assert wf["status"]["phase"] == "Running"
    assert by_name(wf).get("after", {}).get("phase") in (None, "Pending")
    assert cv(server, "resume", name).stdout == f"workflow {name} resumed\n"
    assert cv(server, "watch", name).exit_code == 0
    assert cv(server, "logs", name, "after").stdout.endswith(": woke up\n")


def test_resume_supplies_a_suspended_nodes_output(server: Server, tmp_path: Path) -> None:
    doc = workflow("approval-", [
        {"name": "main", "steps": [[{"name": "approve", "template": "approve"}],
                                   [{"name": "say", "template": "say", "arguments": {"parameters": [
                                       {"name": "m", "value": "{{steps.approve.outputs.parameters.answer}}"}]}}]]},
        {"name": "approve", "suspend": {}, "outputs": {"parameters": [{"name": "answer", "valueFrom": {"supplied": {}}}]}},
        {"name": "say", "inputs": {"parameters": [{"name": "m"}]},
         "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.m}}"]}}])
    name = submitted(server, write(tmp_path, doc))
    until(server, name, node_is("approve", "Running"))
    assert cv(server, "resume", name, "-p", "answer=ship it").stdout == f"workflow {name} resumed\n"
    assert cv(server, "watch", name).exit_code == 0
    assert cv(server, "logs", name, "say").stdout.endswith(": ship it\n")
    ended = cv(server, "resume", name)
    assert ended.exit_code == 2 and "has already ended (Succeeded)" in ended.stderr


def test_delete(server: Server) -> None:
    first = submitted(server, HELLO, "--generate-name", "del-", "--wait")
    second = submitted(server, HELLO, "--generate-name", "del-", "--wait")
    assert cv(server, "delete", first).stdout == f"Workflow '{first}' deleted\n"
    gone = cv(server, "get", first)
    assert gone.exit_code == 1 and "not found" in gone.stderr
    assert cv(server, "delete", "--completed", "--prefix", "del-", "--dry-run").stdout == f"Workflow '{second}' deleted (dry run)\n"
    assert cv(server, "delete", "--completed", "--prefix", "del-").stdout == f"Workflow '{second}' deleted\n"
    assert cv(server, "list", "--prefix", "del-").stdout == "No workflows found\n"
    assert cv(server, "delete").exit_code == 2


NIGHTLY = {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "nightly"},
           "spec": {"schedule": "0 3 * * *", "timezone": "UTC", "workflowSpec": {
               "entrypoint": "main", "arguments": {"parameters": [{"name": "what", "value": "nightly"}]},
               "templates": [sh("main", "echo {{workflow.parameters.what}} run")]}}}


def test_cron(server: Server, tmp_path: Path) -> None:
    path = write(tmp_path, NIGHTLY)
    created = cv(server, "cron", "create", path)
    assert created.exit_code == 0 and "Schedule:            0 3 * * *" in created.stdout
    assert cv(server, "cron", "create", path).stderr == 'error: cronworkflows.argoproj.io "nightly" already exists\n'

    def row() -> list[str]:
        head, line = cv(server, "cron", "list").stdout.splitlines()
        assert head.split() == ["NAME", "AGE", "LAST", "RUN", "NEXT", "RUN", "SCHEDULE", "TIMEZONE", "SUSPENDED"]
        return line.split()

    assert row()[0] == "nightly" and row()[-1] == "false"
    assert cv(server, "cron", "suspend", "nightly").stdout == "CronWorkflow 'nightly' suspended\n"
    assert json.loads(cv(server, "cron", "get", "nightly", "-o", "json").stdout)["spec"]["suspend"] is True
    assert row()[-1] == "true" and "Suspended:           true" in cv(server, "cron", "get", "nightly").stdout
    assert cv(server, "cron", "resume", "nightly").stdout == "CronWorkflow 'nightly' resumed\n"
    assert row()[-1] == "false"

    name = submitted(server, "--from", "cronworkflow/nightly", "--wait")
    assert cv(server, "logs", name).stdout.endswith(": nightly run\n")
    # -p sets the cron's workflow parameters for this run only, as `argo submit --from` does
    name = submitted(server, "--from", "cronworkflow/nightly", "-p", "what=manual", "--wait")
    assert cv(server, "logs", name).stdout.endswith(": manual run\n")
    assert get(server, name)["spec"]["arguments"]["parameters"] == [{"name": "what", "value": "manual"}]
    assert json.loads(cv(server, "cron", "get", "nightly", "-o", "json").stdout)["spec"]["workflowSpec"][
        "arguments"]["parameters"] == [{"name": "what", "value": "nightly"}]
    assert cv(server, "cron", "delete", "nightly").stdout == "CronWorkflow 'nightly' deleted\n"
    assert cv(server, "cron", "list", "-o", "name").stdout == ""


def test_flags_win_over_the_environment(server: Server) -> None:
    name = submitted(server, HELLO, "--generate-name", "flags-", "--wait")
    dead = f"http://127.0.0.1:{free_port()}"
    assert cv(server, "get", name, "--host", server.url, env={"PIPELINE_HOST": dead}).exit_code == 0
    assert cv(server, "get", name, env={"PIPELINE_HOST": dead, "CONVEYOR_HOST": server.url}).exit_code == 0
    assert cv(server, "get", name, "--host", dead, env={"CONVEYOR_HOST": server.url}).exit_code == 1
    unreachable = cv(server, "get", name, env={"PIPELINE_HOST": dead})
    assert unreachable.exit_code == 1 and f"cannot reach the server at {dead}" in unreachable.stderr

    def names(*args: str, **env: str | None) -> list[str]:
        return cv(server, "list", "--prefix", "flags-", "-o", "name", *args, env=env).stdout.split()

    assert names(PIPELINE_NS="elsewhere") == []
    assert names("-n", "default", PIPELINE_NS="elsewhere") == [name]
    assert names(PIPELINE_NS="elsewhere", CONVEYOR_NAMESPACE="default") == [name]


def test_submit_refuses_bad_input(server: Server, tmp_path: Path) -> None:
    for args, message in [((), "either manifest FILES or --from"), (("--from", "pipeline/x"), "is not KIND/NAME"),
                          ((HELLO, "-p", "novalue"), "NAME=VALUE"),
                          ((write(tmp_path, GREETER),), "submit sends Workflows only")]:
        result = cv(server, "submit", *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.stderr)
    dry = submitted(server, HELLO, "--server-dry-run")
    assert cv(server, "get", dry).exit_code == 1  # checked, named, not created
