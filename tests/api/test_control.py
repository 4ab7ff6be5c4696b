"""stop, terminate, resume and suspend over HTTP, on workflows this server runs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import create, manifest, wait_done, wait_for


def node(wf: dict[str, Any], display: str) -> dict[str, Any] | None:
    nodes = (wf.get("status") or {}).get("nodes") or {}
    return next((n for n in nodes.values() if n.get("displayName") == display), None)


def running(client: httpx.Client, name: str, display: str) -> bool:
    found = node(client.get(f"/api/v1/workflows/default/{name}").json(), display)
    return found is not None and found["phase"] == "Running"


def approval(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
        "spec": {"entrypoint": "main", "onExit": "bye", "templates": [
            {"name": "main", "steps": [[{"name": "approve", "template": "wait"}], [{"name": "after", "template": "bye"}]]},
            {"name": "wait", "suspend": {}},
            {"name": "bye", "container": {"image": "busybox", "command": ["echo", "bye"]}},
        ]},
    }


def _stopped(client: httpx.Client) -> dict[str, Any]:
    wf = manifest("sleep 60", name="sleepy", onExit="bye")
    wf["spec"]["templates"].append({"name": "bye", "container": {"image": "busybox", "command": ["echo", "bye"]}})
    create(client, wf)
    wait_for(lambda: running(client, "sleepy", "sleepy"), "the task to run")
    resp = client.put("/api/v1/workflows/default/sleepy/stop", json={"message": "enough"})
    assert resp.status_code == 200 and resp.json()["metadata"]["name"] == "sleepy"
    return wait_done(client, "sleepy")


def test_stop_kills_a_sleeping_workflow_and_reaches_its_exit_handler(client: httpx.Client) -> None:
    done = _stopped(client)
    assert done["status"]["phase"] == "Failed"
    assert "enough" in done["status"]["message"]
    assert node(done, "sleepy") is not None and node(done, "sleepy")["phase"] == "Failed"  # type: ignore[index]
    assert node(done, "sleepy.onExit") is not None  # stop (unlike terminate) gets to the exit handler


def test_stop_runs_the_exit_handler_to_completion(client: httpx.Client) -> None:
    assert node(_stopped(client), "sleepy.onExit")["phase"] == "Succeeded"  # type: ignore[index]


def test_terminate_skips_the_exit_handler(client: httpx.Client) -> None:
    create(client, approval("term"))
    wait_for(lambda: running(client, "term", "approve"), "the suspend node")
    assert client.put("/api/v1/workflows/default/term/terminate").status_code == 200  # no body at all
    done = wait_done(client, "term")
    assert done["status"]["phase"] == "Failed" and node(done, "term.onExit") is None


def test_resume_a_suspended_node_by_field_selector(client: httpx.Client) -> None:
    create(client, approval("gate"))
    wait_for(lambda: running(client, "gate", "approve"), "the suspend node")
    resp = client.put("/api/v1/workflows/default/gate/resume", json={"nodeFieldSelector": "displayName=elsewhere"})
    assert resp.status_code == 200
    resp = client.put("/api/v1/workflows/default/gate/resume", json={"nodeFieldSelector": "displayName=approve"})
    assert resp.status_code == 200
    assert wait_done(client, "gate")["status"]["phase"] == "Succeeded"


def test_suspend_holds_new_tasks_until_resumed(client: httpx.Client) -> None:
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "held"},
          "spec": {"entrypoint": "main", "templates": [
              {"name": "main", "steps": [[{"name": "first", "template": "gate"}], [{"name": "second", "template": "quick"}]]},
              {"name": "gate", "suspend": {}},
              {"name": "quick", "container": {"image": "busybox", "command": ["true"]}}]}}
    create(client, wf)
    wait_for(lambda: running(client, "held", "first"), "the first step")
    assert client.put("/api/v1/workflows/default/held/suspend", json={}).status_code == 200
    client.put("/api/v1/workflows/default/held/resume", json={"nodeFieldSelector": "displayName=first"})
    wait_for(lambda: node(client.get("/api/v1/workflows/default/held").json(), "second"), "the second step to appear")
    second = node(client.get("/api/v1/workflows/default/held").json(), "second")
    assert second is not None and second["phase"] == "Pending"  # held: the workflow is suspended
    # shown as Argo shows it, so clients (the UI) can offer Resume
    assert client.get("/api/v1/workflows/default/held").json()["spec"]["suspend"] is True
    client.put("/api/v1/workflows/default/held/resume", json={})
    done = wait_done(client, "held")
    assert done["status"]["phase"] == "Succeeded" and "suspend" not in done["spec"]


def test_control_of_an_ended_workflow_is_400(client: httpx.Client) -> None:
    wait_done(client, create(client, manifest("true", name="over"))["metadata"]["name"])
    for verb in ("stop", "terminate", "resume", "suspend"):
        resp = client.put(f"/api/v1/workflows/default/over/{verb}", json={})
        assert resp.status_code == 400 and resp.json()["code"] == 3
        assert "already ended" in resp.json()["message"]


def test_unsupported_node_selectors_say_so(client: httpx.Client) -> None:
    create(client, approval("sel"))
    resp = client.put("/api/v1/workflows/default/sel/stop", json={"nodeFieldSelector": "displayName=approve"})
    assert resp.status_code == 400 and "not supported yet" in resp.json()["message"]
    resp = client.put("/api/v1/workflows/default/sel/resume", json={"nodeFieldSelector": "inputs.parameters.x.value=1"})
    assert resp.status_code == 400 and "displayName=" in resp.json()["message"]
    client.put("/api/v1/workflows/default/sel/terminate")


def test_retry_reruns_the_failed_node_and_resubmit_makes_a_new_workflow(client: httpx.Client) -> None:
    flaky = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "flaky"}, "spec": {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "code", "value": "1"}]},
        "templates": [
            {"name": "main", "steps": [[{"name": "ok", "template": "say"}],
                                       [{"name": "maybe", "template": "exit"}]]},
            {"name": "say", "container": {"image": "busybox", "command": ["echo", "fine"]}},
            {"name": "exit", "container": {"image": "busybox", "command": ["sh", "-c", "exit {{workflow.parameters.code}}"]}},
        ]}}
    create(client, flaky)
    failed = wait_done(client, "flaky")
    assert failed["status"]["phase"] == "Failed"
    ok_before = node(failed, "ok")
    r = client.put("/api/v1/workflows/default/flaky/retry", json={"parameters": ["code=0"]})
    assert r.status_code == 200, r.text
    done = wait_done(client, "flaky")
    assert done["status"]["phase"] == "Succeeded", done["status"].get("message")
    assert node(done, "ok")["startedAt"] == ok_before["startedAt"]  # not run again  # type: ignore[index]
    assert node(done, "maybe")["phase"] == "Succeeded"  # type: ignore[index]
    again = client.put("/api/v1/workflows/default/flaky/retry", json={})
    assert again.status_code == 400 and again.json()["code"] == 3  # nothing failed any more
    r = client.put("/api/v1/workflows/default/flaky/resubmit", json={"parameters": ["code=0"]})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["metadata"]["name"].startswith("flaky-")
    assert new["metadata"]["labels"]["workflows.argoproj.io/resubmitted-from-workflow"] == "flaky"
    assert wait_done(client, new["metadata"]["name"])["status"]["phase"] == "Succeeded"


def test_set_supplies_a_suspended_nodes_outputs_and_ends_it(client: httpx.Client) -> None:
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "gate"}, "spec": {
        "entrypoint": "main",
        "templates": [
            {"name": "main", "steps": [[{"name": "approve", "template": "approve"}],
                                       [{"name": "say", "template": "say", "arguments": {"parameters": [
                                           {"name": "m", "value": "{{steps.approve.outputs.parameters.answer}}"}]}}]]},
            {"name": "approve", "suspend": {}, "outputs": {"parameters": [{"name": "answer", "valueFrom": {"supplied": {}}}]}},
            {"name": "say", "inputs": {"parameters": [{"name": "m"}]},
             "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.m}}"]}},
        ]}}
    create(client, wf)
    wait_for(lambda: running(client, "gate", "approve"), "the suspend node")
    bad = client.put("/api/v1/workflows/default/gate/set", json={"nodeFieldSelector": "displayName=nope"})
    assert bad.status_code == 400 and "names no suspended node" in bad.json()["message"]
    r = client.put("/api/v1/workflows/default/gate/set", json={
        "nodeFieldSelector": "displayName=approve", "outputParameters": '{"answer": "shipped"}', "phase": "Succeeded"})
    assert r.status_code == 200, r.text
    done = wait_done(client, "gate")
    assert done["status"]["phase"] == "Succeeded"
    assert node(done, "say")["outputs"]["result"] == "shipped"  # type: ignore[index]


def test_retry_with_restart_successful_reruns_the_selected_node(client: httpx.Client, settings: Any) -> None:
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "rerun"}, "spec": {
        "entrypoint": "main",
        "templates": [
            {"name": "main", "steps": [[{"name": "first", "template": "say"}], [{"name": "second", "template": "say"}]]},
            {"name": "say", "container": {"image": "busybox", "command": ["echo", "{{pod.name}}"]}},
        ]}}
    create(client, wf)
    before = wait_done(client, "rerun")
    assert before["status"]["phase"] == "Succeeded"
    bad = client.put("/api/v1/workflows/default/rerun/retry", json={"restartSuccessful": True})
    assert bad.status_code == 400 and "nodeFieldSelector" in bad.json()["message"]
    r = client.put("/api/v1/workflows/default/rerun/retry",
                   json={"restartSuccessful": True, "nodeFieldSelector": "displayName=second"})
    assert r.status_code == 200, r.text
    after = wait_done(client, "rerun")
    assert after["status"]["phase"] == "Succeeded"
    assert node(after, "first")["finishedAt"] == node(before, "first")["finishedAt"]  # type: ignore[index]
    logs = settings.logs_dir / "default" / "rerun"
    runs = {name: len(list(logs.glob(f"{node(after, name)['id']}-*/main.log"))) for name in ("first", "second")}  # type: ignore[index]
    assert runs == {"first": 1, "second": 2}
