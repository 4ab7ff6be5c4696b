"""Load and validate Argo manifests, and resolve their template references.

The public API the engine, store and CLI use:

- `load_documents` / `load_file`: YAML (multi-document) or JSON into manifests;
- `normalize`: Argo v3 spellings to v4, so the engine sees one form;
- `lint`: every problem in a manifest, as `Problem(path, message)`;
- `validate`: normalize + lint, raising `ManifestError` when anything is wrong;
- `Limits`, `MAX_DEPTH`, `nesting_problem`: what a manifest must stay within
  (nesting, items per loop, nodes per workflow);
- `namespace_problem`: why a namespace name cannot exist (the API checks paths with it);
- `resolve_workflow`: merge `workflowTemplateRef`, copy `templateRef` targets
  in, apply `templateDefaults`.

See https://argo-workflows.readthedocs.io/en/latest/workflow-concepts/.
"""

from __future__ import annotations

from typing import Any

from conveyor.errors import ManifestError, Problem
from conveyor.spec._limits import (
    DEFAULT_LIMITS,
    MAX_DEPTH,
    ExpansionLimits,
    Limits,
    nesting_problem,
    too_deep,
)
from conveyor.spec._lint import API_VERSION, KINDS, lint, lint_normalized
from conveyor.spec._load import load_documents, load_file
from conveyor.spec._lookup import InMemoryTemplates, TemplateLookup
from conveyor.spec._names import namespace_problem
from conveyor.spec._normalize import normalize
from conveyor.spec._resolve import resolve_workflow, resolved_template_name

__all__ = [
    "API_VERSION",
    "DEFAULT_LIMITS",
    "ExpansionLimits",
    "KINDS",
    "Limits",
    "MAX_DEPTH",
    "InMemoryTemplates",
    "TemplateLookup",
    "lint",
    "load_documents",
    "load_file",
    "namespace_problem",
    "nesting_problem",
    "normalize",
    "resolve_workflow",
    "resolved_template_name",
    "too_deep",
    "validate",
]


def validate(
    manifest: dict[str, Any],
    *,
    templates: TemplateLookup | None = None,
    source: str = "",
    limits: ExpansionLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """The manifest in v4 spelling; raises ManifestError listing every problem if it has any.

    `limits` bounds how far its loops may expand it (pass the Settings).
    """
    if not isinstance(manifest, dict):
        raise ManifestError(lint(manifest), source)
    deep = nesting_problem(manifest, "the manifest")
    if deep:  # before anything that recurses into it
        raise ManifestError([Problem("", deep)], source)
    try:
        doc = normalize(manifest)
    except ManifestError as exc:
        raise ManifestError(exc.problems, source) from None
    problems = lint_normalized(doc, templates, limits)
    if problems:
        raise ManifestError(problems, source)
    return doc
