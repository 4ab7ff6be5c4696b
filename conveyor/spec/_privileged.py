"""Containers that ask for more than an ordinary container: refused at submit unless allowed.

A `securityContext` with `privileged: true` or `capabilities.add` gives a container
much of the host. conveyor runs such a container only when the operator set
CONVEYOR_ALLOW_PRIVILEGED=true; validation with the Settings as its limits (submit,
`conveyor run`) refuses the manifest otherwise, naming each container, and the
container executors refuse it again when it starts (a template reached only at run
time). Plain lint, which knows no operator, does not check it.
https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.spec._context import LintContext
from conveyor.spec._shape import as_dict, template_containers

__all__ = ["ALLOW_SETTING", "asked_privileges", "check_privileges", "privilege_refusal"]

ALLOW_SETTING = "CONVEYOR_ALLOW_PRIVILEGED"


def asked_privileges(security_context: Mapping[str, Any]) -> list[str]:
    """What of `privileged: true` and `capabilities.add` a securityContext asks for, as text."""
    asks = []
    privileged = security_context.get("privileged")
    if privileged is True or (isinstance(privileged, str) and privileged.strip().lower() == "true"):
        asks.append("privileged: true")
    added = as_dict(security_context.get("capabilities")).get("add")
    if added:
        asks.append(f"capabilities.add {added!r}")
    return asks


def privilege_refusal(asks: list[str]) -> str:
    return (f"it asks for {' and '.join(asks)} in its securityContext, and conveyor runs containers without "
            f"extra privileges unless the operator allows them: remove it from the manifest, or set "
            f"{ALLOW_SETTING}=true where the server (or `conveyor run`) runs")


def check_privileges(ctx: LintContext, tmpl: dict[str, Any], path: str) -> None:
    if getattr(ctx.limits, "allow_privileged", True):  # allowed, or no operator's settings to go by
        return
    for container, cpath, name in template_containers(tmpl, path):
        asks = asked_privileges(as_dict(container.get("securityContext")))
        if asks:
            ctx.add(f"{cpath}.securityContext", f'container "{name}": {privilege_refusal(asks)}')
