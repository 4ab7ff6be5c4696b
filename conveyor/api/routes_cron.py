"""CronWorkflows: create, list, lint, get, update, delete, suspend and resume.

They are stored like templates (the Service's put_template with kind
CronWorkflow); the scheduler that starts their workflows reads them from
the store. Suspend and resume flip `spec.suspend`, as Argo Server does.
https://argo-workflows.readthedocs.io/en/latest/cron-workflows/
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from conveyor.api import templates
from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS, ServiceDep, reply
from conveyor.api.models import (
    CreateCronWorkflowRequest,
    CronWorkflow,
    CronWorkflowList,
    Empty,
    LintCronWorkflowRequest,
    NamedRequest,
    UpdateCronWorkflowRequest,
)
from conveyor.api.routes_workflows import dry_run
from conveyor.runtime import Service

__all__ = ["router"]

router = APIRouter(tags=["CronWorkflowService"], responses=ERRORS)
_KIND = "CronWorkflow"
_NS = "/api/v1/cron-workflows/{namespace}"


@router.post(_NS, response_model=CronWorkflow)
async def create_cron_workflow(namespace: str, body: CreateCronWorkflowRequest, service: ServiceDep,
                               auth: Auth) -> JSONResponse:
    require(auth, namespace, "create")
    return reply(templates.create(service, _KIND, namespace, body.cronWorkflow, dry_run=dry_run(body.createOptions)))


@router.get(_NS, response_model=CronWorkflowList)
async def list_cron_workflows(
    namespace: str, service: ServiceDep, auth: Auth,
    label_selector: str | None = Query(None, alias="listOptions.labelSelector"),
    field_selector: str | None = Query(None, alias="listOptions.fieldSelector"),
    limit: int | None = Query(None, alias="listOptions.limit"),
    continue_token: str | None = Query(None, alias="listOptions.continue"),
) -> JSONResponse:
    require(auth, namespace, "list")
    return reply(templates.list_body(service, _KIND, namespace, label_selector=label_selector, field_selector=field_selector,
                                     name_pattern=None, limit=limit, continue_token=continue_token))


@router.post(f"{_NS}/lint", response_model=CronWorkflow)
async def lint_cron_workflow(namespace: str, body: LintCronWorkflowRequest, service: ServiceDep,
                             auth: Auth) -> JSONResponse:
    require(auth, namespace, "lint")
    return reply(templates.lint(service, _KIND, namespace, body.cronWorkflow))


@router.get(f"{_NS}/{{name}}", response_model=CronWorkflow)
async def get_cron_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "get")
    return reply(service.get_template(_KIND, namespace, name))


@router.put(f"{_NS}/{{name}}", response_model=CronWorkflow)
async def update_cron_workflow(namespace: str, name: str, body: UpdateCronWorkflowRequest, service: ServiceDep,
                               auth: Auth) -> JSONResponse:
    require(auth, namespace, "update")
    return reply(templates.update(service, _KIND, namespace, name, body.cronWorkflow))


@router.delete(f"{_NS}/{{name}}", response_model=Empty)
async def delete_cron_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "delete")
    service.delete_template(_KIND, namespace, name)
    return reply({})


def _set_suspend(service: Service, namespace: str, name: str, suspend: bool) -> JSONResponse:
    cron = service.get_template(_KIND, namespace, name)
    cron["spec"] = {**(cron.get("spec") or {}), "suspend": suspend}
    return reply(service.put_template(_KIND, namespace, cron, replace=True))


@router.put(f"{_NS}/{{name}}/suspend", response_model=CronWorkflow, summary="Stop scheduling (spec.suspend: true)")
async def suspend_cron_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                                body: Annotated[NamedRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "suspend")
    return _set_suspend(service, namespace, name, True)


@router.put(f"{_NS}/{{name}}/resume", response_model=CronWorkflow, summary="Schedule again (spec.suspend: false)")
async def resume_cron_workflow(namespace: str, name: str, service: ServiceDep, auth: Auth,
                               body: Annotated[NamedRequest | None, Body()] = None) -> JSONResponse:
    require(auth, namespace, "resume")
    return _set_suspend(service, namespace, name, False)
