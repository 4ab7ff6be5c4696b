"""Workflows: create, list, get, delete, lint; and stop, terminate, resume, suspend.

Paths, request wrappers and replies are Argo Server's WorkflowService.
Control requests reach the workflow's runner (or, for a workflow another
process drives, wait in the store for it); the reply is the workflow as
it stands when the request is accepted, before the runner acts on it.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS, JSONText, ServiceDep, checked, reply
from conveyor.api.fields import apply_fields, reaches
from conveyor.api.listing import ObjectFilter, list_workflows, resource_version
from conveyor.api.models import (
    CreateOptions,
    Empty,
    NamedRequest,
    Workflow,
    WorkflowCreateRequest,
    WorkflowLintRequest,
    WorkflowList,
    WorkflowResubmitRequest,
    WorkflowResumeRequest,
    WorkflowRetryRequest,
    WorkflowSetRequest,
    WorkflowStopRequest,
)
from conveyor.errors import InvalidInput, NotFound
from conveyor.runtime import parse_parameters

__all__ = ["dry_run", "router"]

router = APIRouter(tags=["WorkflowService"], responses=ERRORS)
_BASE = "/api/v1/workflows/{namespace}"
#: node fields a nodeFieldSelector may name; each identifies a node for the engine
_NODE_FIELDS = ("displayName", "name", "id")


def as_workflow(manifest: dict[str, Any]) -> dict[str, Any]:
    """The `workflow` of a request: a Workflow, its kind and apiVersion filled in when left out."""
    manifest = checked(manifest, "body.workflow")
    kind = manifest.get("kind") or "Workflow"
    if kind != "Workflow":
        raise InvalidInput(f"body.workflow is a {kind}; send a Workflow (run a template with POST .../submit)")
    return {"apiVersion": "argoproj.io/v1alpha1", **manifest, "kind": "Workflow"}


def dry_run(options: CreateOptions | None) -> bool:
    return bool(options and options.dryRun and "All" in options.dryRun)


@router.post(_BASE, response_model=Workflow, summary="Create and start a workflow")
async def create_workflow(namespace: str, body: WorkflowCreateRequest, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "create")
    dry = body.serverDryRun or dry_run(body.createOptions)
    return reply(await service.create_workflow_async(namespace, as_workflow(body.workflow), dry_run=dry))


@router.get(_BASE, response_model=WorkflowList, summary="List workflows, newest first")
async def list_workflows_route(
    namespace: str,
    service: ServiceDep, auth: Auth,
    label_selector: str | None = Query(None, alias="listOptions.labelSelector"),
    field_selector: str | None = Query(None, alias="listOptions.fieldSelector",
                                       description="metadata.name=NAME and/or metadata.namespace=NS"),
    limit: int | None = Query(None, alias="listOptions.limit"),
    continue_token: str | None = Query(None, alias="listOptions.continue"),
    fields: str | None = Query(None, description='e.g. "items.metadata.name,metadata.continue" or "-items.status.nodes"'),
    name_filter: str | None = Query(None, alias="nameFilter", description="how metadata.name= matches: Exact | Prefix | Contains"),
    created_after: str | None = Query(None, alias="createdAfter"),
    finished_before: str | None = Query(None, alias="finishedBefore"),
) -> JSONResponse:
    require(auth, namespace, "list")
    flt = ObjectFilter.build(namespace, label_selector=label_selector, field_selector=field_selector,
                             name_filter=name_filter, created_after=created_after, finished_before=finished_before)
    items, token = list_workflows(service.store, flt, limit, continue_token)
    meta = {"resourceVersion": resource_version(), **({"continue": token} if token else {})}
    # Argo Server answers `"items": null` for an empty list; its clients (Hera, the UI) expect that.
    return reply(apply_fields({"metadata": meta, "items": items or None}, fields))


@router.post(f"{_BASE}/lint", response_model=Workflow,
             summary="Check a workflow: the normalized workflow, or 400 listing every problem")
async def lint_workflow(namespace: str, body: WorkflowLintRequest, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "lint")
    return reply(service.lint_workflow(namespace, as_workflow(body.workflow)))


@router.get(f"{_BASE}/{{name}}", response_model=Workflow)
async def get_workflow(
    namespace: str, name: str, service: ServiceDep, auth: Auth,
    fields: str | None = Query(None, description='e.g. "metadata,status.phase" or "-status.nodes"'),
    uid: str | None = Query(None),
) -> JSONResponse:
    require(auth, namespace, "get")
    if fields is None and uid is None:
        # The whole object as stored: the stored text is the answer (JSONResponse would
        # write the same bytes), so a 10,000-node workflow is not parsed into dicts only
        # to be dumped again.
        return JSONText(service.workflow_json(namespace, name))
    wf = service.get_workflow(namespace, name, nodes=reaches(fields, "status.nodes"))
    if uid and wf["metadata"].get("uid") != uid:
        raise NotFound(f'workflows.argoproj.io "{name}" with uid {uid!r} not found')
    return reply(apply_fields(wf, fields))


@router.delete(f"{_BASE}/{{name}}", response_model=Empty,
               summary="Delete a workflow (terminating it first if it runs)")
async def delete_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "delete")
    await service.delete_workflow(namespace, name)
    return reply({})


def _node_target(selector: str | None) -> str | None:
    """The node a nodeFieldSelector names (displayName=X, name=X or id=X)."""
    if not selector:
        return None
    key, op, value = selector.partition("=")
    if not op or key.strip() not in _NODE_FIELDS or "," in value:
        raise InvalidInput(
            f"nodeFieldSelector {selector!r} is not supported yet; name one node with "
            + ", ".join(f"{f}=..." for f in _NODE_FIELDS)
        )
    return value.strip().removeprefix("=")


@router.put(f"{_BASE}/{{name}}/stop", response_model=Workflow,
            summary="Stop: kill running tasks, then run exit handlers")
async def stop_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                        body: Annotated[WorkflowStopRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "stop")
    body = body or WorkflowStopRequest()
    if body.nodeFieldSelector:
        raise InvalidInput("stopping selected nodes (nodeFieldSelector) is not supported yet; "
                           "leave it out to stop the whole workflow")
    return reply(service.control(namespace, name, {"type": "stop", "message": body.message or ""}))


@router.put(f"{_BASE}/{{name}}/terminate", response_model=Workflow,
            summary="Terminate at once, without exit handlers")
async def terminate_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                             body: Annotated[NamedRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "terminate")
    return reply(service.control(namespace, name, {"type": "terminate"}))


@router.put(f"{_BASE}/{{name}}/resume", response_model=Workflow,
            summary="Resume a suspended workflow, or one suspended node (nodeFieldSelector)")
async def resume_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                          body: Annotated[WorkflowResumeRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "resume")
    node = _node_target(body.nodeFieldSelector if body else None)
    return reply(service.control(namespace, name, {"type": "resume", "node": node, "parameters": {}}))


@router.put(f"{_BASE}/{{name}}/suspend", response_model=Workflow,
            summary="Suspend: start no new tasks (running ones go on) until resumed")
async def suspend_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                           body: Annotated[NamedRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "suspend")
    return reply(service.control(namespace, name, {"type": "suspend"}))


@router.put(f"{_BASE}/{{name}}/set", response_model=Workflow,
            summary="Set a suspended node's output parameters, and end it with a phase")
async def set_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                       body: Annotated[WorkflowSetRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "set")
    body = body or WorkflowSetRequest()
    return reply(service.set_node(namespace, name, selector=body.nodeFieldSelector or "",
                                  output_parameters=body.outputParameters, phase=body.phase, message=body.message))


@router.put(f"{_BASE}/{{name}}/retry", response_model=Workflow,
            summary="Run a finished workflow's failed nodes again (or, with restartSuccessful, the selected ones)")
async def retry_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                         body: Annotated[WorkflowRetryRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "retry")
    body = body or WorkflowRetryRequest()
    return reply(service.retry_workflow(
        namespace, name,
        restart_successful=bool(body.restartSuccessful),
        node_field_selector=body.nodeFieldSelector or None,
        parameters=parse_parameters(body.parameters or [], "parameters"),
    ))


@router.put(f"{_BASE}/{{name}}/resubmit", response_model=Workflow,
            summary="Submit a new workflow from this one's manifest")
async def resubmit_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                            body: Annotated[WorkflowResubmitRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "resubmit")
    body = body or WorkflowResubmitRequest()
    return reply(service.resubmit_workflow(namespace, name, parameters=parse_parameters(body.parameters or [], "parameters")))
