"""Structural validation with Hera's pydantic models of Argo's types.

Hera's models (`hera.workflows.models`) are generated from Argo's OpenAPI
spec, so they know every field's type; validating a manifest against them
once catches wrong types anywhere (`parallelism: "abc"`). Their errors are
translated into Problems with Argo's camelCase paths and plain messages.
Unknown fields are ignored by the models, as by Argo's non-strict decoding.

See https://argo-workflows.readthedocs.io/en/latest/fields/.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from hera.workflows import models

from conveyor.errors import Problem
from conveyor.spec._shape import path_of

__all__ = ["structural_problems", "MODELS"]

MODELS: dict[str, type[pydantic.BaseModel]] = {
    "Workflow": models.Workflow,
    "WorkflowTemplate": models.WorkflowTemplate,
    "ClusterWorkflowTemplate": models.ClusterWorkflowTemplate,
    "CronWorkflow": models.CronWorkflow,
}

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "string_sub_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "float_parsing": "a number",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "mapping_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def structural_problems(manifest: dict[str, Any]) -> list[Problem]:
    """Problems Hera's model for the manifest's kind finds; [] for unknown kinds."""
    model = MODELS.get(manifest.get("kind"))  # type: ignore[arg-type]
    if model is None:
        return []
    try:
        model.model_validate(manifest)
    except pydantic.ValidationError as exc:
        return _translate(manifest, exc.errors(include_url=False, include_context=True))
    return []


def _translate(manifest: dict[str, Any], errors: list[Any]) -> list[Problem]:
    # A value that matches no member of a union yields one error per member,
    # each with the member's name appended to its location; group them back.
    groups: dict[tuple[int | str, ...], list[Any]] = {}
    for error in errors:
        loc = _data_loc(manifest, error["loc"], error["type"] == "missing")
        groups.setdefault(loc, []).append(error)
    return [Problem(path_of(manifest, loc), _message(loc, group)) for loc, group in groups.items()]


def _data_loc(data: Any, loc: tuple[Any, ...], missing: bool) -> tuple[int | str, ...]:
    """Keep the parts of a pydantic location that index the data; drop union tags."""
    real: list[int | str] = []
    node = data
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            real.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            real.append(part)
            node = node[part]
        elif missing and i == last and isinstance(part, str):
            real.append(part)
    return tuple(real)


def _message(loc: tuple[int | str, ...], group: list[Any]) -> str:
    if any(e["type"] == "missing" for e in group):
        field = loc[-1] if loc else "field"
        return f"`{field}` is required but missing; add it"
    expected: list[str] = []
    others: list[str] = []
    for error in group:
        phrase = _EXPECTED.get(error["type"])
        if phrase is None:
            others.append(error["msg"][:1].lower() + error["msg"][1:])
        elif phrase not in expected:
            expected.append(phrase)
    got = _describe(group[0].get("input"))
    if expected:
        return f"expected {' or '.join(expected)}, got {got}"
    return f"{'; '.join(dict.fromkeys(others))} (got {got})"


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
