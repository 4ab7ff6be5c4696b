"""Kubernetes' API conventions for `/apis/argoproj.io/v1alpha1/...`: resources, lists and `Status`.

Kubernetes clients (kubectl, the `kubernetes` package's CustomObjectsApi,
Couler's ArgoSubmitter) read a failure as a `Status` object with a `reason`
(AlreadyExists, NotFound, ...), not as Argo Server's gRPC-gateway body.
`errors.py` asks `is_kube_path` and answers with `failure` there, so every
error on these paths comes out in that shape: a route's, the auth
dependency's (401, 403), a bad body's, an unknown path's.
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from conveyor.api.listing import resource_version
from conveyor.errors import Problem

__all__ = ["CRON_WORKFLOWS", "GROUP", "GROUP_VERSION", "PREFIX", "RESOURCES", "STATUS_RESPONSES", "TAG", "WORKFLOWS",
           "Resource", "failure", "is_kube_path", "list_body", "success"]

GROUP = "argoproj.io"
VERSION = "v1alpha1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
PREFIX = f"/apis/{GROUP_VERSION}"
TAG = f"Kubernetes API ({GROUP_VERSION})"
#: what the Kubernetes routes document for their failures (in /docs; there is no Status model)
STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    "default": {"description": 'A Kubernetes Status: {"kind": "Status", "status": "Failure", "reason": '
                               '"AlreadyExists" | "NotFound" | "Invalid" | "BadRequest" | ..., "code": 409, ...}'},
}

#: HTTP status -> Status reason (k8s.io/apimachinery metav1.StatusReason)
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
            406: "NotAcceptable", 409: "AlreadyExists", 413: "RequestEntityTooLarge", 415: "UnsupportedMediaType",
            422: "Invalid", 429: "TooManyRequests", 503: "ServiceUnavailable", 504: "Timeout"}


@dataclass(frozen=True)
class Resource:
    """One resource type as discovery (`APIResourceList`) describes it."""

    plural: str
    kind: str
    short_names: tuple[str, ...]
    verbs: tuple[str, ...]

    def discovery(self) -> dict[str, Any]:
        return {"name": self.plural, "singularName": self.kind.lower(), "namespaced": True, "kind": self.kind,
                "verbs": list(self.verbs), "shortNames": list(self.short_names)}


# Argo's CRDs declare these short names, so `kubectl get wf` works as it does against Argo.
WORKFLOWS = Resource("workflows", "Workflow", ("wf",), ("create", "delete", "get", "list"))
CRON_WORKFLOWS = Resource("cronworkflows", "CronWorkflow", ("cwf", "cronwf"),
                          ("create", "delete", "get", "list", "update"))
RESOURCES = (WORKFLOWS, CRON_WORKFLOWS)
_BY_PLURAL = {r.plural: r for r in RESOURCES}


def is_kube_path(path: str) -> bool:
    return path in ("/apis", "/version") or path.startswith("/apis/")


def list_body(resource: Resource, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    # Kubernetes answers `"items": []` for an empty list (Argo Server's null would break its clients).
    meta = {"resourceVersion": resource_version(), **({"continue": token} if token else {})}
    return {"apiVersion": GROUP_VERSION, "kind": f"{resource.kind}List", "metadata": meta, "items": items}


def success(resource: Resource, name: str, uid: str | None) -> dict[str, Any]:
    """What a delete answers: a Status, as Kubernetes does for an object deleted at once."""
    details = {"name": name, "group": GROUP, "kind": resource.plural, **({"uid": uid} if uid else {})}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _details(path: str, name: str | None) -> dict[str, Any]:
    """StatusDetails from the path: '/apis/argoproj.io/v1alpha1/namespaces/ns/workflows/x' -> workflows, x."""
    if not path.startswith(PREFIX + "/"):
        return {}
    parts = path.removeprefix(PREFIX + "/").split("/")
    if parts[0] == "namespaces":
        parts = parts[2:]
    if not parts or not parts[0]:
        return {}
    name = parts[1] if len(parts) > 1 else name
    return {**({"name": name} if name else {}), "group": GROUP, "kind": parts[0]}


def failure(request: Request, status: int, message: str, problems: Sequence[Problem] = ()) -> tuple[int, dict[str, Any]]:
    """(HTTP status, Status body) for an error on a Kubernetes path.

    A manifest that cannot be stored (a ManifestError's `problems`) is
    Kubernetes' 422 Invalid, each problem a cause naming its field, so a
    client tells "your object is wrong" from "your request is wrong" (400).
    """
    # A create names its object in the body, not the path; the route leaves the name here.
    details = _details(request.url.path, getattr(request.state, "kube_name", None))
    if problems:
        status = 422
        resource = _BY_PLURAL.get(details.get("kind", ""))
        if resource is not None:
            # Invalid names the kind, not the resource (metav1 NewInvalid), in message and details.
            details["kind"] = resource.kind
            message = f'{resource.kind}.{GROUP} "{details.get("name", "")}" is invalid: {message}'
        details["causes"] = [{"reason": "FieldValueInvalid", "message": p.message, "field": p.path} for p in problems]
    reason = _REASONS.get(status, "InternalError" if status >= 500 else "BadRequest")
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, **({"details": details} if details else {}), "code": status}
    return status, body
