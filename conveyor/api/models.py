"""The request wrappers and response shapes of Argo Server's REST API, as pydantic models.

Names and fields follow the `definitions` of Argo's swagger.json
(`io.argoproj.workflow.v1alpha1.WorkflowCreateRequest`, ...). Manifests
themselves stay open objects: `conveyor.spec` validates them, with every
problem listed, which a pydantic model of the whole Workflow could not do
as helpfully. Unknown request fields are ignored, as grpc-gateway does.
https://argo-workflows.readthedocs.io/en/latest/swagger/
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ArgoObject", "ClusterWorkflowTemplate", "ClusterWorkflowTemplateCreateRequest",
    "ClusterWorkflowTemplateList", "ClusterWorkflowTemplateUpdateRequest", "CreateCronWorkflowRequest",
    "CreateOptions", "CronWorkflow", "CronWorkflowList", "Empty", "ErrorBody", "GetUserInfoResponse",
    "InfoResponse", "LabelKeys", "LabelValues", "LintCronWorkflowRequest", "ListMeta", "LogStreamResult", "NamedRequest", "ResubmitArchivedWorkflowRequest", "RetryArchivedWorkflowRequest",
    "StreamError", "SubmitOpts", "UpdateCronWorkflowRequest", "Version", "WatchStreamResult", "Workflow", "WorkflowResubmitRequest", "WorkflowRetryRequest", "WorkflowSetRequest",
    "WorkflowCreateRequest", "WorkflowLintRequest", "WorkflowList", "WorkflowResumeRequest",
    "WorkflowStopRequest", "WorkflowSubmitRequest", "WorkflowTemplate", "WorkflowTemplateCreateRequest",
    "WorkflowTemplateList", "WorkflowTemplateUpdateRequest",
]

Manifest = dict[str, Any]


# -- objects (documentation only: replies pass stored objects through) ----------

class ArgoObject(BaseModel):
    model_config = ConfigDict(extra="allow")
    apiVersion: str | None = "argoproj.io/v1alpha1"
    kind: str | None = None
    metadata: dict[str, Any]
    spec: dict[str, Any] | None = None


class Workflow(ArgoObject):
    status: dict[str, Any] | None = None


class WorkflowTemplate(ArgoObject):
    pass


class ClusterWorkflowTemplate(ArgoObject):
    pass


class CronWorkflow(ArgoObject):
    status: dict[str, Any] | None = None


class ListMeta(BaseModel):
    continue_: str | None = Field(default=None, alias="continue", description="pass back as listOptions.continue for the next page")
    resourceVersion: str | None = None


class WorkflowList(BaseModel):
    metadata: ListMeta
    items: list[Workflow] | None = Field(description="null when empty, as Argo Server answers")


class WorkflowTemplateList(BaseModel):
    metadata: ListMeta
    items: list[WorkflowTemplate] | None


class ClusterWorkflowTemplateList(BaseModel):
    metadata: ListMeta
    items: list[ClusterWorkflowTemplate] | None


class CronWorkflowList(BaseModel):
    metadata: ListMeta
    items: list[CronWorkflow] | None


class Empty(BaseModel):
    """The reply to a delete: `{}`."""


class ErrorBody(BaseModel):
    code: int = Field(description="gRPC status code: 3 invalid, 5 not found, 6 already exists")
    message: str
    details: list[dict[str, Any]] = []


class Version(BaseModel):
    version: str
    buildDate: str
    gitCommit: str
    gitTag: str
    gitTreeState: str
    goVersion: str
    compiler: str
    platform: str


class InfoResponse(BaseModel):
    managedNamespace: str | None = None
    links: list[dict[str, str]] = []
    columns: list[dict[str, str]] = []
    modals: dict[str, bool] = {}
    navColor: str = ""


class GetUserInfoResponse(BaseModel):
    model_config = ConfigDict(extra="allow")


class LogEntry(BaseModel):
    content: str
    podName: str


class StreamError(BaseModel):
    """grpc-gateway's StreamError: the last object of a stream that failed after it started."""

    grpc_code: int
    http_code: int
    message: str
    http_status: str
    details: list[dict[str, Any]] = []


class LogStreamResult(BaseModel):
    """One line of a log stream (newline-delimited JSON, or `data: ...` server-sent events).

    As Argo's "Stream result of LogEntry": `result` on every line but a last `error`
    one; an empty stream (no line matched) is an empty body.
    """

    result: LogEntry | None = None
    error: StreamError | None = None


class WorkflowWatchEvent(BaseModel):
    type: str = Field(description="ADDED, MODIFIED or DELETED")
    object: Workflow


class WatchStreamResult(BaseModel):
    """One event of a watch stream (newline-delimited JSON, or `data: ...` server-sent events).

    As Argo's "Stream result of WorkflowWatchEvent": `result`, or a last `error`.
    """

    result: WorkflowWatchEvent | None = None
    error: StreamError | None = None


# -- requests ---------------------------------------------------------------------

class CreateOptions(BaseModel):
    dryRun: list[str] | None = Field(default=None, description='["All"]: validate and answer, store nothing')


class WorkflowCreateRequest(BaseModel):
    workflow: Manifest
    namespace: str | None = None
    serverDryRun: bool = False
    createOptions: CreateOptions | None = None


class WorkflowLintRequest(BaseModel):
    workflow: Manifest
    namespace: str | None = None


class SubmitOpts(BaseModel):
    parameters: list[str] | None = Field(default=None, description="NAME=VALUE each")
    generateName: str | None = None
    name: str | None = None
    entryPoint: str | None = None
    labels: str | None = Field(default=None, description="k=v,k2=v2 added to metadata.labels")
    annotations: str | None = Field(default=None, description="k=v,k2=v2 added to metadata.annotations")
    dryRun: bool = False
    serverDryRun: bool = False
    serviceAccount: str | None = None
    priority: int | None = None
    podPriorityClassName: str | None = None


class WorkflowSubmitRequest(BaseModel):
    resourceKind: str = Field(description="WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow")
    resourceName: str
    namespace: str | None = None
    submitOptions: SubmitOpts | None = None


class NamedRequest(BaseModel):
    """Suspend / terminate (and cron suspend / resume): name and namespace come from the path."""

    name: str | None = None
    namespace: str | None = None


class WorkflowStopRequest(NamedRequest):
    message: str | None = None
    nodeFieldSelector: str | None = None


class WorkflowResumeRequest(NamedRequest):
    nodeFieldSelector: str | None = None


class WorkflowSetRequest(NamedRequest):
    nodeFieldSelector: str | None = None
    #: a JSON object of output parameters, e.g. {"approve": "YES"}
    outputParameters: str | None = None
    phase: str | None = None
    message: str | None = None


class WorkflowRetryRequest(NamedRequest):
    restartSuccessful: bool | None = None
    nodeFieldSelector: str | None = None
    parameters: list[str] | None = None


class WorkflowResubmitRequest(NamedRequest):
    memoized: bool | None = None
    parameters: list[str] | None = None


class ResubmitArchivedWorkflowRequest(WorkflowResubmitRequest):
    """The workflow is named by the path's uid; name and namespace are ignored."""

    uid: str | None = None


class RetryArchivedWorkflowRequest(WorkflowRetryRequest):
    uid: str | None = None


class LabelKeys(BaseModel):
    items: list[str] | None = None


class LabelValues(BaseModel):
    items: list[str] | None = None


class WorkflowTemplateCreateRequest(BaseModel):
    template: Manifest
    namespace: str | None = None
    createOptions: CreateOptions | None = None


class WorkflowTemplateUpdateRequest(BaseModel):
    template: Manifest
    name: str | None = None
    namespace: str | None = None


class ClusterWorkflowTemplateCreateRequest(BaseModel):
    template: Manifest
    createOptions: CreateOptions | None = None


class ClusterWorkflowTemplateUpdateRequest(BaseModel):
    template: Manifest
    name: str | None = None


class CreateCronWorkflowRequest(BaseModel):
    cronWorkflow: Manifest
    namespace: str | None = None
    createOptions: CreateOptions | None = None


class LintCronWorkflowRequest(BaseModel):
    cronWorkflow: Manifest
    namespace: str | None = None


class UpdateCronWorkflowRequest(BaseModel):
    cronWorkflow: Manifest
    name: str | None = None
    namespace: str | None = None
