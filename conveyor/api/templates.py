"""What the WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow routes share.

Create stamps the object metadata Kubernetes would (uid, creationTimestamp);
update keeps them, and refuses to create what does not exist yet, as the
Kubernetes API does. A CronWorkflow's status (written by the scheduler)
survives an update that sends none.
https://argo-workflows.readthedocs.io/en/latest/workflow-templates/
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from conveyor.api.deps import checked
from conveyor.api.listing import ObjectFilter, page_by_name, resource_version
from conveyor.errors import InvalidInput
from conveyor.runtime import Service

__all__ = ["create", "lint", "list_body", "update"]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _checked(kind: str, manifest: dict[str, Any]) -> dict[str, Any]:
    return checked(manifest, "body.cronWorkflow" if kind == "CronWorkflow" else "body.template")


def lint(service: Service, kind: str, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    return service.lint_template(kind, namespace, _checked(kind, manifest))


def create(service: Service, kind: str, namespace: str, manifest: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
    meta = {**(_checked(kind, manifest).get("metadata") or {}), "uid": str(uuid.uuid4()), "creationTimestamp": _now()}
    doc = {**manifest, "metadata": meta}
    if dry_run:
        return service.lint_template(kind, namespace, doc)
    return service.put_template(kind, namespace, doc)


def update(service: Service, kind: str, namespace: str, name: str, manifest: dict[str, Any]) -> dict[str, Any]:
    meta = dict(_checked(kind, manifest).get("metadata") or {})
    if meta.setdefault("name", name) != name:
        raise InvalidInput(f"metadata.name {meta['name']!r} does not match the name in the path {name!r}")
    old = service.get_template(kind, namespace, name)  # NotFound: an update never creates
    for key in ("uid", "creationTimestamp"):
        if key in old["metadata"]:
            meta[key] = old["metadata"][key]
    doc = {**manifest, "metadata": meta}
    if kind == "CronWorkflow" and "status" not in doc and "status" in old:
        doc["status"] = old["status"]
    return service.put_template(kind, namespace, doc, replace=True)


def list_body(service: Service, kind: str, namespace: str | None, *, label_selector: str | None,
              field_selector: str | None, name_pattern: str | None, limit: int | None,
              continue_token: str | None) -> dict[str, Any]:
    """A `...List` reply: `{"metadata": {...}, "items": [...] or null}`."""
    flt = ObjectFilter.build(namespace, label_selector=label_selector, field_selector=field_selector)

    def accept(obj: dict[str, Any]) -> bool:
        return flt.matches(obj) and (not name_pattern or name_pattern in obj["metadata"].get("name", ""))

    items, token = page_by_name(service.store.list_templates(kind, namespace), accept, limit, continue_token)
    meta = {"resourceVersion": resource_version(), **({"continue": token} if token else {})}
    return {"metadata": meta, "items": items or None}
