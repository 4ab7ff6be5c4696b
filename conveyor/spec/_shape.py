"""Small helpers for walking manifests of unknown shape and naming places in them.

Lint runs on manifests that may be wrong in any way, so every accessor here
tolerates the wrong type and returns an empty value instead of raising.

Paths are JSONPath-like (`spec.templates[main].dag.tasks[B].depends`): a list
item is named by its `name` when that name is a usable, unique key among its
siblings, and by its index otherwise, so a path always points at one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = [
    "TEMPLATE_TYPES",
    "RUNNABLE_TYPES",
    "LEAF_TYPES",
    "as_dict",
    "as_list",
    "as_str",
    "item_keys",
    "path_of",
    "template_containers",
    "template_types",
    "iter_template_holders",
    "Holder",
    "is_templated",
]

#: Every template type Argo knows, in Argo's own order of precedence.
TEMPLATE_TYPES = (
    "container",
    "containerSet",
    "steps",
    "script",
    "resource",
    "dag",
    "suspend",
    "data",
    "http",
    "plugin",
)
#: The types conveyor can run without Kubernetes or Argo's agent.
RUNNABLE_TYPES = frozenset({"container", "script", "dag", "steps", "suspend", "containerSet"})
#: Types that run a pod in Argo ("leaf" templates); the others orchestrate children.
LEAF_TYPES = frozenset(
    {"container", "containerSet", "script", "resource", "data", "http", "plugin"}
)

# A bracketed key must not itself contain brackets, or the path becomes ambiguous.
_KEYABLE = re.compile(r"^[^\[\]]+$")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def is_templated(value: str) -> bool:
    """True for values Argo resolves at runtime (`{{...}}`); lint cannot judge them."""
    return "{{" in value


def item_keys(items: list[Any]) -> list[str]:
    """The path key of each item of a list: its unique name, else its index.

    Computed once per list so that naming 10,000 tasks stays linear.
    """
    if len(items) == 1:  # the common case (one parameter, one step per group)
        name = as_str(as_dict(items[0]).get("name"))
        return [name if name and _KEYABLE.match(name) else "0"]
    names = [as_str(as_dict(item).get("name")) for item in items]
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return [
        name if name and counts[name] == 1 and _KEYABLE.match(name) else str(index)
        for index, name in enumerate(names)
    ]


def path_of(data: Any, loc: tuple[int | str, ...] | list[int | str]) -> str:
    """Render a location (keys and list indexes into `data`) as a path string."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            key = item_keys(node)[part] if 0 <= part < len(node) else str(part)
            out += f"[{key}]"
            node = node[part] if 0 <= part < len(node) else None
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def template_types(template: dict[str, Any]) -> list[str]:
    """The template-type fields a template sets (Argo requires exactly one)."""
    return [t for t in TEMPLATE_TYPES if template.get(t) is not None]


class Holder(NamedTuple):
    """A step, DAG task or lifecycle hook: something that names a template to run."""

    node: dict[str, Any]
    path: str
    kind: str  # "step", "task" or "hook"
    label: str  # for messages: "step 'a'", "the 'exit' hook of task 'b'"
    hook: str = ""  # the hook's name, for hooks


def iter_template_holders(template: dict[str, Any], path: str) -> Iterator[Holder]:
    """Every step, DAG task and their hooks in a template, with paths and labels.

    A holder names what to run with `template`, `templateRef` or `inline`.
    Inline templates are not descended into; callers treat them as templates
    of their own.
    """
    entries: list[tuple[dict[str, Any], str, str]] = []
    for gi, group in enumerate(as_list(template.get("steps"))):
        steps = as_list(group)
        keys = item_keys(steps)
        entries.extend(
            (s, f"{path}.steps[{gi}][{keys[si]}]", "step")
            for si, s in enumerate(steps)
            if isinstance(s, dict)
        )
    tasks = as_list(as_dict(template.get("dag")).get("tasks"))
    keys = item_keys(tasks)
    entries.extend(
        (t, f"{path}.dag.tasks[{keys[ti]}]", "task")
        for ti, t in enumerate(tasks)
        if isinstance(t, dict)
    )
    for node, node_path, kind in entries:
        label = f"{kind} {as_str(node.get('name')) or '?'!r}"
        yield Holder(node, node_path, kind, label)
        for name, hook in as_dict(node.get("hooks")).items():
            if isinstance(hook, dict):
                yield Holder(
                    hook, f"{node_path}.hooks.{name}", "hook", f"the {name!r} hook of {label}", name
                )


def template_containers(tmpl: dict[str, Any], path: str) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(container, its path, its name) for every container a template runs; the main one is "main".

    Argo names a container or script template's container "main" whatever it says.
    """
    for field in ("container", "script"):
        if isinstance(tmpl.get(field), dict):
            yield tmpl[field], f"{path}.{field}", "main"
    groups = [("initContainers", as_list(tmpl.get("initContainers"))), ("sidecars", as_list(tmpl.get("sidecars"))),
              ("containerSet.containers", as_list(as_dict(tmpl.get("containerSet")).get("containers")))]
    for field, items in groups:
        keys = item_keys(items)
        for i, c in enumerate(items):
            if isinstance(c, dict):
                yield c, f"{path}.{field}[{keys[i]}]", as_str(c.get("name")) or "?"
