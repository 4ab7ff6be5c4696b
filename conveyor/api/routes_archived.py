"""Archived workflows: list, get, delete, resubmit, retry; their label keys and values.

Paths and replies are Argo Server's ArchivedWorkflowService. An archived
workflow is named by its uid alone, so the namespace `require` checks is
the archived workflow's own, read before the check. A list names its
namespace in the `namespace` query parameter; leaving it out lists every
namespace, which only a token for every namespace ('*') may do.
https://argo-workflows.readthedocs.io/en/latest/workflow-archive/
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from conveyor.api.auth import Auth, AuthContext, require
from conveyor.api.deps import ERRORS, ServiceDep, reply
from conveyor.api.listing import resource_version
from conveyor.api.models import (
    Empty,
    LabelKeys,
    LabelValues,
    ResubmitArchivedWorkflowRequest,
    RetryArchivedWorkflowRequest,
    Workflow,
    WorkflowList,
)
from conveyor.errors import Forbidden, InvalidInput, NotFound
from conveyor.runtime import Service, parse_parameters
from conveyor.store import ALL_NAMESPACES, parse_selector

__all__ = ["router"]

router = APIRouter(tags=["ArchivedWorkflowService"], responses=ERRORS)
_BASE = "/api/v1/archived-workflows"
_NAMESPACE = Query(None, description="the namespace to list; leave out for every namespace (needs a '*' token)")


def _require_scope(auth: AuthContext, namespace: str | None, action: str) -> None:
    """`require` for a query over one namespace, or over every one when `namespace` is None."""
    token = auth.token
    if namespace is None and token is not None and ALL_NAMESPACES not in token.namespaces:
        raise Forbidden(f'token "{token.name}" may not {action} {auth.resource} of every namespace: it is for '
                        f"namespaces {', '.join(token.namespaces)}; name one with ?namespace=NS")
    require(auth, namespace or ALL_NAMESPACES, action)


def _archived(service: Service, auth: AuthContext, uid: str, namespace: str | None, action: str) -> dict[str, Any]:
    """The archived workflow `uid`, once the caller may `action` in its namespace."""
    wf = service.store.find_archived(uid)
    if wf is None:
        # An unknown uid names no namespace to check against; uids are random, so the
        # 404 tells a token nothing about namespaces it is not for.
        if namespace:
            require(auth, namespace, action)
        raise NotFound(f'archived workflow "{uid}" not found')
    found_ns = wf["metadata"]["namespace"]
    require(auth, found_ns, action)
    if namespace and namespace != found_ns:
        raise NotFound(f'archived workflow "{uid}" not found in namespace "{namespace}"')
    return wf


@router.get(_BASE, response_model=WorkflowList, summary="List archived workflows, newest first")
async def list_archived_workflows(
    service: ServiceDep, auth: Auth,
    label_selector: str | None = Query(None, alias="listOptions.labelSelector"),
    limit: int | None = Query(None, alias="listOptions.limit"),
    continue_token: str | None = Query(None, alias="listOptions.continue"),
    name_prefix: str | None = Query(None, alias="namePrefix"),
    namespace: str | None = _NAMESPACE,
) -> JSONResponse:
    namespace = namespace or None
    _require_scope(auth, namespace, "list")
    items, token = service.store.list_archived(namespace, label_selector=label_selector, name_prefix=name_prefix,
                                               limit=limit, continue_token=continue_token)
    meta = {"resourceVersion": resource_version(), **({"continue": token} if token else {})}
    # `"items": null` when empty, as Argo Server answers (see routes_workflows).
    return reply({"metadata": meta, "items": items or None})


@router.get(f"{_BASE}/{{uid}}", response_model=Workflow)
async def get_archived_workflow(uid: str, service: ServiceDep, auth: Auth,
                                namespace: str | None = Query(None)) -> JSONResponse:
    return reply(_archived(service, auth, uid, namespace, "get"))


@router.delete(f"{_BASE}/{{uid}}", response_model=Empty, summary="Delete from the archive (a live copy stays)")
async def delete_archived_workflow(uid: str, service: ServiceDep, auth: Auth,
                                   namespace: str | None = Query(None)) -> JSONResponse:
    _archived(service, auth, uid, namespace, "delete")
    service.store.delete_archived(uid)
    return reply({})


@router.put(f"{_BASE}/{{uid}}/resubmit", response_model=Workflow,
            summary="Submit a new live workflow from an archived one's manifest")
async def resubmit_archived_workflow(uid: str, service: ServiceDep, auth: Auth,
                                     body: Annotated[ResubmitArchivedWorkflowRequest | None, Body()] = None,
                                     ) -> JSONResponse:
    body = body or ResubmitArchivedWorkflowRequest()
    _archived(service, auth, uid, body.namespace, "resubmit")
    parameters = parse_parameters(body.parameters or [], "parameters")
    return reply(service.resubmit_archived_workflow(uid, parameters=parameters))


@router.put(f"{_BASE}/{{uid}}/retry", response_model=Workflow,
            summary="Retry an archived workflow that is still in the live list")
async def retry_archived_workflow(uid: str, service: ServiceDep, auth: Auth,
                                  body: Annotated[RetryArchivedWorkflowRequest | None, Body()] = None) -> JSONResponse:
    body = body or RetryArchivedWorkflowRequest()
    wf = _archived(service, auth, uid, body.namespace, "retry")
    namespace, name = wf["metadata"]["namespace"], wf["metadata"]["name"]
    live = service.store.find_workflow(namespace, name)
    # A retry continues a run from its stored events, which only a live workflow still has.
    if live is None or live["metadata"].get("uid") != uid:
        raise InvalidInput(f'archived workflow "{uid}" ({namespace}/{name}) is no longer in the live list, and '
                           "retry works on live workflows only; resubmit it instead "
                           f"(PUT {_BASE}/{uid}/resubmit)")
    return reply(service.retry_workflow(
        namespace, name,
        restart_successful=bool(body.restartSuccessful),
        node_field_selector=body.nodeFieldSelector or None,
        parameters=parse_parameters(body.parameters or [], "parameters"),
    ))


@router.get("/api/v1/archived-workflows-label-keys", response_model=LabelKeys,
            summary="Every label key of archived workflows")
async def list_archived_label_keys(service: ServiceDep, auth: Auth, namespace: str | None = _NAMESPACE) -> JSONResponse:
    namespace = namespace or None
    _require_scope(auth, namespace, "list")
    return reply({"items": service.store.archived_label_keys(namespace)})


@router.get("/api/v1/archived-workflows-label-values", response_model=LabelValues,
            summary="Every value of one label key (listOptions.labelSelector=KEY) of archived workflows")
async def list_archived_label_values(
    service: ServiceDep, auth: Auth,
    label_selector: str | None = Query(None, alias="listOptions.labelSelector", description="the label key"),
    namespace: str | None = _NAMESPACE,
) -> JSONResponse:
    namespace = namespace or None
    _require_scope(auth, namespace, "list")
    reqs = parse_selector(label_selector)
    if len(reqs) != 1 or reqs[0].op != "exists":
        raise InvalidInput(f"listOptions.labelSelector={label_selector!r} must be one label key, "
                           "e.g. listOptions.labelSelector=workflows.argoproj.io/phase")
    return reply({"items": service.store.archived_label_values(reqs[0].key, namespace)})
