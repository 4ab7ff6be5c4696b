"""Gathering a node's `outputs` once it has ended.

Pods read parameters from files (`valueFrom.path`), steps and DAGs from their
children (`valueFrom.parameter`, `valueFrom.expression`, artifacts `from`).
https://argo-workflows.readthedocs.io/en/latest/walk-through/output-parameters/
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.engine.params import BindError, _str, resolve_artifact_ref, scope_outputs
from conveyor.errors import ConveyorError
from conveyor.expr import evaluate_in_scope, substitute

if TYPE_CHECKING:
    from conveyor.engine._ctl import Ctl
    from conveyor.engine.machine import Machine

__all__ = ["pod_outputs", "scope_outputs_of", "publish_globals", "succeed_with_outputs"]


def _expression(expr: str, scope: Mapping[str, Any]) -> Any:
    value = evaluate_in_scope(expr, scope)
    return value


def pod_outputs(
    tmpl: Mapping[str, Any], result: Mapping[str, Any], scope: Mapping[str, Any], succeeded: bool
) -> tuple[dict[str, Any], str]:
    """(outputs, error message or ""). Missing outputs only matter when the task succeeded."""
    outputs: dict[str, Any] = {}
    errors: list[str] = []
    if result.get("result") is not None:
        outputs["result"] = result["result"]
    if result.get("exitCode") is not None:
        outputs["exitCode"] = str(result["exitCode"])
    local = ChainMap(scope_outputs("outputs", outputs), dict(scope))
    spec = tmpl.get("outputs") or {}
    got = result.get("parameters") or {}
    params = []
    for p in spec.get("parameters") or []:
        name, vf = p["name"], p.get("valueFrom") or {}
        entry = {k: v for k, v in p.items() if k in ("name", "globalName", "description")}
        try:
            if "path" in vf:
                if name in got:
                    entry["value"] = got[name]
                elif vf.get("default") is not None:
                    entry["value"] = _str(vf["default"])
                elif succeeded:
                    errors.append(f"output parameter {name!r}: no file at {vf['path']}")
            elif "expression" in vf:
                entry["value"] = _str(_expression(vf["expression"], local))
            elif "parameter" in vf:
                entry["value"] = _str(substitute(vf["parameter"], local))
            elif p.get("value") is not None:
                entry["value"] = _str(substitute(p["value"], local))
            elif vf.get("default") is not None:
                entry["value"] = _str(vf["default"])
        except ConveyorError as exc:
            if vf.get("default") is not None:
                entry["value"] = _str(vf["default"])
            else:
                errors.append(f"output parameter {name!r}: {exc}")
        if "value" in entry or not succeeded:
            params.append(entry)
    if params:
        outputs["parameters"] = params
    arts_got = result.get("artifacts") or {}
    arts = []
    for a in spec.get("artifacts") or []:
        name = a["name"]
        if name in arts_got:
            record = {k: v for k, v in a.items() if k not in ("s3", "gcs", "oss", "azure", "raw")}
            record["local"] = dict(arts_got[name])
            arts.append(record)
        elif not a.get("optional") and succeeded:
            errors.append(f"output artifact {name!r}: nothing at {a.get('path')}")
    if arts:
        outputs["artifacts"] = arts
    return outputs, "; ".join(errors)


def scope_outputs_of(tmpl: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs of a steps or dag template, from its children's results in `scope`."""
    spec = tmpl.get("outputs") or {}
    outputs: dict[str, Any] = {}
    params = []
    for p in spec.get("parameters") or []:
        vf = p.get("valueFrom") or {}
        entry = {k: v for k, v in p.items() if k in ("name", "globalName", "description")}
        try:
            if "parameter" in vf:
                value = substitute(vf["parameter"], scope)
                if isinstance(value, str) and value.startswith("{{") and vf.get("default") is not None:
                    value = vf["default"]
                entry["value"] = _str(value)
            elif "expression" in vf:
                entry["value"] = _str(_expression(vf["expression"], scope))
            elif p.get("value") is not None:
                entry["value"] = _str(substitute(p["value"], scope))
            elif vf.get("default") is not None:
                entry["value"] = _str(vf["default"])
        except ConveyorError as exc:
            if vf.get("default") is None:
                raise BindError(f"output parameter {p['name']!r}: {exc}") from exc
            entry["value"] = _str(vf["default"])
        params.append(entry)
    if params:
        outputs["parameters"] = params
    arts = []
    for a in spec.get("artifacts") or []:
        ref = a.get("from")
        found = None
        if ref:
            found = resolve_artifact_ref(ref, scope)
        elif a.get("fromExpression"):
            value = _expression(a["fromExpression"], scope)
            found = value if isinstance(value, dict) else None
        if found is None:
            if a.get("optional"):
                continue
            raise BindError(f"output artifact {a['name']!r}: {ref or a.get('fromExpression')!r} resolved to nothing")
        record = {k: v for k, v in found.items() if k not in ("name", "globalName", "path", "from")}
        record.update({k: v for k, v in a.items() if k in ("name", "globalName", "path")})
        arts.append(record)
    if arts:
        outputs["artifacts"] = arts
    return outputs


def publish_globals(m: Machine, outputs: Mapping[str, Any]) -> None:
    for kind in ("parameters", "artifacts"):
        for entry in outputs.get(kind) or []:
            if entry.get("globalName"):
                m.add_global_output(kind, entry)


def succeed_with_outputs(ctl: Ctl) -> None:
    """End a steps or dag node that succeeded: gather its outputs (an Error if they
    cannot be), publish global ones, and finish."""
    try:
        outputs = scope_outputs_of(ctl.tmpl, ctl.scope)
    except ConveyorError as exc:
        ctl.finish("Error", str(exc))
        return
    if outputs:
        ctl.node.outputs = outputs
        publish_globals(ctl.m, outputs)
    ctl.finish("Succeeded")
