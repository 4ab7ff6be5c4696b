"""Binding a template's inputs and gathering its outputs.

Inputs: https://argo-workflows.readthedocs.io/en/latest/walk-through/parameters/
Outputs and aggregation of loop outputs:
https://argo-workflows.readthedocs.io/en/latest/walk-through/output-parameters/
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conveyor.engine.nodes import Node
from conveyor.errors import ConveyorError
from conveyor.expr import evaluate_in_scope, substitute

__all__ = [
    "BindError",
    "Arguments",
    "bind_inputs",
    "input_scope",
    "node_scope",
    "loop_scope",
    "resolve_artifact_ref",
    "scope_outputs",
    "artifact_location",
]

#: {"parameters": {name: value}, "artifacts": {name: record}} after substitution
Arguments = dict[str, dict[str, Any]]

# Fields of an Argo artifact that say where it lives; a "key-only" location
# (only `key`, or `blob` for Azure) means "in the default artifact repository".
_LOCATIONS = ("s3", "gcs", "oss", "azure", "artifactory", "hdfs", "http", "git", "raw", "local", "plugin")


class BindError(ConveyorError):
    """A template's inputs or outputs could not be bound; the node ends in Error."""


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def artifact_location(art: Mapping[str, Any]) -> dict[str, Any] | None:
    """The storage part of an artifact record: {"key": ..} for the local repository,
    {"raw": data}, or None when it names no location."""
    if "raw" in art and isinstance(art["raw"], Mapping):
        return {"raw": _str(art["raw"].get("data", ""))}
    if isinstance(art.get("local"), Mapping) and art["local"].get("key"):
        return {"key": art["local"]["key"]}
    for loc in ("s3", "gcs", "oss"):
        spec = art.get(loc)
        if isinstance(spec, Mapping) and spec.get("key") and not spec.get("bucket"):
            # "parts/" names the folder "parts" in the repository.
            return {"key": str(spec["key"]).rstrip("/")}
    azure = art.get("azure")
    if isinstance(azure, Mapping) and azure.get("blob") and not azure.get("container"):
        return {"key": azure["blob"]}
    for loc in _LOCATIONS:
        if art.get(loc) is not None:
            raise BindError(
                f"artifact {art.get('name')!r} uses a `{loc}` location, which conveyor cannot reach "
                "locally; use a key-only artifact (stored in the local artifact repository) or `raw`"
            )
    return None


def bind_inputs(tmpl: Mapping[str, Any], args: Arguments, scope: Mapping[str, Any]) -> dict[str, Any]:
    """Argo's `inputs` for a node: parameter values and artifact records, in template order."""
    spec = tmpl.get("inputs") or {}
    arg_params = args.get("parameters", {})
    out_params = []
    for p in spec.get("parameters") or []:
        name = p["name"]
        if name in arg_params:
            value: Any = arg_params[name]
        elif p.get("value") is not None:
            value = substitute(p["value"], scope)
        elif p.get("default") is not None:
            value = substitute(p["default"], scope)
        elif (p.get("valueFrom") or {}).get("default") is not None:
            value = substitute(p["valueFrom"]["default"], scope)
        else:
            raise BindError(f"inputs.parameters.{name} was not supplied")
        value = _str(value)
        enum = p.get("enum")
        if enum and value not in [_str(e) for e in enum]:
            raise BindError(
                f"inputs.parameters.{name}: value {value!r} is not one of the allowed values {enum}"
            )
        entry = {"name": name, "value": value}
        if enum:
            entry["enum"] = enum
        if p.get("description"):
            entry["description"] = p["description"]
        out_params.append(entry)
    arg_arts = args.get("artifacts", {})
    out_arts = []
    for a in spec.get("artifacts") or []:
        name = a["name"]
        given = arg_arts.get(name)
        loc = artifact_location(given) if given else None
        if loc is None:
            loc = artifact_location(substitute(dict(a), scope))
        if loc is None:
            if a.get("optional"):
                continue
            raise BindError(f"inputs.artifacts.{name} was not supplied")
        record = {k: v for k, v in a.items() if k not in _LOCATIONS and k != "from"}
        if given and given.get("subPath") and "subPath" not in record:
            record["subPath"] = given["subPath"]
        if "raw" in loc:
            record["raw"] = {"data": loc["raw"]}
        else:
            record["local"] = {"key": loc["key"]}
            if given and given.get("archive") is not None and "archive" not in record:
                record["_stored_archive"] = given["archive"]
        out_arts.append(record)
    inputs: dict[str, Any] = {}
    if out_params:
        inputs["parameters"] = out_params
    if out_arts:
        inputs["artifacts"] = out_arts
    return inputs


def input_scope(inputs: Mapping[str, Any]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    params = inputs.get("parameters") or []
    for p in params:
        scope[f"inputs.parameters.{p['name']}"] = p["value"]
    if params:
        scope["inputs.parameters"] = json.dumps(params, separators=(",", ":"))
    for a in inputs.get("artifacts") or []:
        scope[f"inputs.artifacts.{a['name']}"] = a
        if a.get("path"):
            scope[f"inputs.artifacts.{a['name']}.path"] = a["path"]
    return scope


def node_scope(prefix: str, node: Node) -> dict[str, Any]:
    """`steps.X.*` / `tasks.X.*` variables of a finished (non-loop) step or task."""
    from conveyor.engine._ids import rfc3339

    scope: dict[str, Any] = {
        f"{prefix}.id": node.id,
        f"{prefix}.status": node.phase,
        f"{prefix}.startedAt": rfc3339(node.started_at) or "",
        f"{prefix}.finishedAt": rfc3339(node.finished_at) or "",
    }
    outputs = node.outputs or {}
    scope.update(scope_outputs(prefix + ".outputs", outputs))
    if "exitCode" in outputs:
        scope[f"{prefix}.exitCode"] = outputs["exitCode"]
    return scope


def scope_outputs(prefix: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    if outputs.get("result") is not None:
        scope[f"{prefix}.result"] = outputs["result"]
    params = outputs.get("parameters") or []
    for p in params:
        if p.get("value") is not None:
            scope[f"{prefix}.parameters.{p['name']}"] = p["value"]
    if params:
        scope[f"{prefix}.parameters"] = json.dumps(
            {p["name"]: p.get("value") for p in params}, separators=(",", ":")
        )
    for a in outputs.get("artifacts") or []:
        scope[f"{prefix}.artifacts.{a['name']}"] = a
    return scope


def loop_scope(prefix: str, group: Node, items: list[Node]) -> dict[str, Any]:
    """Aggregated outputs of a loop: JSON lists, as Argo's parameter aggregation gives them."""
    scope: dict[str, Any] = {
        f"{prefix}.id": group.id,
        f"{prefix}.status": group.phase,
    }
    results: list[Any] = []
    param_maps: list[dict[str, Any]] = []
    by_name: dict[str, list[Any]] = {}
    for node in items:
        outputs = node.outputs or {}
        if outputs.get("result") is not None:
            results.append(_json_or_text(outputs["result"]))
        params = outputs.get("parameters") or []
        if params:
            param_maps.append({p["name"]: p.get("value") for p in params})
            for p in params:
                by_name.setdefault(p["name"], []).append(p.get("value"))
    if results:
        scope[f"{prefix}.outputs.result"] = json.dumps(results, separators=(",", ":"))
    if param_maps:
        scope[f"{prefix}.outputs.parameters"] = json.dumps(param_maps, separators=(",", ":"))
    for name, values in by_name.items():
        scope[f"{prefix}.outputs.parameters.{name}"] = json.dumps(values, separators=(",", ":"))
    return scope


def _json_or_text(text: str) -> Any:
    # Argo keeps a loop item's result as an object when it is a JSON object, else as text.
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def resolve_artifact_ref(ref: str, scope: Mapping[str, Any]) -> dict[str, Any] | None:
    """`from: "{{steps.x.outputs.artifacts.y}}"` -> the artifact record, or None."""
    text = ref.strip()
    if text.startswith("{{") and text.endswith("}}"):
        inner = text[2:-2].strip()
        if inner.startswith("="):
            value = evaluate_in_scope(inner[1:], scope)
            return value if isinstance(value, dict) else None
        value = scope.get(inner)
        return value if isinstance(value, dict) else None
    return None
