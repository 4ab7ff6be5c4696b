"""What the lint checks share while they walk one workflow spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.errors import Problem
from conveyor.spec._limits import DEFAULT_LIMITS, ExpansionLimits
from conveyor.spec._lookup import TemplateLookup
from conveyor.spec._shape import as_dict, as_list, as_str

__all__ = ["LintContext", "names_list"]


def names_list(names: Any, limit: int = 10) -> str:
    """'a, b, c' for messages, shortened when there are many."""
    items = sorted(n for n in names if n)
    if not items:
        return "(none)"
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass
class LintContext:
    problems: list[Problem]
    lookup: TemplateLookup | None
    namespace: str
    #: "Workflow", "WorkflowTemplate" or "ClusterWorkflowTemplate" (a CronWorkflow's
    #: workflowSpec is checked as a Workflow's spec)
    kind: str
    #: local templates by name (the first of duplicates)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: templates of the spec's workflowTemplateRef target, when it could be looked up
    ref_templates: dict[str, dict[str, Any]] | None = None
    #: True when template names may come from a workflowTemplateRef lint cannot see
    templates_unknowable: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)
    #: how far loops may expand the workflow (CONVEYOR_MAX_LOOP_ITEMS, CONVEYOR_MAX_NODES)
    limits: ExpansionLimits = DEFAULT_LIMITS
    _manifests: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def local_template(self, name: str) -> dict[str, Any] | None:
        found = self.templates.get(name)
        if found is None and self.ref_templates is not None:
            found = self.ref_templates.get(name)
        return found

    def template_names(self) -> set[str]:
        return set(self.templates) | set(self.ref_templates or ())

    def fetch(self, kind: str, name: str) -> dict[str, Any] | None:
        """The referenced (Cluster)WorkflowTemplate, asked of the lookup once per name."""
        key = (kind, name)
        if key not in self._manifests:
            assert self.lookup is not None
            namespace = "" if kind == "ClusterWorkflowTemplate" else self.namespace
            self._manifests[key] = self.lookup.get(kind, name, namespace)
        return self._manifests[key]

    @staticmethod
    def templates_of(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for tmpl in as_list(as_dict(manifest.get("spec")).get("templates")):
            name = as_str(as_dict(tmpl).get("name"))
            if name and name not in found:
                found[name] = tmpl
        return found
