"""Workflows and CronWorkflows through Kubernetes' API paths, for Kubernetes clients.

Couler's ArgoSubmitter, kubectl and the `kubernetes` package's
CustomObjectsApi create Argo objects through the Kubernetes API, not Argo
Server's. These routes answer them at Kubernetes' paths
(`/apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows[/{name}]`, and the
same for `cronworkflows`) in Kubernetes' shapes: the object itself as the
body, 201 Created, a `WorkflowList` whose `items` is a list, a Status on
delete and on every error (see `kube.py`). The work is done by the same
Service calls the /api/v1 routes make, and auth is theirs: the same bearer
tokens (a kubeconfig's `token:`), `require` with the same actions. Listing
every namespace (`/apis/argoproj.io/v1alpha1/workflows`) takes a '*'
token, as it takes cluster-wide rights in Kubernetes.
Not served: watch, PATCH (so `kubectl apply` of an object that exists),
replacing a Workflow, Table output (kubectl falls back to NAME and AGE).
Discovery, for kubectl and the dynamic client, is in `routes_kube_discovery`.
https://kubernetes.io/docs/reference/using-api/api-concepts/
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from conveyor.api import templates
from conveyor.api.auth import Auth, AuthContext, require
from conveyor.api.deps import ServiceDep, checked, reply
from conveyor.api.kube import (
    CRON_WORKFLOWS,
    GROUP_VERSION,
    PREFIX,
    STATUS_RESPONSES,
    TAG,
    WORKFLOWS,
    Resource,
    list_body,
    success,
)
from conveyor.api.listing import ObjectFilter, list_workflows
from conveyor.errors import Forbidden, InvalidInput
from conveyor.runtime import Service
from conveyor.store import ALL_NAMESPACES

__all__ = ["router"]

router = APIRouter(tags=[TAG], responses=STATUS_RESPONSES)
_CRON = "CronWorkflow"
#: what Kubernetes appends to a generateName (consonants and digits: no words, no look-alikes)
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"

ObjectBody = Annotated[dict[str, Any], Body(description="the object itself, as kubectl sends it")]
DryRun = Annotated[list[str] | None, Query(alias="dryRun", description="All: validate and answer, store nothing")]
Labels = Annotated[str | None, Query(alias="labelSelector")]
Fields = Annotated[str | None, Query(alias="fieldSelector", description="metadata.name=NAME, metadata.namespace=NS")]
Limit = Annotated[int | None, Query()]
Continue = Annotated[str | None, Query(alias="continue")]
Watch = Annotated[bool, Query(description="not served here: watch with GET /api/v1/workflow-events/{namespace}")]
Page = tuple[list[dict[str, Any]], str | None]


class _Workflows:
    resource = WORKFLOWS

    def create(self, service: Service, namespace: str, obj: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        return service.create_workflow(namespace, obj, dry_run=dry_run)  # generateName is named there

    def page(self, service: Service, namespace: str | None, labels: str | None, fields: str | None,
             limit: int | None, token: str | None) -> Page:
        flt = ObjectFilter.build(namespace, label_selector=labels, field_selector=fields)
        return list_workflows(service.store, flt, limit, token)

    def get(self, service: Service, namespace: str, name: str) -> dict[str, Any]:
        return service.get_workflow(namespace, name)

    async def delete(self, service: Service, namespace: str, name: str) -> None:
        await service.delete_workflow(namespace, name)


class _CronWorkflows:
    resource = CRON_WORKFLOWS

    def create(self, service: Service, namespace: str, obj: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            # Argo's CronWorkflow API wants a name; the Kubernetes API makes one from generateName.
            meta["name"] = meta["generateName"] + "".join(secrets.choice(_SUFFIX) for _ in range(5))
        return templates.create(service, _CRON, namespace, obj, dry_run=dry_run)

    def page(self, service: Service, namespace: str | None, labels: str | None, fields: str | None,
             limit: int | None, token: str | None) -> Page:
        body = templates.list_body(service, _CRON, namespace, label_selector=labels, field_selector=fields,
                                   name_pattern=None, limit=limit, continue_token=token)
        return body["items"] or [], body["metadata"].get("continue")

    def get(self, service: Service, namespace: str, name: str) -> dict[str, Any]:
        return service.get_template(_CRON, namespace, name)

    async def delete(self, service: Service, namespace: str, name: str) -> None:
        service.delete_template(_CRON, namespace, name)


def _on(auth: AuthContext, resource: Resource) -> AuthContext:
    """`auth` naming the resource in its messages (auth names /api/v1 resources from the path)."""
    return dataclasses.replace(auth, resource=resource.plural)


def _object(resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
    """The body as an object of `resource`, apiVersion and kind filled in when left out."""
    obj = checked(body, "body")
    api, kind = obj.get("apiVersion") or GROUP_VERSION, obj.get("kind") or resource.kind
    if api != GROUP_VERSION:
        raise InvalidInput(f"the API version in the data ({api}) does not match the expected API version "
                           f"({GROUP_VERSION})")
    if kind != resource.kind:
        raise InvalidInput(f"the kind in the data ({kind}) does not match the expected kind ({resource.kind}) "
                           f"of {resource.plural}; send a {kind} to its own path")
    return {**obj, "apiVersion": api, "kind": kind, "metadata": dict(obj.get("metadata") or {})}


def _dry(values: list[str] | None) -> bool:
    for value in values or ():
        if value != "All":
            raise InvalidInput(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def _no_watch(watch: bool) -> None:
    if watch:
        raise InvalidInput("watch is not served on the Kubernetes paths; watch workflows with "
                           "GET /api/v1/workflow-events/{namespace}, or list again")


def _every_namespace(auth: AuthContext) -> None:
    token = auth.token
    if token is not None and ALL_NAMESPACES not in token.namespaces:
        raise Forbidden(f'token "{token.name}" may not list {auth.resource} of every namespace: it is for '
                        f"namespaces {', '.join(token.namespaces)}; list one at "
                        f"{PREFIX}/namespaces/NAMESPACE/{auth.resource}")
    require(auth, ALL_NAMESPACES, "list")


def _serve(ops: _Workflows | _CronWorkflows) -> None:
    """Add the routes of one resource: create, list (one namespace, every namespace), get, delete."""
    res = ops.resource
    base, singular = f"{PREFIX}/namespaces/{{namespace}}/{res.plural}", res.kind.lower()

    async def create(namespace: str, body: ObjectBody, request: Request, service: ServiceDep, auth: Auth,
                     dry_run: DryRun = None) -> JSONResponse:
        require(_on(auth, res), namespace, "create")
        obj = _object(res, body)
        request.state.kube_name = obj["metadata"].get("name")  # for the details of a Status
        return reply(ops.create(service, namespace, obj, _dry(dry_run)), 201)

    async def list_in(namespace: str, service: ServiceDep, auth: Auth, labels: Labels = None,
                      fields: Fields = None, limit: Limit = None, token: Continue = None,
                      watch: Watch = False) -> JSONResponse:
        require(_on(auth, res), namespace, "list")
        _no_watch(watch)
        return reply(list_body(res, *ops.page(service, namespace, labels, fields, limit, token)))

    async def list_all(service: ServiceDep, auth: Auth, labels: Labels = None, fields: Fields = None,
                       limit: Limit = None, token: Continue = None, watch: Watch = False) -> JSONResponse:
        _every_namespace(_on(auth, res))
        _no_watch(watch)
        return reply(list_body(res, *ops.page(service, None, labels, fields, limit, token)))

    async def get(namespace: str, name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
        require(_on(auth, res), namespace, "get")
        return reply(ops.get(service, namespace, name))

    async def delete(namespace: str, name: str, service: ServiceDep, auth: Auth,
                     dry_run: DryRun = None) -> JSONResponse:
        require(_on(auth, res), namespace, "delete")
        uid = ops.get(service, namespace, name)["metadata"].get("uid")  # NotFound first, even in a dry run
        if not _dry(dry_run):
            await ops.delete(service, namespace, name)
        return reply(success(res, name, uid))

    # Route names start with the action `require` checks; the auth matrix test reads them.
    router.add_api_route(base, create, methods=["POST"], status_code=201, name=f"create_{singular}",
                         summary=f"Create a {res.kind} (201 Created, the stored object)")
    router.add_api_route(base, list_in, methods=["GET"], name=f"list_{singular}s",
                         summary=f"List {res.kind}s of a namespace ({res.kind}List)")
    router.add_api_route(f"{PREFIX}/{res.plural}", list_all, methods=["GET"], name=f"list_{singular}s_everywhere",
                         summary=f"List {res.kind}s of every namespace (a '*' token)")
    router.add_api_route(f"{base}/{{name}}", get, methods=["GET"], name=f"get_{singular}")
    router.add_api_route(f"{base}/{{name}}", delete, methods=["DELETE"], name=f"delete_{singular}",
                         summary=f"Delete a {res.kind} (a Status with status Success)")


_serve(_Workflows())
_serve(_CronWorkflows())


@router.put(f"{PREFIX}/namespaces/{{namespace}}/{CRON_WORKFLOWS.plural}/{{name}}", name="update_cronworkflow",
            summary="Replace a CronWorkflow (it must exist)")
async def update_cron_workflow(namespace: str, name: str, body: ObjectBody, request: Request, service: ServiceDep,
                               auth: Auth, dry_run: DryRun = None) -> JSONResponse:
    require(_on(auth, CRON_WORKFLOWS), namespace, "update")
    request.state.kube_name = name
    obj = _object(CRON_WORKFLOWS, body)
    if _dry(dry_run):
        service.get_template(_CRON, namespace, name)  # NotFound: an update never creates
        return reply(templates.lint(service, _CRON, namespace, obj))
    return reply(templates.update(service, _CRON, namespace, name, obj))
