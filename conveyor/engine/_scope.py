"""What steps and DAG tasks share: arguments, `when`, `continueOn`, exit hooks.

Conditionals: https://argo-workflows.readthedocs.io/en/latest/walk-through/conditionals/
Lifecycle hooks: https://argo-workflows.readthedocs.io/en/latest/lifecyclehook/
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.engine.params import Arguments, BindError, _str, resolve_artifact_ref
from conveyor.expr import evaluate_in_scope, evaluate_when, substitute

if TYPE_CHECKING:
    from conveyor.engine._ctl import Ctl
    from conveyor.engine.machine import Machine

__all__ = ["call_arguments", "skip_reason", "continues_on", "run_exit_hook", "skipped_outputs"]

# A reference to another step's or task's outputs that substitution could not
# resolve (the step was skipped or omitted, or produced no such output).
_UNRESOLVED = re.compile(r"\{\{\s*(steps|tasks)\.[^}]*\}\}")


def call_arguments(call: Mapping[str, Any], scope: Mapping[str, Any]) -> Arguments:
    spec = call.get("arguments") or {}
    params: dict[str, Any] = {}
    for p in spec.get("parameters") or []:
        if p.get("value") is not None:
            value = substitute(p["value"], scope)
        elif (p.get("valueFrom") or {}).get("expression"):
            value = evaluate_in_scope(p["valueFrom"]["expression"], scope)
        elif p.get("default") is not None:
            value = substitute(p["default"], scope)
        else:
            continue
        value = _str(value)
        if _UNRESOLVED.search(value):
            # Argo treats an output of a skipped or omitted node as not supplied,
            # so the called template's input default applies.
            continue
        params[p["name"]] = value
    artifacts: dict[str, Any] = {}
    for a in spec.get("artifacts") or []:
        if a.get("from"):
            found = resolve_artifact_ref(a["from"], scope)
            if found is None:
                if a.get("optional"):
                    continue
                raise BindError(f"artifact {a['name']!r}: {a['from']} resolved to nothing")
            artifacts[a["name"]] = {**found, "name": a["name"], **({"subPath": a["subPath"]} if a.get("subPath") else {})}
        elif a.get("fromExpression"):
            value = evaluate_in_scope(a["fromExpression"], scope)
            if not isinstance(value, dict):
                raise BindError(f"artifact {a['name']!r}: fromExpression gave no artifact")
            artifacts[a["name"]] = {**value, "name": a["name"]}
        else:
            artifacts[a["name"]] = substitute(dict(a), scope)
    return {"parameters": params, "artifacts": artifacts}


def skip_reason(call: Mapping[str, Any], scope: Mapping[str, Any]) -> str | None:
    """None when the step runs; otherwise the message of its Skipped node."""
    when = call.get("when")
    if when in (None, ""):
        return None
    text = _str(substitute(when, scope))
    if evaluate_when(text):
        return None
    return f"when '{text}' evaluated false"


def continues_on(call: Mapping[str, Any], phase: str) -> bool:
    cont = call.get("continueOn") or {}
    return bool((phase == "Failed" and cont.get("failed")) or (phase == "Error" and cont.get("error")))


def _exit_hook(call: Mapping[str, Any]) -> Mapping[str, Any] | None:
    hook = (call.get("hooks") or {}).get("exit")
    if hook and (hook.get("template") or hook.get("templateRef")):
        return hook
    if call.get("onExit"):
        return {"template": call["onExit"]}
    return None


def run_exit_hook(owner: Ctl, call: Mapping[str, Any], child: Ctl, scope: Mapping[str, Any]) -> bool:
    """Start the step's or task's exit hook, if it has one; True when started."""
    hook = _exit_hook(call)
    if hook is None or owner.m.halted(owner) is not None and owner.m.terminated:
        return False
    m = owner.m
    try:
        args = call_arguments(hook, scope)
    except Exception as exc:  # noqa: BLE001 - a hook's bad arguments fail only the hook
        node = m.new_node(f"{child.node.name}.onExit", f"{child.node.display_name}.onExit", "Pod", boundary_id=owner.node.id)
        node.phase, node.message, node.started_at, node.finished_at = "Error", str(exc), m.now, m.now
        child.node.add_child(node.id)
        return False
    hook_ctl = m.invoke(
        owner,
        name=f"{child.node.name}.onExit",
        display=f"{child.node.display_name}.onExit",
        call=hook,
        args=args,
        boundary=owner,
        depth=getattr(owner, "depth", 0) + 1,
        hook=True,
    )
    child.node.add_child(hook_ctl.node.id)
    return True


def skipped_outputs(m: Machine, call: Mapping[str, Any]) -> dict[str, Any] | None:
    """Outputs a skipped or omitted node still has: its parameters' defaults."""
    tmpl = call.get("inline") or m.templates.get(call.get("template") or "")
    if not tmpl:
        return None
    params = [
        {"name": p["name"], "value": _str(p["valueFrom"]["default"])}
        for p in (tmpl.get("outputs") or {}).get("parameters") or []
        if (p.get("valueFrom") or {}).get("default") is not None
    ]
    return {"parameters": params} if params else None
