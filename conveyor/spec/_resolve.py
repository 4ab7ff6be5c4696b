"""resolve_workflow(): make a Workflow self-contained before it runs.

- `spec.workflowTemplateRef` is merged in: the referenced template's spec is
  the base and the workflow's own fields win (mappings merge key by key,
  `templates` and `arguments.parameters`/`artifacts` merge by name). The ref
  itself is then dropped, so the result is a plain, self-contained Workflow
  (which lint accepts; Argo rejects `templates` next to a ref), and recorded in
  the label Argo puts on workflows made from a template,
  `workflows.argoproj.io/workflow-template` (or `cluster-workflow-template`).
  See https://argo-workflows.readthedocs.io/en/latest/workflow-templates/#create-workflow-from-workflowtemplate-spec.
- every step, task or hook with a `templateRef` gets the referenced template
  copied into `spec.templates` under a reserved name, `wftmpl:NAME:TEMPLATE`
  (`cwftmpl:` for a ClusterWorkflowTemplate), and `template:` set to it; the
  `templateRef` is kept so status can still report it. A copied template's own
  `template:` references mean templates of ITS WorkflowTemplate, so they are
  copied and renamed the same way, transitively. The reserved names contain
  ':', which Argo forbids in template names, so they cannot collide.
  See https://argo-workflows.readthedocs.io/en/latest/workflow-templates/#referencing-other-workflowtemplates.
- `spec.templateDefaults` is merged under every template (template fields
  win, mappings merge recursively). A default for one template type (e.g.
  `container`) only applies to templates of that type, and defaults that Argo
  ignores for a kind of template (`timeout` on a dag, `parallelism` on a
  container) are not copied onto it.
  See https://argo-workflows.readthedocs.io/en/latest/template-defaults/.
"""

from __future__ import annotations

from typing import Any

from conveyor.errors import ManifestError, Problem
from conveyor.spec._lookup import CREATE_HINT, DEFAULT_NAMESPACE, TemplateLookup
from conveyor.spec._normalize import clone, normalize
from conveyor.spec._shape import (
    LEAF_TYPES,
    TEMPLATE_TYPES,
    as_dict,
    as_list,
    as_str,
    is_templated,
    iter_template_holders,
    template_types,
)

__all__ = [
    "resolve_workflow",
    "resolved_template_name",
    "merge_spec",
    "apply_template_defaults",
    "TEMPLATE_LABEL",
]

#: The label recording which template a workflow was made from (Argo's own keys).
TEMPLATE_LABEL = {
    "WorkflowTemplate": "workflows.argoproj.io/workflow-template",
    "ClusterWorkflowTemplate": "workflows.argoproj.io/cluster-workflow-template",
}
_LEAF_ONLY = ("timeout", "activeDeadlineSeconds")
_PARENT_ONLY = ("parallelism", "failFast")


def resolved_template_name(kind: str, name: str, template: str) -> str:
    """The local name a template copied from a (Cluster)WorkflowTemplate gets."""
    prefix = "cwftmpl" if kind == "ClusterWorkflowTemplate" else "wftmpl"
    return f"{prefix}:{name}:{template}"


def resolve_workflow(workflow: dict[str, Any], templates: TemplateLookup) -> dict[str, Any]:
    """A copy of `workflow` with every template reference resolved; see the module doc."""
    wf = normalize(workflow)  # a copy, in the v4 spelling the engine expects
    spec = wf.get("spec")
    if not isinstance(spec, dict):
        return wf
    namespace = as_str(as_dict(wf.get("metadata")).get("namespace")) or DEFAULT_NAMESPACE
    resolver = _Resolver(templates, namespace)
    ref = spec.get("workflowTemplateRef")
    if isinstance(ref, dict):
        kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") is True else "WorkflowTemplate"
        base = resolver.fetch(kind, as_str(ref.get("name")), "spec.workflowTemplateRef")
        if base is not None:
            spec = merge_spec(as_dict(base.get("spec")), spec)
            del spec["workflowTemplateRef"]
            wf["spec"] = spec
            metadata = wf.get("metadata")
            if isinstance(metadata, dict):
                labels = metadata.get("labels")
                if not isinstance(labels, dict):
                    labels = metadata["labels"] = {}
                labels[TEMPLATE_LABEL[kind]] = as_str(ref.get("name"))
    resolver.localize(spec)
    if resolver.problems:
        raise ManifestError(resolver.problems)
    apply_template_defaults(spec)
    return wf


class _Resolver:
    def __init__(self, lookup: TemplateLookup, namespace: str) -> None:
        self.lookup = lookup
        self.namespace = namespace
        self.problems: list[Problem] = []
        self._manifests: dict[tuple[str, str], dict[str, Any] | None] = {}

    def fetch(self, kind: str, name: str, path: str) -> dict[str, Any] | None:
        key = (kind, name)
        if key not in self._manifests:
            scope = "" if kind == "ClusterWorkflowTemplate" else self.namespace
            found = self.lookup.get(kind, name, scope) if name else None
            # Stored templates are normally in v4 form already; normalizing is cheap insurance.
            self._manifests[key] = normalize(found) if isinstance(found, dict) else None
        manifest = self._manifests[key]
        if manifest is None:
            where = "" if kind == "ClusterWorkflowTemplate" else f" in namespace {self.namespace!r}"
            self.problems.append(
                Problem(
                    path, f"{kind} {name!r} not found{where}; create it with {CREATE_HINT[kind]}"
                )
            )
        return manifest

    def localize(self, spec: dict[str, Any]) -> None:
        templates = spec.get("templates")
        if not isinstance(templates, list):
            templates = spec["templates"] = []
        self.templates = templates
        self.names = {as_str(as_dict(t).get("name")) for t in templates}
        # (template, origin (kind, name) or None for the workflow's own, its path)
        pending: list[tuple[dict[str, Any], tuple[str, str] | None, str]] = [
            (t, None, f"spec.templates[{as_str(t.get('name'))}]")
            for t in templates
            if isinstance(t, dict)
        ]
        while pending:
            tmpl, origin, path = pending.pop()
            for holder, hpath in _holders(tmpl, path):
                self._rewrite(holder, hpath, origin, pending)

    def _rewrite(
        self, holder: dict[str, Any], path: str, origin: tuple[str, str] | None, pending: list[Any]
    ) -> None:
        ref = holder.get("templateRef")
        if isinstance(ref, dict):
            name, template = as_str(ref.get("name")), as_str(ref.get("template"))
            if not name or not template or is_templated(name) or is_templated(template):
                return  # nothing to resolve statically; lint reports empty names
            kind = (
                "ClusterWorkflowTemplate" if ref.get("clusterScope") is True else "WorkflowTemplate"
            )
            local = self._copy(kind, name, template, f"{path}.templateRef", pending)
            if local is not None:
                holder["template"] = local
            return
        if origin is None:
            return
        # Inside a copied template, plain names refer to templates of the same WorkflowTemplate.
        for field in ("template", "onExit"):
            target = holder.get(field)
            if isinstance(target, str) and target and not is_templated(target):
                local = self._copy(origin[0], origin[1], target, f"{path}.{field}", pending)
                if local is not None:
                    holder[field] = local

    def _copy(
        self, kind: str, name: str, template: str, path: str, pending: list[Any]
    ) -> str | None:
        local = resolved_template_name(kind, name, template)
        if local in self.names:
            return local
        manifest = self.fetch(kind, name, path)
        if manifest is None:
            return None
        for candidate in as_list(as_dict(manifest.get("spec")).get("templates")):
            if isinstance(candidate, dict) and candidate.get("name") == template:
                copied = clone(candidate)
                copied["name"] = local
                self.templates.append(copied)
                self.names.add(local)
                pending.append((copied, (kind, name), f"spec.templates[{local}]"))
                return local
        self.problems.append(Problem(path, f"{kind} {name!r} has no template {template!r}"))
        return None


def _holders(tmpl: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """Steps, tasks and hooks of a template and of the inline templates inside it."""
    found: list[tuple[dict[str, Any], str]] = []
    todo = [(tmpl, path)]
    while todo:
        current, current_path = todo.pop()
        for holder, hpath, *_ in iter_template_holders(current, current_path):
            found.append((holder, hpath))
            inline = holder.get("inline")
            if isinstance(inline, dict):
                todo.append((inline, f"{hpath}.inline"))
    return found


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _merge_named(base: Any, over: Any) -> list[Any]:
    """Merge two lists of named mappings: same name merges (over wins), new names append."""
    out = [clone(item) for item in as_list(base)]
    position = {as_str(as_dict(item).get("name")): i for i, item in enumerate(out)}
    for item in as_list(over):
        name = as_str(as_dict(item).get("name"))
        if (
            name
            and name in position
            and isinstance(out[position[name]], dict)
            and isinstance(item, dict)
        ):
            out[position[name]] = _deep_merge(out[position[name]], item)
        else:
            out.append(item)
    return out


def merge_spec(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A WorkflowTemplate's spec with a Workflow's spec laid over it."""
    merged = clone(base)
    for key, value in own.items():
        if key == "templates":
            merged[key] = _merge_named(merged.get(key), value)
        elif key == "arguments" and isinstance(value, dict):
            args = dict(as_dict(merged.get(key)))
            for part, items in value.items():
                args[part] = (
                    _merge_named(args.get(part), items)
                    if part in ("parameters", "artifacts")
                    else items
                )
            merged[key] = args
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_template_defaults(spec: dict[str, Any]) -> None:
    """Merge spec.templateDefaults under every template, in place (inline ones included)."""
    defaults = spec.get("templateDefaults")
    if not isinstance(defaults, dict) or not defaults:
        return
    templates = as_list(spec.get("templates"))
    for i, tmpl in enumerate(templates):
        if isinstance(tmpl, dict):
            templates[i] = _with_defaults(defaults, tmpl)
            for holder, _path in _holders(templates[i], ""):
                if isinstance(holder.get("inline"), dict):
                    holder["inline"] = _with_defaults(defaults, holder["inline"])


def _with_defaults(defaults: dict[str, Any], tmpl: dict[str, Any]) -> dict[str, Any]:
    types = template_types(tmpl)
    ttype = types[0] if types else None
    applicable: dict[str, Any] = {}
    for key, value in defaults.items():
        if key == "name" or (key in TEMPLATE_TYPES and key != ttype):
            continue
        if key in _LEAF_ONLY and ttype not in LEAF_TYPES:
            continue
        if key in _PARENT_ONLY and ttype not in ("dag", "steps"):
            continue
        applicable[key] = clone(value)
    return _deep_merge(applicable, tmpl) if applicable else tmpl
