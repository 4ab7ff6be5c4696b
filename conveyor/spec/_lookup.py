"""Where lint and resolve find the WorkflowTemplates a manifest refers to.

The store implements `TemplateLookup`; `InMemoryTemplates` serves the CLI's
`lint` of local files and tests. See
https://argo-workflows.readthedocs.io/en/latest/workflow-templates/ and
https://argo-workflows.readthedocs.io/en/latest/cluster-workflow-templates/.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

__all__ = [
    "TemplateLookup",
    "InMemoryTemplates",
    "TEMPLATE_KINDS",
    "DEFAULT_NAMESPACE",
    "CREATE_HINT",
]

TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")
DEFAULT_NAMESPACE = "default"
#: How a user creates a missing template, named in "not found" messages (after Argo's CLI).
CREATE_HINT = {
    "WorkflowTemplate": "conveyor template create FILE",
    "ClusterWorkflowTemplate": "conveyor cluster-template create FILE",
}


class TemplateLookup(Protocol):
    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """The manifest of a WorkflowTemplate or ClusterWorkflowTemplate, or None.

        kind is "WorkflowTemplate" or "ClusterWorkflowTemplate"; a
        ClusterWorkflowTemplate has no namespace, so `namespace` is ignored for it.
        """
        ...


class InMemoryTemplates:
    """A TemplateLookup over manifests held in memory (other kinds are ignored)."""

    def __init__(self, manifests: Iterable[dict[str, Any]] = ()) -> None:
        self._items: dict[tuple[str, str, str], dict[str, Any]] = {}
        for manifest in manifests:
            self.add(manifest)

    def add(self, manifest: dict[str, Any]) -> None:
        kind = manifest.get("kind")
        metadata = manifest.get("metadata")
        if kind not in TEMPLATE_KINDS or not isinstance(metadata, dict):
            return
        name = metadata.get("name")
        if not isinstance(name, str):
            return
        namespace = (
            ""
            if kind == "ClusterWorkflowTemplate"
            else metadata.get("namespace") or DEFAULT_NAMESPACE
        )
        self._items[(kind, name, namespace)] = manifest

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        scope = "" if kind == "ClusterWorkflowTemplate" else namespace or DEFAULT_NAMESPACE
        return self._items.get((kind, name, scope))
