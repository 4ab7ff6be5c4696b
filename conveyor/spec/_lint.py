"""lint(): every problem in a manifest, none raised.

Mirrors what `argo lint` rejects (https://argo-workflows.readthedocs.io/en/latest/cli/argo_lint/),
plus the templates conveyor cannot run. Structural validation with Hera's
models runs once over the whole manifest; the semantic checks then walk it
once, tolerating any shape, so a broken manifest yields all its problems.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

from conveyor.errors import ManifestError, Problem
from conveyor.spec._containers import check_volume_names
from conveyor.spec._context import LintContext, names_list
from conveyor.spec._expansion import check_expansion
from conveyor.spec._limits import DEFAULT_LIMITS, ExpansionLimits
from conveyor.spec._lookup import CREATE_HINT, DEFAULT_NAMESPACE, TemplateLookup
from conveyor.spec._names import (
    MAX_CRON_NAME,
    MAX_OBJECT_NAME,
    annotations_size_problem,
    generate_name_problem,
    label_key_problem,
    label_value_problem,
    namespace_problem,
    object_name_problem,
)
from conveyor.spec._normalize import normalize
from conveyor.spec._numbers import number_problems
from conveyor.spec._params import check_arguments, check_supplied
from conveyor.spec._shape import as_dict, as_list, as_str, is_templated
from conveyor.spec._structure import structural_problems
from conveyor.spec._templates import check_holder_target, check_templates

__all__ = ["lint", "lint_normalized", "API_VERSION", "KINDS"]

API_VERSION = "argoproj.io/v1alpha1"
KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
_POD_GC = ("OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")
_CONCURRENCY = ("Allow", "Forbid", "Replace")
#: past this many problems in labels and annotations, the rest are not listed
_MAX_NAME_PROBLEMS = 50
_CRON_DESCRIPTORS = (
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
)
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-]+$")


def lint(manifest: dict[str, Any], *, templates: TemplateLookup | None = None) -> list[Problem]:
    """Every problem found in `manifest` (v3 or v4 spelling); [] when it is fine to run."""
    if not isinstance(manifest, dict):
        return [Problem("", f"the manifest is a {type(manifest).__name__}, not a mapping")]
    try:
        doc = normalize(manifest)
    except ManifestError as exc:
        return list(exc.problems)
    except Exception as exc:  # noqa: BLE001 - lint must never raise
        return [_internal("normalizing the manifest", exc)]
    return lint_normalized(doc, templates)


def lint_normalized(
    doc: dict[str, Any], templates: TemplateLookup | None, limits: ExpansionLimits = DEFAULT_LIMITS
) -> list[Problem]:
    """lint() for a manifest normalize() has already returned (saves a copy on submit)."""
    problems: list[Problem] = []
    _guarded(problems, "the manifest's numbers", lambda: problems.extend(number_problems(doc)))
    # A bad number is named once: the model's "expected a string, got NaN" at its place adds nothing.
    named = {p.path for p in problems}
    _guarded(
        problems,
        "the manifest's structure",
        lambda: problems.extend(p for p in structural_problems(doc) if p.path not in named),
    )
    _guarded(problems, "the manifest", lambda: _check_manifest(problems, doc, templates, limits))
    return problems


def _internal(what: str, exc: Exception) -> Problem:
    return Problem(
        "",
        f"internal error in conveyor's linter while checking {what} ({type(exc).__name__}: {exc}); "
        "the manifest may be fine, please report this",
    )


def _guarded(problems: list[Problem], what: str, check: Callable[[], None]) -> None:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - one failing check must not hide the others
        problems.append(_internal(what, exc))


def _check_manifest(
    problems: list[Problem],
    doc: dict[str, Any],
    lookup: TemplateLookup | None,
    limits: ExpansionLimits,
) -> None:
    api_version = doc.get("apiVersion")
    if api_version != API_VERSION:
        found = "missing" if api_version is None else repr(api_version)
        problems.append(
            Problem("apiVersion", f"apiVersion is {found}; Argo manifests use {API_VERSION!r}")
        )
    kind = doc.get("kind")
    if kind not in KINDS:
        found = "missing" if kind is None else f"{kind!r}, which conveyor does not run"
        problems.append(Problem("kind", f"kind is {found}; use one of {', '.join(KINDS)}"))
        return
    metadata = as_dict(doc.get("metadata"))
    _check_metadata(problems, kind, metadata)
    namespace = as_str(metadata.get("namespace")) or DEFAULT_NAMESPACE
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return  # structural validation has said so
    if kind == "CronWorkflow":
        _check_cron(problems, spec)
        _check_labels(problems, as_dict(spec.get("workflowMetadata")), "spec.workflowMetadata")
        workflow_spec = spec.get("workflowSpec")
        if isinstance(workflow_spec, dict):
            _check_spec(
                LintContext(problems, lookup, namespace, "Workflow", limits=limits),
                workflow_spec,
                "spec.workflowSpec",
            )
    else:
        _check_spec(LintContext(problems, lookup, namespace, kind, limits=limits), spec, "spec")


def _check_metadata(problems: list[Problem], kind: str, metadata: dict[str, Any]) -> None:
    name, generate = metadata.get("name"), metadata.get("generateName")
    if kind == "Workflow" and not name and not generate:
        problems.append(
            Problem(
                "metadata",
                "a Workflow needs metadata.name or metadata.generateName (e.g. generateName: my-workflow-)",
            )
        )
    elif kind != "Workflow" and not name:
        problems.append(
            Problem(
                "metadata.name",
                f"a {kind} needs metadata.name; other manifests refer to it by that name",
            )
        )
    if isinstance(name, str) and name:
        message = object_name_problem(
            name, MAX_CRON_NAME if kind == "CronWorkflow" else MAX_OBJECT_NAME
        )
        if message:
            problems.append(Problem("metadata.name", message))
    if isinstance(generate, str) and generate:
        message = generate_name_problem(generate)
        if message:
            problems.append(Problem("metadata.generateName", message))
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and namespace:
        message = namespace_problem(namespace)
        if message:
            problems.append(Problem("metadata.namespace", message))
    _check_labels(problems, metadata, "metadata")


def _check_labels(problems: list[Problem], metadata: dict[str, Any], path: str) -> None:
    """Label and annotation syntax, which Kubernetes (so Argo) enforces; wrong types are
    structural validation's to report."""
    found = 0
    for field, what in (("labels", "label"), ("annotations", "annotation")):
        entries = as_dict(metadata.get(field))
        for key, value in entries.items():
            message = label_key_problem(what, key)
            if message is None and field == "labels" and isinstance(value, str):
                message = label_value_problem(key, value)
            if message:
                found += 1
                if found > _MAX_NAME_PROBLEMS:
                    return
                problems.append(Problem(f"{path}.{field}", message))
        message = annotations_size_problem(entries) if field == "annotations" else None
        if message:
            problems.append(Problem(f"{path}.{field}", message))


def _check_spec(ctx: LintContext, spec: dict[str, Any], path: str) -> None:
    templates = as_list(spec.get("templates"))
    for tmpl in templates:
        name = as_dict(tmpl).get("name")
        if isinstance(name, str) and name and name not in ctx.templates:
            ctx.templates[name] = tmpl
    ctx.defaults = as_dict(spec.get("templateDefaults"))
    check_volume_names(ctx, spec.get("volumes"), f"{path}.volumes")
    ref_spec = _check_workflow_template_ref(ctx, spec, path, bool(templates))
    uses_ref = spec.get("workflowTemplateRef") is not None
    entrypoint = spec.get("entrypoint")
    if not entrypoint:
        if ctx.kind == "Workflow" and not uses_ref:
            ctx.add(
                f"{path}.entrypoint",
                f"entrypoint is missing; name the template the workflow starts with (templates: {names_list(ctx.templates)})",
            )
        elif ref_spec is not None and not ref_spec.get("entrypoint"):
            ctx.add(
                f"{path}.entrypoint",
                "neither this workflow nor its workflowTemplateRef sets an entrypoint; set one",
            )
    elif isinstance(entrypoint, str) and not is_templated(entrypoint):
        target = ctx.local_template(entrypoint)
        if target is None and not ctx.templates_unknowable:
            ctx.add(
                f"{path}.entrypoint",
                f"entrypoint {entrypoint!r} names no template of this manifest (templates: "
                f"{names_list(ctx.template_names())}); fix the name or add the template",
            )
        elif target is not None and ctx.kind == "Workflow" and not uses_ref:
            check_supplied(
                ctx,
                target,
                spec.get("arguments"),
                f"{path}.arguments",
                "the workflow",
                hint=f"add it to {path}.arguments.parameters, or pass -p {_param_hint(target)}=VALUE when submitting",
            )
    on_exit = spec.get("onExit")
    if isinstance(on_exit, str) and on_exit and not is_templated(on_exit):
        if ctx.local_template(on_exit) is None and not ctx.templates_unknowable:
            ctx.add(
                f"{path}.onExit",
                f"onExit names template {on_exit!r}, which is not defined (templates: {names_list(ctx.template_names())})",
            )
    for hook_name, hook in as_dict(spec.get("hooks")).items():
        if not isinstance(hook, dict):
            continue
        hook_path = f"{path}.hooks.{hook_name}"
        if hook_name != "exit" and not as_str(hook.get("expression")):
            ctx.add(
                hook_path,
                f"workflow hook {hook_name!r} has no `expression`; every hook but `exit` needs one",
            )
        check_holder_target(ctx, hook, hook_path, f"workflow hook {hook_name!r}")
    check_arguments(ctx, spec.get("arguments"), f"{path}.arguments", allow_empty=True)
    strategy = as_dict(spec.get("podGC")).get("strategy")
    if isinstance(strategy, str) and strategy and strategy not in _POD_GC:
        ctx.add(
            f"{path}.podGC.strategy",
            f"podGC strategy {strategy!r} is not known; use one of {', '.join(_POD_GC)}",
        )
    check_templates(ctx, spec, path)
    check_expansion(ctx, spec, path)


def _param_hint(target: dict[str, Any]) -> str:
    for param in as_list(as_dict(target.get("inputs")).get("parameters")):
        param = as_dict(param)
        if not any(param.get(k) is not None for k in ("value", "default", "valueFrom")):
            return as_str(param.get("name")) or "NAME"
    return "NAME"


def _check_workflow_template_ref(
    ctx: LintContext, spec: dict[str, Any], path: str, has_templates: bool
) -> dict[str, Any] | None:
    """Check spec.workflowTemplateRef; return the referenced spec when it could be looked up."""
    ref = spec.get("workflowTemplateRef")
    if not isinstance(ref, dict):
        return None
    ref_path = f"{path}.workflowTemplateRef"
    if has_templates:
        ctx.add(
            f"{path}.templates",
            "a workflow that uses workflowTemplateRef cannot define templates of its own; Argo takes "
            "them all from the referenced template, so move these into it",
        )
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        ctx.add(f"{ref_path}.name", "workflowTemplateRef needs `name`: the WorkflowTemplate to run")
        ctx.templates_unknowable = True
        return None
    kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") is True else "WorkflowTemplate"
    if ctx.lookup is None or is_templated(name):
        ctx.templates_unknowable = True
        return None
    manifest = ctx.fetch(kind, name)
    if manifest is None:
        where = "" if kind == "ClusterWorkflowTemplate" else f" in namespace {ctx.namespace!r}"
        ctx.add(ref_path, f"{kind} {name!r} not found{where}; create it with {CREATE_HINT[kind]}")
        ctx.templates_unknowable = True
        return None
    ctx.ref_templates = ctx.templates_of(manifest)
    return as_dict(manifest.get("spec"))


def _check_cron(problems: list[Problem], spec: dict[str, Any]) -> None:
    schedules = spec.get("schedules")
    if isinstance(schedules, list) and not schedules:
        problems.append(
            Problem(
                "spec.schedules",
                "a CronWorkflow needs at least one schedule, e.g. schedules: ['0 2 * * *']",
            )
        )
    for i, schedule in enumerate(as_list(schedules)):
        if isinstance(schedule, str) and not _cron_looks_valid(schedule):
            problems.append(
                Problem(
                    f"spec.schedules[{i}]",
                    f"schedule {schedule!r} is not a cron expression: it needs 5 fields (minute hour "
                    "day-of-month month day-of-week), e.g. '0 2 * * *', or a descriptor such as '@daily'",
                )
            )
    timezone = spec.get("timezone")
    if (
        isinstance(timezone, str)
        and timezone
        and _known_timezones()
        and timezone not in _known_timezones()
    ):
        problems.append(
            Problem(
                "spec.timezone",
                f"timezone {timezone!r} is not a known IANA time zone; use a name such as 'Europe/Paris' or 'UTC'",
            )
        )
    policy = spec.get("concurrencyPolicy")
    if isinstance(policy, str) and policy and policy not in _CONCURRENCY:
        problems.append(
            Problem(
                "spec.concurrencyPolicy",
                f"concurrencyPolicy {policy!r} is not known; use one of {', '.join(_CONCURRENCY)}",
            )
        )
    deadline = spec.get("startingDeadlineSeconds")
    if isinstance(deadline, int) and not isinstance(deadline, bool) and deadline < 0:
        problems.append(
            Problem(
                "spec.startingDeadlineSeconds",
                f"startingDeadlineSeconds is {deadline}; it must be 0 or more",
            )
        )


def _cron_looks_valid(schedule: str) -> bool:
    fields = schedule.split()
    if fields and "=" in fields[0] and fields[0].split("=")[0] in ("TZ", "CRON_TZ"):
        fields = fields[1:]  # a per-schedule time zone prefix
    if len(fields) == 1 and fields[0] in _CRON_DESCRIPTORS:
        return True
    if len(fields) == 2 and fields[0] == "@every":
        return True
    return len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields)


@functools.lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    # Empty when the machine has no time zone database; then the check is skipped.
    try:
        zones = zoneinfo.available_timezones()
    except Exception:  # noqa: BLE001
        return frozenset()
    return frozenset(zones) | {"UTC", "Local"} if zones else frozenset()
