"""WorkflowTemplates (namespaced) and ClusterWorkflowTemplates: create, list, lint, get, update, delete.

Paths and wrappers (`{"template": ...}`) are Argo Server's
WorkflowTemplateService and ClusterWorkflowTemplateService. Any live token
may read ClusterWorkflowTemplates; changing one takes an admin token for
every namespace (see `auth.py`).
https://argo-workflows.readthedocs.io/en/latest/workflow-templates/
https://argo-workflows.readthedocs.io/en/latest/cluster-workflow-templates/
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from conveyor.api import templates
from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS, ServiceDep, reply
from conveyor.api.models import (
    ClusterWorkflowTemplate,
    ClusterWorkflowTemplateCreateRequest,
    ClusterWorkflowTemplateList,
    ClusterWorkflowTemplateUpdateRequest,
    Empty,
    WorkflowTemplate,
    WorkflowTemplateCreateRequest,
    WorkflowTemplateList,
    WorkflowTemplateUpdateRequest,
)
from conveyor.api.routes_workflows import dry_run

__all__ = ["router"]

_WT, _CWT = "WorkflowTemplate", "ClusterWorkflowTemplate"
_NS = "/api/v1/workflow-templates/{namespace}"
_CL = "/api/v1/cluster-workflow-templates"
wt = APIRouter(tags=["WorkflowTemplateService"], responses=ERRORS)
cwt = APIRouter(tags=["ClusterWorkflowTemplateService"], responses=ERRORS)


# -- WorkflowTemplates ----------------------------------------------------------

@wt.post(_NS, response_model=WorkflowTemplate)
async def create_workflow_template(namespace: str, body: WorkflowTemplateCreateRequest, service: ServiceDep,
                                   auth: Auth) -> JSONResponse:
    require(auth, namespace, "create")
    return reply(templates.create(service, _WT, namespace, body.template, dry_run=dry_run(body.createOptions)))


@wt.get(_NS, response_model=WorkflowTemplateList)
async def list_workflow_templates(
    namespace: str, service: ServiceDep, auth: Auth,
    name_pattern: str | None = Query(None, alias="namePattern", description="only names containing this"),
    label_selector: str | None = Query(None, alias="listOptions.labelSelector"),
    field_selector: str | None = Query(None, alias="listOptions.fieldSelector"),
    limit: int | None = Query(None, alias="listOptions.limit"),
    continue_token: str | None = Query(None, alias="listOptions.continue"),
) -> JSONResponse:
    require(auth, namespace, "list")
    return reply(templates.list_body(service, _WT, namespace, label_selector=label_selector, field_selector=field_selector,
                                     name_pattern=name_pattern, limit=limit, continue_token=continue_token))


@wt.post(f"{_NS}/lint", response_model=WorkflowTemplate)
async def lint_workflow_template(namespace: str, body: WorkflowTemplateCreateRequest, service: ServiceDep,
                                 auth: Auth) -> JSONResponse:
    require(auth, namespace, "lint")
    return reply(templates.lint(service, _WT, namespace, body.template))


@wt.get(f"{_NS}/{{name}}", response_model=WorkflowTemplate)
async def get_workflow_template(namespace: str, name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "get")
    return reply(service.get_template(_WT, namespace, name))


@wt.put(f"{_NS}/{{name}}", response_model=WorkflowTemplate)
async def update_workflow_template(namespace: str, name: str, body: WorkflowTemplateUpdateRequest, service: ServiceDep,
                                   auth: Auth) -> JSONResponse:
    require(auth, namespace, "update")
    return reply(templates.update(service, _WT, namespace, name, body.template))


@wt.delete(f"{_NS}/{{name}}", response_model=Empty)
async def delete_workflow_template(namespace: str, name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "delete")
    service.store.delete_template(_WT, namespace, name)
    return reply({})


# -- ClusterWorkflowTemplates -----------------------------------------------------

@cwt.post(_CL, response_model=ClusterWorkflowTemplate)
async def create_cluster_workflow_template(body: ClusterWorkflowTemplateCreateRequest, service: ServiceDep,
                                           auth: Auth) -> JSONResponse:
    require(auth, None, "create")
    return reply(templates.create(service, _CWT, "", body.template, dry_run=dry_run(body.createOptions)))


@cwt.get(_CL, response_model=ClusterWorkflowTemplateList)
async def list_cluster_workflow_templates(
    service: ServiceDep, auth: Auth,
    label_selector: str | None = Query(None, alias="listOptions.labelSelector"),
    field_selector: str | None = Query(None, alias="listOptions.fieldSelector"),
    limit: int | None = Query(None, alias="listOptions.limit"),
    continue_token: str | None = Query(None, alias="listOptions.continue"),
) -> JSONResponse:
    require(auth, None, "list")
    return reply(templates.list_body(service, _CWT, None, label_selector=label_selector, field_selector=field_selector,
                                     name_pattern=None, limit=limit, continue_token=continue_token))


@cwt.post(f"{_CL}/lint", response_model=ClusterWorkflowTemplate)
async def lint_cluster_workflow_template(body: ClusterWorkflowTemplateCreateRequest, service: ServiceDep,
                                         auth: Auth) -> JSONResponse:
    require(auth, None, "lint")
    return reply(templates.lint(service, _CWT, "", body.template))


@cwt.get(f"{_CL}/{{name}}", response_model=ClusterWorkflowTemplate)
async def get_cluster_workflow_template(name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, None, "get")
    return reply(service.get_template(_CWT, "", name))


@cwt.put(f"{_CL}/{{name}}", response_model=ClusterWorkflowTemplate)
async def update_cluster_workflow_template(name: str, body: ClusterWorkflowTemplateUpdateRequest, service: ServiceDep,
                                           auth: Auth) -> JSONResponse:
    require(auth, None, "update")
    return reply(templates.update(service, _CWT, "", name, body.template))


@cwt.delete(f"{_CL}/{{name}}", response_model=Empty)
async def delete_cluster_workflow_template(name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, None, "delete")
    service.store.delete_template(_CWT, "", name)
    return reply({})


router = APIRouter()
router.include_router(wt)
router.include_router(cwt)
