"""`POST /api/v1/workflows/{namespace}/submit`: a Workflow from a stored template or CronWorkflow.

From a (Cluster)WorkflowTemplate the new Workflow holds a workflowTemplateRef
to it, as Argo's does; from a CronWorkflow it is a copy of the cron's
workflowSpec and workflowMetadata. Either way it carries Argo's label naming
its source, and submitOptions override its name, entrypoint, parameters,
labels and annotations. Submitting needs write access to the namespace
(and, as any live token may, read access to the template it names).
https://argo-workflows.readthedocs.io/en/latest/workflow-templates/
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS, ServiceDep, reply
from conveyor.api.models import SubmitOpts, Workflow, WorkflowSubmitRequest
from conveyor.errors import InvalidInput
from conveyor.runtime import parse_parameters

__all__ = ["canonical_kind", "router", "workflow_from"]

#: the label Argo puts on a workflow to name what it was submitted from
SOURCE_LABELS = {
    "WorkflowTemplate": "workflows.argoproj.io/workflow-template",
    "ClusterWorkflowTemplate": "workflows.argoproj.io/cluster-workflow-template",
    "CronWorkflow": "workflows.argoproj.io/cron-workflow",
}
#: the spellings Argo's CLI and server accept for resourceKind (kind, singular, plural, short)
_ALIASES = {
    "WorkflowTemplate": ("workflowtemplate", "workflowtemplates", "wftmpl"),
    "ClusterWorkflowTemplate": ("clusterworkflowtemplate", "clusterworkflowtemplates", "cwftmpl", "cwft"),
    "CronWorkflow": ("cronworkflow", "cronworkflows", "cronwf", "cwf"),
}


def canonical_kind(kind: str) -> str:
    for canonical, aliases in _ALIASES.items():
        if kind == canonical or kind.lower() in aliases:
            return canonical
    raise InvalidInput(f"resourceKind {kind!r} cannot be submitted; use one of {', '.join(_ALIASES)}")


def _comma_pairs(text: str | None, what: str) -> dict[str, str]:
    return parse_parameters([p for p in (text or "").split(",") if p.strip()], what)


def workflow_from(kind: str, source: dict[str, Any], opts: SubmitOpts) -> dict[str, Any]:
    """The Workflow manifest to create from `source` (parameters and entrypoint are applied later)."""
    name = source["metadata"]["name"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    if kind == "CronWorkflow":
        cron = source.get("spec") or {}
        spec = copy.deepcopy(cron.get("workflowSpec") or {})
        extra = cron.get("workflowMetadata") or {}
        labels.update(extra.get("labels") or {})
        annotations.update(extra.get("annotations") or {})
    else:
        ref: dict[str, Any] = {"name": name}
        if kind == "ClusterWorkflowTemplate":
            ref["clusterScope"] = True
        spec = {"workflowTemplateRef": ref}
    labels[SOURCE_LABELS[kind]] = name
    labels.update(_comma_pairs(opts.labels, "submitOptions.labels"))
    annotations.update(_comma_pairs(opts.annotations, "submitOptions.annotations"))
    meta: dict[str, Any] = {"name": opts.name} if opts.name else {"generateName": opts.generateName or f"{name}-"}
    meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    if opts.serviceAccount:
        spec["serviceAccountName"] = opts.serviceAccount
    if opts.priority is not None:
        spec["priority"] = opts.priority
    if opts.podPriorityClassName:
        spec["podPriorityClassName"] = opts.podPriorityClassName
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": meta, "spec": spec}


router = APIRouter(tags=["WorkflowService"], responses=ERRORS)


@router.post("/api/v1/workflows/{namespace}/submit", response_model=Workflow,
             summary="Create and start a workflow from a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow")
async def submit_workflow(namespace: str, body: WorkflowSubmitRequest, service: ServiceDep, auth: Auth) -> JSONResponse:
    require(auth, namespace, "submit")
    kind = canonical_kind(body.resourceKind)
    opts = body.submitOptions or SubmitOpts()
    source = service.get_template(kind, namespace, body.resourceName)
    wf = service.create_workflow(
        namespace,
        workflow_from(kind, source, opts),
        dry_run=opts.dryRun or opts.serverDryRun,
        parameters=parse_parameters(opts.parameters or [], "submitOptions.parameters"),
        entrypoint=opts.entryPoint or None,
    )
    return reply(wf)
