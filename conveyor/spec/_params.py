"""Lint parameters and artifacts: names, arguments, inputs and outputs.

Follows what `argo lint` checks, see
https://argo-workflows.readthedocs.io/en/latest/workflow-concepts/#parameters
and https://argo-workflows.readthedocs.io/en/latest/walk-through/output-parameters/.
"""

from __future__ import annotations

import json
import re
from typing import Any

from conveyor.spec._context import LintContext, names_list
from conveyor.spec._names import param_name_problem
from conveyor.spec._shape import LEAF_TYPES, as_dict, as_list, as_str, is_templated, item_keys

__all__ = [
    "check_arguments",
    "check_io",
    "check_input_refs",
    "check_supplied",
    "param_names",
]

# Where an argument artifact may come from.
_ARTIFACT_SOURCES = (
    "from",
    "fromExpression",
    "key",
    "s3",
    "git",
    "http",
    "artifactory",
    "hdfs",
    "raw",
    "oss",
    "gcs",
    "azure",
    "plugin",
)
_ARG_VALUE_FROM = ("configMapKeyRef", "supplied", "event")
_OUTPUT_VALUE_FROM = ("path", "jqFilter", "jsonPath", "parameter", "expression", "supplied")
_BRACES = re.compile(r"\{\{(.*?)\}\}", re.S)
# `inputs.parameters.x` or `inputs.parameters['x']`; quotes may be JSON-escaped.
_INPUT_REF = re.compile(
    r"(?<![\w.\-])inputs\.parameters(?:\.([-A-Za-z0-9_]+)|\[\s*\\?['\"]([^'\"\\]+)\\?['\"]\s*\])"
)


def param_names(items: Any) -> set[str]:
    return {as_str(as_dict(p).get("name")) for p in as_list(items)} - {""}


def _check_names(ctx: LintContext, items: list[Any], path: str, what: str) -> list[str]:
    """Check names are present, valid and unique; return the items' path keys."""
    if not items:
        return []
    seen: set[str] = set()
    keys = item_keys(items)
    for i, item in enumerate(items):
        name = as_dict(item).get("name")
        if not isinstance(name, str):
            continue  # missing or mistyped: structural validation reports it
        if name in seen:
            ctx.add(
                f"{path}[{keys[i]}].name",
                f"{what} {name!r} is declared twice; names must be unique",
            )
        seen.add(name)
        message = param_name_problem(what, name)
        if message:
            ctx.add(f"{path}[{keys[i]}].name", message)
    return keys


def check_arguments(ctx: LintContext, args: Any, path: str, *, allow_empty: bool) -> None:
    """Arguments given to a workflow (allow_empty: values may come at submit) or a step."""
    if not args:
        return
    args = as_dict(args)
    params = as_list(args.get("parameters"))
    keys = _check_names(ctx, params, f"{path}.parameters", "parameter")
    for i, param in enumerate(params):
        if not isinstance(param, dict):
            continue
        ppath = f"{path}.parameters[{keys[i]}]"
        name = as_str(param.get("name")) or f"#{i}"
        value, value_from = param.get("value"), param.get("valueFrom")
        if value is None and value_from is None and not allow_empty:
            ctx.add(ppath, f"parameter {name!r} has no value; give it a `value` (or `valueFrom`)")
        if isinstance(value_from, dict):
            if not any(value_from.get(k) is not None for k in _ARG_VALUE_FROM) or any(
                value_from.get(k) for k in ("path", "jsonPath", "parameter", "expression")
            ):
                ctx.add(
                    f"{ppath}.valueFrom",
                    f"argument {name!r}: valueFrom here may only use configMapKeyRef, supplied "
                    "or event (with an optional default); to pass another node's output, use "
                    '`value: "{{steps.X.outputs.parameters.Y}}"`',
                )
        enum = param.get("enum")
        if isinstance(enum, list):
            if not enum:
                ctx.add(
                    f"{ppath}.enum",
                    f"parameter {name!r} has an empty enum; list at least one allowed value",
                )
            elif isinstance(value, str) and not is_templated(value) and value not in enum:
                ctx.add(
                    f"{ppath}.value",
                    f"parameter {name!r} is {value!r}, which is not one of its enum values "
                    f"({', '.join(repr(v) for v in enum[:10])})",
                )
    artifacts = as_list(args.get("artifacts"))
    keys = _check_names(ctx, artifacts, f"{path}.artifacts", "artifact")
    for i, art in enumerate(artifacts):
        if isinstance(art, dict) and not any(art.get(k) for k in _ARTIFACT_SOURCES):
            ctx.add(
                f"{path}.artifacts[{keys[i]}]",
                f"artifact {as_str(art.get('name')) or i!r} says nowhere to get it from: set `from` "
                "(another node's output), `raw`, or a location such as `s3`, `http` or `git`",
            )


def check_io(ctx: LintContext, tmpl: dict[str, Any], path: str, ttype: str | None) -> None:
    """A template's declared inputs and outputs."""
    name = as_str(tmpl.get("name")) or "(inline)"
    leaf = ttype in LEAF_TYPES
    for side in ("inputs", "outputs"):
        section = as_dict(tmpl.get(side))
        _check_names(
            ctx, as_list(section.get("parameters")), f"{path}.{side}.parameters", "parameter"
        )
        arts = as_list(section.get("artifacts"))
        keys = _check_names(ctx, arts, f"{path}.{side}.artifacts", "artifact")
        for i, art in enumerate(arts):
            if ttype and not leaf and as_dict(art).get("path"):
                ctx.add(
                    f"{path}.{side}.artifacts[{keys[i]}].path",
                    f"template {name!r} is a {ttype} template; an artifact `path` only means "
                    "something in container, script and containerSet templates",
                )
    outputs = as_list(as_dict(tmpl.get("outputs")).get("parameters"))
    keys = item_keys(outputs)
    for i, param in enumerate(outputs):
        if isinstance(param, dict):
            _check_output(ctx, param, f"{path}.outputs.parameters[{keys[i]}]", name, ttype)


def _check_output(
    ctx: LintContext, param: dict[str, Any], path: str, tname: str, ttype: str | None
) -> None:
    pname = as_str(param.get("name")) or "?"
    value_from = param.get("valueFrom")
    if param.get("value") is not None:
        if value_from is not None:
            ctx.add(path, f"output parameter {pname!r} sets both `value` and `valueFrom`; keep one")
        return
    if not isinstance(value_from, dict):
        ctx.add(
            path,
            f"output parameter {pname!r} has neither `value` nor `valueFrom`; say where its value comes from",
        )
        return
    kinds = [k for k in _OUTPUT_VALUE_FROM if value_from.get(k) not in (None, "")]
    if len(kinds) != 1:
        found = f"sets {', '.join(kinds)}" if kinds else "sets none of them"
        ctx.add(
            f"{path}.valueFrom",
            f"output parameter {pname!r}: valueFrom needs exactly one of path, jqFilter, jsonPath, "
            f"parameter, expression or supplied, but {found}",
        )
        return
    if ttype in ("container", "script", "containerSet") and kinds != ["path"]:
        ctx.add(
            f"{path}.valueFrom",
            f"output parameter {pname!r} of {ttype} template {tname!r} must read a file: use valueFrom.path",
        )
    elif ttype in ("dag", "steps") and kinds[0] not in ("parameter", "expression"):
        ctx.add(
            f"{path}.valueFrom",
            f"output parameter {pname!r} of {ttype} template {tname!r} must use valueFrom.parameter "
            'or valueFrom.expression (e.g. parameter: "{{tasks.A.outputs.parameters.x}}")',
        )


def check_input_refs(ctx: LintContext, tmpl: dict[str, Any], path: str, extra: set[str]) -> None:
    """`{{inputs.parameters.X}}` inside a template must name one of its inputs."""
    # One JSON dump and a regex: much faster than visiting every string of a large template.
    text = json.dumps(tmpl, default=str)
    if "inputs.parameters" not in text:
        return
    declared = param_names(as_dict(tmpl.get("inputs")).get("parameters")) | extra
    missing: list[str] = []
    for span in _BRACES.finditer(text):
        for ref in _INPUT_REF.finditer(span.group(1)):
            name = ref.group(1) or ref.group(2)
            if name not in declared and name not in missing:
                missing.append(name)
    tname = as_str(tmpl.get("name")) or "(inline)"
    for name in missing:
        where = _find_ref(tmpl, name)
        ctx.add(
            path + where,
            f"template {tname!r} uses {{{{inputs.parameters.{name}}}}}, but it declares no input "
            f"parameter {name!r} (declared: {names_list(declared)}); add it under inputs.parameters",
        )


def _find_ref(tmpl: dict[str, Any], name: str) -> str:
    """The sub-path of the first string mentioning inputs.parameters.NAME (rarely needed)."""
    needles = (
        f"inputs.parameters.{name}",
        f"inputs.parameters['{name}']",
        f'inputs.parameters["{name}"]',
    )
    pending: list[tuple[Any, str]] = [(tmpl, "")]
    while pending:
        node, where = pending.pop()
        if isinstance(node, str):
            if any(n in node for n in needles):
                return where
        elif isinstance(node, dict):
            pending.extend((v, f"{where}.{k}") for k, v in reversed(node.items()))
        elif isinstance(node, list):
            keys = item_keys(node)
            pending.extend((v, f"{where}[{keys[i]}]") for i, v in reversed(list(enumerate(node))))
    return ""


def check_supplied(
    ctx: LintContext,
    target: dict[str, Any],
    args: Any,
    path: str,
    who: str,
    hint: str = "add it under arguments.parameters, or give the input a default",
) -> None:
    """Every input of `target` without a value or default must be passed in `args`."""
    given = param_names(as_dict(args).get("parameters"))
    tname = as_str(target.get("name")) or "(inline)"
    for param in as_list(as_dict(target.get("inputs")).get("parameters")):
        if not isinstance(param, dict):
            continue
        name = as_str(param.get("name"))
        if not name or name in given:
            continue
        if any(param.get(k) is not None for k in ("value", "default", "valueFrom")):
            continue
        ctx.add(
            path,
            f"{who} does not pass parameter {name!r}, which template {tname!r} needs (it has no "
            f"default); {hint}",
        )
