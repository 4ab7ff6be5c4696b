"""conveyor's routes, request wrappers and replies against Argo Server's swagger.json.

The swagger is read from ../shared (never copied into the project); these
checks are skipped, saying why, when it is not there.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi.routing import APIRoute

from conveyor.api import create_app
from tests.api.conftest import LiveServer, create, manifest, stream_lines, wait_done
from tests.conftest import shared_path

ARGO = "io.argoproj.workflow.v1alpha1."
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"


@cache
def _swagger() -> dict[str, Any]:
    with open(shared_path("argo", "swagger.json")) as f:
        doc: dict[str, Any] = json.load(f)
    return doc


@pytest.fixture
def swagger() -> dict[str, Any]:
    return _swagger()


def validate(swagger: dict[str, Any], instance: Any, schema: dict[str, Any]) -> None:
    definitions = copy.deepcopy(swagger["definitions"])
    # Kubernetes' IntOrString is written {"type": "string"} in the swagger, yet on the
    # wire (and in Argo's own examples) it is a string or an integer.
    definitions[INT_OR_STRING] = {"type": ["string", "integer"]}
    jsonschema.Draft4Validator({**schema, "definitions": definitions}).validate(instance)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name if '.' in name else ARGO + name}"}


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # newer FastAPI keeps included routers nested
        if inner is not None:
            yield from _walk(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


#: Routes outside /api/v1, which Argo's swagger does not describe, each with its reason.
NOT_ARGO_SERVER = {
    "/apis": "Kubernetes' API, not Argo Server's: Workflows and CronWorkflows at the paths Kubernetes "
             "clients (kubectl, CustomObjectsApi, Couler's ArgoSubmitter) use; Argo's swagger has only /api/v1",
    "/version": "Kubernetes' version endpoint, for the same clients (Argo Server's is /api/v1/version)",
    "/openapi.json": "FastAPI's own OpenAPI document of conveyor",
    "/docs": "FastAPI's interactive docs",
    "/redoc": "FastAPI's interactive docs",
}


#: conveyor's own routes for its web UI (namespaces, settings, cron next runs): a prefix Argo does not use
CONVEYOR_OWN = "/api/v1/conveyor/"


def _served(app: Any) -> list[tuple[str, str]]:
    return sorted((r.path, m.lower()) for r in _walk(app.routes) for m in r.methods or ()
                  if m not in ("HEAD", "OPTIONS"))


def api_routes() -> list[tuple[str, str]]:
    """(path, method) of every route the app serves under /api/v1 (the routers use no prefixes)."""
    app = create_app(_FakeService())  # type: ignore[arg-type]
    return [(path, method) for path, method in _served(app) if path.startswith("/api/v1/")]


class _FakeService:
    listeners: list[Any] = []


def test_every_route_served_is_in_argos_swagger(swagger: dict[str, Any]) -> None:
    routes = api_routes()
    assert len(routes) >= 36  # every endpoint of the brief; a silent drop to fewer means routes went missing
    missing = [f"{m.upper()} {p}" for p, m in routes
               if m not in swagger["paths"].get(p, {}) and not p.startswith(CONVEYOR_OWN)]
    assert missing == []


def test_conveyors_own_routes_only_read() -> None:
    own = [(p, m) for p, m in api_routes() if p.startswith(CONVEYOR_OWN)]
    assert len(own) == 3 and {m for _, m in own} == {"get"}, own


def test_routes_outside_api_v1_are_known_and_not_argo_servers() -> None:
    app = create_app(_FakeService())  # type: ignore[arg-type]
    others = [(p, m) for p, m in _served(app) if not p.startswith("/api/v1/")]
    assert any(p.startswith("/apis/") for p, _ in others)  # the Kubernetes routes are served, and left out above
    unknown = [f"{m.upper()} {p}" for p, m in others
               if not any(p == prefix or p.startswith(prefix + "/") for prefix in NOT_ARGO_SERVER)]
    assert unknown == [], "a route outside /api/v1: serve it under /api/v1 or give its reason in NOT_ARGO_SERVER"


def test_request_wrappers_use_argos_field_names(swagger: dict[str, Any]) -> None:
    ours = create_app(_FakeService()).openapi()  # type: ignore[arg-type]
    checked = 0
    for path, method in api_routes():
        body = ours["paths"][path][method].get("requestBody")
        if body is None:
            continue
        schema = body["content"]["application/json"]["schema"]
        name = (schema.get("$ref") or next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)).rsplit("/", 1)[1]
        fields = set(ours["components"]["schemas"][name]["properties"])
        argo_ref = next(p["schema"]["$ref"] for p in swagger["paths"][path][method]["parameters"] if p["in"] == "body")
        argo_fields = set(swagger["definitions"][argo_ref.rsplit("/", 1)[1]]["properties"])
        assert fields <= argo_fields, f"{method.upper()} {path}: {sorted(fields - argo_fields)} are not Argo's"
        checked += 1
    assert checked >= 18  # every route that takes a body


def test_replies_validate_against_argos_definitions(swagger: dict[str, Any], client: httpx.Client) -> None:
    created = create(client, manifest("echo hi", name="conform", labels={"a": "b"}))
    validate(swagger, created, ref("Workflow"))
    finished = wait_done(client, "conform")
    validate(swagger, finished, ref("Workflow"))
    validate(swagger, client.get("/api/v1/workflows/default").json(), ref("WorkflowList"))
    template = {"metadata": {"name": "tpl"}, "spec": {"entrypoint": "m", "templates": [
        {"name": "m", "retryStrategy": {"limit": 2}, "container": {"image": "busybox", "command": ["true"]}}]}}
    validate(swagger, client.post("/api/v1/workflow-templates/default", json={"template": template}).json(),
             ref("WorkflowTemplate"))
    validate(swagger, client.get("/api/v1/workflow-templates/default").json(), ref("WorkflowTemplateList"))
    validate(swagger, client.post("/api/v1/cluster-workflow-templates", json={"template": template}).json(),
             ref("ClusterWorkflowTemplate"))
    cron = {"metadata": {"name": "c"}, "spec": {"schedules": ["* * * * *"], "workflowSpec": template["spec"]}}
    validate(swagger, client.post("/api/v1/cron-workflows/default", json={"cronWorkflow": cron}).json(),
             ref("CronWorkflow"))
    validate(swagger, client.get("/api/v1/version").json(), ref("Version"))
    validate(swagger, client.get("/api/v1/info").json(), ref("InfoResponse"))
    validate(swagger, client.get("/api/v1/userinfo").json(), ref("GetUserInfoResponse"))
    validate(swagger, client.get("/api/v1/workflows/default/nope").json(), ref("grpc.gateway.runtime.Error"))
    validate(swagger, client.delete("/api/v1/workflows/default/conform").json(), ref("WorkflowDeleteResponse"))


def test_stream_lines_validate_against_argos_stream_results(swagger: dict[str, Any], client: httpx.Client) -> None:
    create(client, manifest("echo hi", name="streamed"))
    wait_done(client, "streamed")

    def stream_schema(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = swagger["paths"][path]["get"]["responses"]["200"]["schema"]
        return schema

    with client.stream("GET", "/api/v1/workflows/default/streamed/log") as resp:
        lines = list(stream_lines(resp))
    assert lines
    for line in lines:
        validate(swagger, line, stream_schema("/api/v1/workflows/{namespace}/{name}/log"))
    with client.stream("GET", "/api/v1/workflow-events/default", params={"listOptions.timeoutSeconds": "1"}) as resp:
        events = list(stream_lines(resp))
    assert events
    for event in events:
        validate(swagger, event, stream_schema("/api/v1/workflow-events/{namespace}"))


def test_conveyors_own_openapi_document(live: LiveServer, client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["info"]["title"] == "conveyor"
    created = doc["paths"]["/api/v1/workflows/{namespace}"]["post"]
    assert created["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Workflow"}
    assert "ErrorBody" in doc["components"]["schemas"] and "WorkflowList" in doc["components"]["schemas"]
