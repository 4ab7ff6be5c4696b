"""Turning a submitted manifest into a runnable Workflow object.

Shared by `conveyor run` and the server: validation, `-p` parameters, names
(`generateName` gets Argo's 5-character suffix), uid and timestamps, and the
resolved copy with workflowTemplateRef/templateRef merged in.
"""

from __future__ import annotations

import copy
import secrets
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from conveyor.errors import InvalidInput, ManifestError, Problem
from conveyor.expr import checked_expressions
from conveyor.spec import DEFAULT_LIMITS, ExpansionLimits, resolve_workflow, validate

__all__ = ["prepare_workflow", "parse_parameters", "as_workflow"]

_SUFFIX = string.ascii_lowercase + string.digits


def parse_parameters(pairs: list[str], what: str = "parameter") -> dict[str, str]:
    """["a=1", "b=x=y"] -> {"a": "1", "b": "x=y"}; every item needs a name and an `=`."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"{what} {pair!r} is not NAME=VALUE; write it as {pair.strip('=') or 'name'}=value")
        out[name.strip()] = value
    return out


def as_workflow(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A Workflow to run from a Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow."""
    kind = manifest.get("kind")
    if kind == "Workflow":
        return copy.deepcopy(dict(manifest))
    meta = manifest.get("metadata") or {}
    base = meta.get("name") or (meta.get("generateName") or "workflow-").rstrip("-")
    if kind in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
        spec = copy.deepcopy(manifest.get("spec") or {})
    elif kind == "CronWorkflow":
        cron = manifest.get("spec") or {}
        spec = copy.deepcopy(cron.get("workflowSpec") or {})
        meta = {**meta, **(cron.get("workflowMetadata") or {})}
    else:
        raise ManifestError([Problem("kind", f"cannot run a {kind!r}; give a Workflow, WorkflowTemplate or CronWorkflow")])
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "generateName": f"{base}-",
            **({"labels": dict(meta["labels"])} if meta.get("labels") else {}),
            **({"annotations": dict(meta["annotations"])} if meta.get("annotations") else {}),
        },
        "spec": spec,
    }


def prepare_workflow(
    manifest: Mapping[str, Any],
    *,
    templates: Any,
    namespace: str,
    parameters: Mapping[str, str] | None = None,
    entrypoint: str | None = None,
    now: datetime | None = None,
    source: str = "",
    limits: ExpansionLimits = DEFAULT_LIMITS,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the object to store, the resolved copy the engine runs); `limits` is usually the Settings."""
    wf = as_workflow(manifest)
    spec = wf.setdefault("spec", {})
    if entrypoint:
        spec["entrypoint"] = entrypoint
    if parameters:
        args = spec.setdefault("arguments", {})
        plist = args.setdefault("parameters", [])
        for name, value in parameters.items():
            for p in plist:
                if p.get("name") == name:
                    p["value"] = value
                    p.pop("valueFrom", None)
                    break
            else:
                plist.append({"name": name, "value": value})
    meta = wf.setdefault("metadata", {})
    meta["namespace"] = meta.get("namespace") or namespace
    wf = checked_expressions(validate(wf, templates=templates, source=source, limits=limits), source)
    meta = wf["metadata"]
    if not meta.get("name"):
        prefix = meta.get("generateName") or "workflow-"
        meta["name"] = prefix + "".join(secrets.choice(_SUFFIX) for _ in range(5))
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wf["status"] = {"phase": "Pending"}
    resolved = resolve_workflow(wf, templates)
    return wf, resolved
