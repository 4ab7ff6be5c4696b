"""WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows over HTTP, and submitting from them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import wait_done

WT = "/api/v1/workflow-templates/default"
CWT = "/api/v1/cluster-workflow-templates"
CRON = "/api/v1/cron-workflows/default"


def template(name: str, kind: str = "WorkflowTemplate", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": kind,
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
        "spec": {"entrypoint": "say", "arguments": {"parameters": [{"name": "msg", "value": "default"}]},
                 "templates": [{"name": "say", "container": {"image": "busybox",
                                                              "command": ["echo", "{{workflow.parameters.msg}}"]}},
                               {"name": "other", "container": {"image": "busybox", "command": ["echo", "other"]}}]},
    }


def cron(name: str) -> dict[str, Any]:
    spec = template(name)["spec"]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": name},
            "spec": {"schedules": ["0 2 * * *"], "workflowMetadata": {"labels": {"from": "cron"}}, "workflowSpec": spec}}


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_workflow_template_lifecycle(client: httpx.Client) -> None:
    created = ok(client.post(WT, json={"template": template("greet")}))
    meta = created["metadata"]
    assert meta["namespace"] == "default" and meta["uid"] and meta["creationTimestamp"]
    dup = client.post(WT, json={"template": template("greet")})
    assert dup.status_code == 409 and dup.json() == {
        "code": 6, "message": 'workflowtemplates.argoproj.io "greet" already exists', "details": []}
    assert ok(client.get(f"{WT}/greet"))["metadata"]["uid"] == meta["uid"]
    changed = template("greet")
    changed["spec"]["entrypoint"] = "other"
    updated = ok(client.put(f"{WT}/greet", json={"template": changed}))
    assert updated["spec"]["entrypoint"] == "other" and updated["metadata"]["uid"] == meta["uid"]
    assert ok(client.delete(f"{WT}/greet")) == {}
    assert client.get(f"{WT}/greet").status_code == 404


def test_update_never_creates_and_names_must_agree(client: httpx.Client) -> None:
    assert client.put(f"{WT}/ghost", json={"template": template("ghost")}).status_code == 404
    ok(client.post(WT, json={"template": template("real")}))
    resp = client.put(f"{WT}/real", json={"template": template("other-name")})
    assert resp.status_code == 400 and "does not match" in resp.json()["message"]


def test_lint_and_dry_run_store_nothing(client: httpx.Client) -> None:
    assert ok(client.post(f"{WT}/lint", json={"template": template("checked")}))["metadata"]["name"] == "checked"
    broken = template("broken")
    broken["spec"]["entrypoint"] = "nowhere"
    resp = client.post(f"{WT}/lint", json={"template": broken})
    assert resp.status_code == 400 and resp.json()["code"] == 3 and "nowhere" in resp.json()["message"]
    ok(client.post(WT, json={"template": template("dry"), "createOptions": {"dryRun": ["All"]}}))
    assert client.get(f"{WT}/checked").status_code == 404 and client.get(f"{WT}/dry").status_code == 404


def test_list_pages_and_filters_templates(client: httpx.Client) -> None:
    for i in range(5):
        ok(client.post(WT, json={"template": template(f"t{i}", labels={"team": "a" if i % 2 else "b"})}))
    ok(client.post("/api/v1/workflow-templates/elsewhere", json={"template": template("t9")}))
    seen, token = [], None
    while True:
        body = ok(client.get(WT, params={"listOptions.limit": 2, **({"listOptions.continue": token} if token else {})}))
        seen += [t["metadata"]["name"] for t in body["items"]]
        token = body["metadata"].get("continue")
        if not token:
            break
    assert seen == ["t0", "t1", "t2", "t3", "t4"]
    team_a = ok(client.get(WT, params={"listOptions.labelSelector": "team=a"}))["items"]
    assert [t["metadata"]["name"] for t in team_a] == ["t1", "t3"]
    assert [t["metadata"]["name"] for t in ok(client.get(WT, params={"namePattern": "4"}))["items"]] == ["t4"]
    assert ok(client.get("/api/v1/workflow-templates/nobody"))["items"] is None


def test_cluster_workflow_template_lifecycle(client: httpx.Client) -> None:
    created = ok(client.post(CWT, json={"template": template("shared", "ClusterWorkflowTemplate")}))
    assert created["kind"] == "ClusterWorkflowTemplate" and "namespace" not in created["metadata"]
    assert client.post(CWT, json={"template": template("shared", "ClusterWorkflowTemplate")}).status_code == 409
    assert [t["metadata"]["name"] for t in ok(client.get(CWT))["items"]] == ["shared"]
    assert ok(client.post(f"{CWT}/lint", json={"template": template("x", "ClusterWorkflowTemplate")}))
    changed = template("shared", "ClusterWorkflowTemplate")
    changed["spec"]["entrypoint"] = "other"
    assert ok(client.put(f"{CWT}/shared", json={"template": changed}))["spec"]["entrypoint"] == "other"
    assert ok(client.get(f"{CWT}/shared"))["spec"]["entrypoint"] == "other"
    assert ok(client.delete(f"{CWT}/shared")) == {}
    assert client.delete(f"{CWT}/shared").status_code == 404


def test_cron_workflow_lifecycle_with_suspend_and_resume(client: httpx.Client) -> None:
    created = ok(client.post(CRON, json={"cronWorkflow": cron("nightly")}))
    assert created["kind"] == "CronWorkflow" and created["metadata"]["uid"]
    assert ok(client.put(f"{CRON}/nightly/suspend", json={}))["spec"]["suspend"] is True
    assert ok(client.get(f"{CRON}/nightly"))["spec"]["suspend"] is True
    assert ok(client.put(f"{CRON}/nightly/resume"))["spec"]["suspend"] is False
    assert [c["metadata"]["name"] for c in ok(client.get(CRON))["items"]] == ["nightly"]
    no_schedule = cron("never")
    del no_schedule["spec"]["schedules"]
    resp = client.post(f"{CRON}/lint", json={"cronWorkflow": no_schedule})
    assert resp.status_code == 400 and "schedule" in resp.json()["message"]
    changed = cron("nightly")
    changed["spec"]["schedules"] = ["0 3 * * *"]
    assert ok(client.put(f"{CRON}/nightly", json={"cronWorkflow": changed}))["spec"]["schedules"] == ["0 3 * * *"]
    assert ok(client.delete(f"{CRON}/nightly")) == {}
    assert client.put(f"{CRON}/nightly/suspend").status_code == 404


def submit(client: httpx.Client, kind: str, source: str, **options: Any) -> dict[str, Any]:
    body = {"resourceKind": kind, "resourceName": source, "submitOptions": options}
    resp = client.post("/api/v1/workflows/default/submit", json=body)
    assert resp.status_code == 200, resp.text
    created: dict[str, Any] = resp.json()
    return created


def test_submit_from_a_workflow_template_with_parameters(client: httpx.Client) -> None:
    ok(client.post(WT, json={"template": template("greet")}))
    wf = submit(client, "WorkflowTemplate", "greet", parameters=["msg=hello there"], labels="who=me,run=1")
    meta = wf["metadata"]
    assert meta["name"].startswith("greet-") and meta["labels"]["workflows.argoproj.io/workflow-template"] == "greet"
    assert meta["labels"]["who"] == "me"
    assert wf["spec"]["workflowTemplateRef"] == {"name": "greet"}
    done = wait_done(client, meta["name"])
    assert done["status"]["phase"] == "Succeeded"
    assert next(iter(done["status"]["nodes"].values()))["outputs"]["result"] == "hello there"


def test_submit_with_name_entrypoint_and_dry_run(client: httpx.Client) -> None:
    ok(client.post(CWT, json={"template": template("shared", "ClusterWorkflowTemplate")}))
    dry = submit(client, "ClusterWorkflowTemplate", "shared", name="exact", serverDryRun=True)
    assert dry["metadata"]["name"] == "exact" and client.get("/api/v1/workflows/default/exact").status_code == 404
    wf = submit(client, "cwft", "shared", name="exact", entryPoint="other")
    assert wf["spec"]["workflowTemplateRef"] == {"name": "shared", "clusterScope": True}
    done = wait_done(client, "exact")
    assert next(iter(done["status"]["nodes"].values()))["outputs"]["result"] == "other"


def test_submit_from_a_cron_workflow(client: httpx.Client) -> None:
    ok(client.post(CRON, json={"cronWorkflow": cron("nightly")}))
    wf = submit(client, "CronWorkflow", "nightly")
    assert wf["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] == "nightly"
    assert wf["metadata"]["labels"]["from"] == "cron" and wf["spec"]["entrypoint"] == "say"
    assert wait_done(client, wf["metadata"]["name"])["status"]["phase"] == "Succeeded"


@pytest.mark.parametrize("body, status, text", [
    ({"resourceKind": "Pipeline", "resourceName": "x"}, 400, "cannot be submitted"),
    ({"resourceKind": "WorkflowTemplate", "resourceName": "missing"}, 404, '"missing" not found'),
    ({"resourceName": "x"}, 400, "body.resourceKind"),
])
def test_submit_errors(client: httpx.Client, body: dict[str, Any], status: int, text: str) -> None:
    resp = client.post("/api/v1/workflows/default/submit", json=body)
    assert resp.status_code == status and text in resp.json()["message"], resp.text


def test_submit_rejects_parameters_that_are_not_pairs(client: httpx.Client) -> None:
    ok(client.post(WT, json={"template": template("greet")}))
    resp = client.post("/api/v1/workflows/default/submit", json={
        "resourceKind": "WorkflowTemplate", "resourceName": "greet", "submitOptions": {"parameters": ["oops"]}})
    assert resp.status_code == 400 and "NAME=VALUE" in resp.json()["message"]
