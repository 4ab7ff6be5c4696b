"""Lint templates and the steps, tasks and hooks inside them.

See https://argo-workflows.readthedocs.io/en/latest/workflow-concepts/#template-types
and https://argo-workflows.readthedocs.io/en/latest/walk-through/loops/.
"""

from __future__ import annotations

from typing import Any

from conveyor.spec._containers import check_container_names
from conveyor.spec._context import LintContext, names_list
from conveyor.spec._dag import LOOP_FIELDS, check_dag
from conveyor.spec._expansion import int_or_none, literal_loop_size
from conveyor.spec._lookup import CREATE_HINT
from conveyor.spec._names import field_name_problem, is_resolved_template_name
from conveyor.spec._params import (
    check_arguments,
    check_input_refs,
    check_io,
    check_supplied,
    param_names,
)
from conveyor.spec._privileged import check_privileges
from conveyor.spec._shape import (
    LEAF_TYPES,
    RUNNABLE_TYPES,
    as_dict,
    as_list,
    as_str,
    is_templated,
    item_keys,
    iter_template_holders,
    template_types,
)
from conveyor.spec._when import when_problem

__all__ = ["check_templates", "check_holder_target"]

_RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
_RUNNABLE_LIST = "container, script, dag, steps, suspend and containerSet"


def check_templates(ctx: LintContext, spec: dict[str, Any], spec_path: str) -> None:
    templates = as_list(spec.get("templates"))
    keys = item_keys(templates)
    for i, tmpl in enumerate(templates):
        if not isinstance(tmpl, dict):
            continue
        path = f"{spec_path}.templates[{keys[i]}]"
        name = tmpl.get("name")
        if not isinstance(name, str) or not name:
            if name is None:
                ctx.add(
                    path,
                    "this template has no `name`; every template needs one so it can be referred to",
                )
            continue
        if ctx.templates.get(name) is not tmpl:
            ctx.add(
                f"{path}.name",
                f"template name {name!r} is used by more than one template; names must be unique",
            )
        elif not is_resolved_template_name(name):
            message = field_name_problem("template", name)
            if message:
                ctx.add(f"{path}.name", message)
        check_template(ctx, tmpl, path)


def check_template(ctx: LintContext, tmpl: dict[str, Any], path: str) -> None:
    name = as_str(tmpl.get("name")) or "(inline)"
    types = template_types(tmpl)
    ttype = types[0] if len(types) == 1 else None
    if not types:
        ctx.add(path, f"template {name!r} has no type; give it exactly one of {_RUNNABLE_LIST}")
    elif len(types) > 1:
        ctx.add(
            path,
            f"template {name!r} sets {' and '.join(types)}; a template must have exactly one type",
        )
    for t in types:
        if t not in RUNNABLE_TYPES:
            ctx.add(
                f"{path}.{t}",
                f"template {name!r} uses `{t}`, which needs Kubernetes (or Argo's agent); "
                f"conveyor runs {_RUNNABLE_LIST} templates",
            )
    _check_fields(ctx, tmpl, path, name, ttype)
    check_privileges(ctx, tmpl, path)
    check_container_names(ctx, tmpl, path)
    check_io(ctx, tmpl, path, ttype)
    extra = param_names(as_dict(ctx.defaults.get("inputs")).get("parameters"))
    if ttype == "steps":
        _check_steps(ctx, tmpl, path, name)
    elif ttype == "dag":
        check_dag(ctx, tmpl, path)
    for holder, hpath, kind, label, hook_name in iter_template_holders(tmpl, path):
        inline_tmpl = holder.get("inline")
        if isinstance(inline_tmpl, dict):
            extra |= param_names(as_dict(inline_tmpl.get("inputs")).get("parameters"))
            check_template(ctx, inline_tmpl, f"{hpath}.inline")
        check_holder_target(ctx, holder, hpath, label)
        if kind == "hook":
            # Hooks other than `exit` run when their expression turns true, so they need one.
            if hook_name != "exit" and not as_str(holder.get("expression")):
                ctx.add(hpath, f"{label} has no `expression`; every hook but `exit` needs one")
            continue
        _check_loops(ctx, holder, hpath, label)
        when = holder.get("when")
        if isinstance(when, str) and (problem := when_problem(when)):
            ctx.add(f"{hpath}.when", f"the `when` of {label}: {problem}")
        check_arguments(ctx, holder.get("arguments"), f"{hpath}.arguments", allow_empty=False)
        on_exit = holder.get("onExit")
        if isinstance(on_exit, str) and on_exit and not is_templated(on_exit):
            _check_template_name(ctx, on_exit, f"{hpath}.onExit", f"the onExit of {label}")
    check_input_refs(ctx, tmpl, path, extra)


def check_holder_target(ctx: LintContext, holder: dict[str, Any], path: str, label: str) -> None:
    """What a step, task or hook runs: exactly one of template, templateRef, inline; and that it exists."""
    name, ref, inline = holder.get("template"), holder.get("templateRef"), holder.get("inline")
    ways = [
        k
        for k, v in (("template", name), ("templateRef", ref), ("inline", inline))
        if v is not None
    ]
    resolved = isinstance(name, str) and is_resolved_template_name(name) and ref is not None
    if not ways:
        ctx.add(
            path,
            f"{label} runs nothing: set `template` (a template name), `templateRef` or `inline`",
        )
        return
    if len(ways) > 1 and not resolved:
        ctx.add(path, f"{label} sets {' and '.join(ways)}; use only one of them")
        return
    if isinstance(name, str) and name and not is_templated(name):
        target = _check_template_name(ctx, name, f"{path}.template", label)
        if target is not None:
            check_supplied(ctx, target, holder.get("arguments"), f"{path}.arguments", label)
    elif isinstance(inline, dict):
        check_supplied(ctx, inline, holder.get("arguments"), f"{path}.arguments", label)
    elif isinstance(ref, dict) and not resolved:
        _check_template_ref(ctx, ref, f"{path}.templateRef", label)


def _check_template_name(
    ctx: LintContext, name: str, path: str, label: str
) -> dict[str, Any] | None:
    target = ctx.local_template(name)
    if target is None and not ctx.templates_unknowable:
        ctx.add(
            path,
            f"{label} refers to template {name!r}, which is not defined in this manifest "
            f"(templates: {names_list(ctx.template_names())}); fix the name or add the template",
        )
    return target


def _check_template_ref(ctx: LintContext, ref: dict[str, Any], path: str, label: str) -> None:
    ref_name, template = ref.get("name"), ref.get("template")
    if not isinstance(ref_name, str) or not ref_name:
        ctx.add(
            f"{path}.name", f"the templateRef of {label} needs `name`: the WorkflowTemplate to use"
        )
    if not isinstance(template, str) or not template:
        ctx.add(
            f"{path}.template",
            f"the templateRef of {label} needs `template`: the template inside it to run",
        )
    if ctx.lookup is None or not isinstance(ref_name, str) or not isinstance(template, str):
        return
    if not ref_name or not template or is_templated(ref_name) or is_templated(template):
        return
    kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") is True else "WorkflowTemplate"
    manifest = ctx.fetch(kind, ref_name)
    if manifest is None:
        where = "" if kind == "ClusterWorkflowTemplate" else f" in namespace {ctx.namespace!r}"
        ctx.add(path, f"{kind} {ref_name!r} not found{where}; create it with {CREATE_HINT[kind]}")
        return
    available = ctx.templates_of(manifest)
    if template not in available:
        ctx.add(
            f"{path}.template",
            f"{kind} {ref_name!r} has no template {template!r} (it has: {names_list(available)})",
        )


def _check_loops(ctx: LintContext, holder: dict[str, Any], path: str, label: str) -> None:
    used = [f for f in LOOP_FIELDS if holder.get(f) not in (None, "", [])]
    if len(used) > 1:
        ctx.add(
            path,
            f"{label} sets {' and '.join(used)}; a step or task can loop over only one of them",
        )
    size, limit = literal_loop_size(holder), ctx.limits.max_loop_items
    if size is not None and size > limit:
        what = next(f for f in LOOP_FIELDS if holder.get(f) not in (None, ""))
        ctx.add(
            f"{path}.{what}",
            f"the {what} of {label} makes {size:,} items; conveyor expands at most {limit:,} "
            "per loop (CONVEYOR_MAX_LOOP_ITEMS), so split the work or loop over batches",
        )
    seq = holder.get("withSequence")
    if not isinstance(seq, dict):
        return
    if seq.get("count") is not None and seq.get("end") is not None:
        ctx.add(
            f"{path}.withSequence",
            f"the withSequence of {label} sets both `count` and `end`; use one of them",
        )
    count = int_or_none(seq.get("count"))
    if count is not None and count < 0:
        ctx.add(
            f"{path}.withSequence.count",
            f"the withSequence of {label} has count {count}; it must be 0 or more",
        )


def _check_steps(ctx: LintContext, tmpl: dict[str, Any], path: str, name: str) -> None:
    seen: set[str] = set()
    groups = as_list(tmpl.get("steps"))
    for gi, group in enumerate(groups):
        steps = as_list(group)
        keys = item_keys(steps)
        for si, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            spath = f"{path}.steps[{gi}][{keys[si]}]"
            step_name = step.get("name")
            if not isinstance(step_name, str) or not step_name:
                ctx.add(spath, f"a step of template {name!r} has no `name`; every step needs one")
                continue
            if step_name in seen:
                ctx.add(
                    f"{spath}.name",
                    f"step name {step_name!r} appears twice in template {name!r}; step names must be unique",
                )
            seen.add(step_name)
            message = field_name_problem("step", step_name)
            if message:
                ctx.add(f"{spath}.name", message)


def _check_fields(
    ctx: LintContext, tmpl: dict[str, Any], path: str, name: str, ttype: str | None
) -> None:
    if ttype is None:
        return
    leaf = ttype in LEAF_TYPES
    timeout = tmpl.get("timeout")
    if timeout is not None and not leaf:
        ctx.add(
            f"{path}.timeout",
            f"template {name!r} is a {ttype} template; `timeout` only applies to templates that run a container",
        )
    elif isinstance(timeout, str) and timeout.strip().isdigit():
        ctx.add(
            f"{path}.timeout",
            f"timeout {timeout!r} has no unit; write a duration such as '{timeout}s'",
        )
    if tmpl.get("activeDeadlineSeconds") is not None and ttype in ("dag", "steps"):
        ctx.add(
            f"{path}.activeDeadlineSeconds",
            f"template {name!r} is a {ttype} template; activeDeadlineSeconds only applies to templates that run a container",
        )
    if tmpl.get("parallelism") is not None and ttype not in ("dag", "steps"):
        ctx.add(
            f"{path}.parallelism",
            f"template {name!r} is a {ttype} template; `parallelism` only applies to dag and steps templates",
        )
    policy = as_dict(tmpl.get("retryStrategy")).get("retryPolicy")
    if isinstance(policy, str) and policy and policy not in _RETRY_POLICIES:
        ctx.add(
            f"{path}.retryStrategy.retryPolicy",
            f"retryPolicy {policy!r} is not known; use one of {', '.join(_RETRY_POLICIES)}",
        )
    for field in ("container", "script"):
        body = tmpl.get(field)
        if (
            isinstance(body, dict)
            and not body.get("image")
            and not as_dict(ctx.defaults.get(field)).get("image")
        ):
            ctx.add(
                f"{path}.{field}.image",
                f"template {name!r} has no {field} image; set `image` (e.g. image: python:3.12)",
            )
    if ttype == "containerSet":
        _check_container_set(ctx, tmpl, path, name)


def _check_container_set(ctx: LintContext, tmpl: dict[str, Any], path: str, name: str) -> None:
    containers = as_list(as_dict(tmpl.get("containerSet")).get("containers"))
    keys = item_keys(containers)
    names = [as_str(as_dict(c).get("name")) for c in containers]
    known = set(names)
    seen: set[str] = set()
    for i, container in enumerate(containers):
        cpath = f"{path}.containerSet.containers[{keys[i]}]"
        if not isinstance(container, dict):
            continue
        if names[i] in seen:
            ctx.add(
                f"{cpath}.name", f"container name {names[i]!r} appears twice in template {name!r}"
            )
        seen.add(names[i])
        if not container.get("image"):
            ctx.add(
                f"{cpath}.image",
                f"container {names[i] or i!r} of template {name!r} has no image; set `image`",
            )
        for j, dep in enumerate(as_list(container.get("dependencies"))):
            if isinstance(dep, str) and dep not in known:
                ctx.add(
                    f"{cpath}.dependencies[{j}]",
                    f"container {names[i]!r} depends on {dep!r}, which is not a container of template {name!r}",
                )
    io = as_dict(tmpl.get("outputs"))
    if (
        as_list(as_dict(tmpl.get("inputs")).get("artifacts"))
        or as_list(io.get("parameters"))
        or as_list(io.get("artifacts"))
    ) and "main" not in known:
        ctx.add(
            f"{path}.containerSet.containers",
            f"template {name!r} has input artifacts or outputs, so one of its containers must be named 'main'",
        )
