"""Every failure comes back as Argo's gRPC-gateway body with the matching status, never a traceback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conveyor.api.errors import validation_message
from tests.api.conftest import create, manifest


def error(resp: httpx.Response, status: int, code: int) -> str:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code and body["details"] == []
    assert "Traceback" not in body["message"]
    message: str = body["message"]
    return message


def test_duplicate_name_is_409_code_6_with_argos_message(client: httpx.Client) -> None:
    create(client, manifest("true", name="twice"))
    resp = client.post("/api/v1/workflows/default", json={"workflow": manifest("true", name="twice")})
    assert error(resp, 409, 6) == 'workflows.argoproj.io "twice" already exists'


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/api/v1/workflows/default/nope", 'workflows.argoproj.io "nope" not found'),
    ("DELETE", "/api/v1/workflows/default/nope", 'workflows.argoproj.io "nope" not found'),
    ("PUT", "/api/v1/workflows/default/nope/stop", 'workflows.argoproj.io "nope" not found'),
    ("GET", "/api/v1/workflows/default/nope/log", 'workflows.argoproj.io "nope" not found'),
    ("GET", "/api/v1/workflow-templates/default/nope", 'workflowtemplates.argoproj.io "nope" not found'),
    ("GET", "/api/v1/cluster-workflow-templates/nope", 'clusterworkflowtemplates.argoproj.io "nope" not found'),
    ("DELETE", "/api/v1/cron-workflows/default/nope", 'cronworkflows.argoproj.io "nope" not found'),
])
def test_not_found_is_404_code_5(client: httpx.Client, method: str, path: str, message: str) -> None:
    assert error(client.request(method, path), 404, 5) == message


def test_broken_manifest_is_400_code_3_listing_every_problem(client: httpx.Client) -> None:
    broken = manifest("true")
    broken["spec"]["entrypoint"] = "missing"
    broken["spec"]["templates"].append({"name": "bad", "steps": [[{"name": "s", "template": "nowhere"}]]})
    for path in ("/api/v1/workflows/default", "/api/v1/workflows/default/lint"):
        message = error(client.post(path, json={"workflow": broken}), 400, 3)
        assert "2 problem(s)" in message, message
        assert "missing" in message and "nowhere" in message


@pytest.mark.parametrize("headers", [{"Content-Type": "application/json"}, {}])
def test_bad_json_is_400_whatever_the_content_type(client: httpx.Client, headers: dict[str, str]) -> None:
    resp = client.post("/api/v1/workflows/default", content=b'{"workflow": ', headers=headers)
    assert "request body is not valid JSON" in error(resp, 400, 3)


def test_a_good_body_without_content_type_is_read_as_json(client: httpx.Client) -> None:
    # curl -d sends application/x-www-form-urlencoded; grpc-gateway reads JSON anyway
    resp = client.post("/api/v1/workflows/default/lint", content=b'{"workflow": {"metadata": {"name": "x"}, '
                       b'"spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "i"}}]}}}',
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("body, named", [
    ({"workflow": "not an object"}, "body.workflow"),
    ({}, "body.workflow"),
    ({"workflow": {}, "serverDryRun": "maybe"}, "body.serverDryRun"),
    ([1, 2], "body"),
])
def test_wrong_shapes_are_400_naming_the_field(client: httpx.Client, body: Any, named: str) -> None:
    assert named in error(client.post("/api/v1/workflows/default", json=body), 400, 3)


def test_a_template_sent_as_a_workflow_is_refused(client: httpx.Client) -> None:
    wf = {**manifest("true"), "kind": "WorkflowTemplate"}
    assert "send a Workflow" in error(client.post("/api/v1/workflows/default", json={"workflow": wf}), 400, 3)


def test_bad_query_parameters_are_400_naming_them(client: httpx.Client) -> None:
    message = error(client.get("/api/v1/workflows/default", params={"listOptions.limit": "lots"}), 400, 3)
    assert "query parameter listOptions.limit" in message
    assert "invalid label selector" in error(client.get("/api/v1/workflows/default",
                                                        params={"listOptions.labelSelector": "a in (b"}), 400, 3)
    assert "continue" in error(client.get("/api/v1/workflows/default", params={"listOptions.continue": "@@"}), 400, 3)
    assert "metadata.name" in error(client.get("/api/v1/workflows/default",
                                               params={"listOptions.fieldSelector": "status.phase=Running"}), 400, 3)
    assert "nameFilter" in error(client.get("/api/v1/workflows/default", params={"nameFilter": "Fuzzy"}), 400, 3)
    assert "createdAfter" in error(client.get("/api/v1/workflows/default", params={"createdAfter": "today"}), 400, 3)


def test_unknown_routes_and_methods_come_out_in_the_same_shape(client: httpx.Client) -> None:
    assert "no such route" in error(client.get("/api/v1/nothing-here"), 404, 5)
    assert "not allowed" in error(client.patch("/api/v1/workflows/default"), 405, 12)


def test_validation_messages_are_readable() -> None:
    assert validation_message([{"loc": ("body", 12), "type": "json_invalid", "msg": "JSON decode error",
                                "ctx": {"error": "Expecting value"}}]) == (
        "invalid request: request body is not valid JSON at character 12: Expecting value")
    assert validation_message([{"loc": ("query", "listOptions.limit"), "type": "int_parsing",
                                "msg": "Input should be a valid integer"}]) == (
        "invalid request: query parameter listOptions.limit: Input should be a valid integer")


MALFORMED: list[dict[str, Any]] = [
    {"metadata": "x"}, {"metadata": None}, {"metadata": {"name": 5}}, {"metadata": {"labels": ["a"]}},
    {"metadata": {"labels": {"a": 1}}}, {"metadata": {"generateName": []}}, {"metadata": {"name": "UPPER"}},
    {"spec": []}, {"spec": None}, {"spec": {"templates": "x"}}, {"spec": {"templates": [5]}},
    {"spec": {"entrypoint": 3}}, {"spec": {"arguments": {"parameters": [1]}}}, {"apiVersion": 5}, {"kind": 5},
    {"status": "x"}, {"spec": {"workflowTemplateRef": "x"}}, {"spec": {"workflowTemplateRef": {"name": "missing"}}},
]


def test_malformed_manifests_are_4xx_never_500(client: httpx.Client) -> None:
    failures = []
    for patch in MALFORMED:
        wf = manifest("true")
        for key, value in patch.items():
            merge = isinstance(value, dict) and isinstance(wf.get(key), dict)
            wf[key] = {**wf[key], **value} if merge else value
        requests = [("/api/v1/workflows/default", {"workflow": wf}), ("/api/v1/workflows/default/lint", {"workflow": wf}),
                    ("/api/v1/workflow-templates/default", {"template": wf}),
                    ("/api/v1/cron-workflows/default", {"cronWorkflow": wf})]
        for path, body in requests:
            resp = client.post(path, json=body)
            if not 400 <= resp.status_code < 500 and not (path.endswith("lint") and resp.status_code == 200):
                failures.append((path, patch, resp.status_code, resp.text[:200]))
    assert failures == []
