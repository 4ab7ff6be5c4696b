"""What a container may do beyond an ordinary one: only what its securityContext asks and the
operator allows.

Containers run without extra privileges: no `--privileged`, no added capabilities, no
host network, PID or IPC namespace, and no host folder but the task's own scratch space.
A container whose `securityContext` asks for `privileged: true` or `capabilities.add`
gets them only when the operator set CONVEYOR_ALLOW_PRIVILEGED=true; otherwise its task
fails with an error saying so (Kubernetes' Pod Security admission refuses such pods the
same way). What only lowers privileges (`capabilities.drop`,
`allowPrivilegeEscalation: false`) is always honoured. Submit already refuses such
manifests (conveyor.spec._privileged, with the same message; a test keeps them equal):
this is the check when a container starts, for what submit could not see (a template
resolved at run time, a server restarted with the setting changed). It does not import
conveyor.spec, which would load Hera's models into every executor.
https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.errors import InvalidInput

__all__ = ["ALLOW_SETTING", "Privileges", "privileges"]

ALLOW_SETTING = "CONVEYOR_ALLOW_PRIVILEGED"
#: a Linux capability as Kubernetes writes it (NET_ADMIN; CAP_NET_ADMIN is accepted too), or ALL
_CAPABILITY = re.compile(r"^(?:CAP_)?[A-Z][A-Z0-9_]{1,30}$")


@dataclass(frozen=True)
class Privileges:
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    no_new_privileges: bool = False


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _capabilities(raw: Any, field: str) -> tuple[str, ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str) and _CAPABILITY.match(c) for c in raw):
        raise InvalidInput(f"securityContext.capabilities.{field} must be a list of capability names "
                           f"such as NET_ADMIN (got {raw!r})")
    return tuple(raw)


def privileges(security_context: Mapping[str, Any], *, allowed: bool) -> Privileges:
    """The privileges a container runs with; InvalidInput when it asks for more than `allowed`.

    The message names no container: callers put its name in front.
    """
    caps = security_context.get("capabilities") or {}
    if not isinstance(caps, Mapping):
        raise InvalidInput("securityContext.capabilities must be a mapping with add and drop lists")
    wanted = Privileges(
        privileged=_true(security_context.get("privileged")),
        cap_add=_capabilities(caps.get("add"), "add"),
        cap_drop=_capabilities(caps.get("drop"), "drop"),
        no_new_privileges=security_context.get("allowPrivilegeEscalation") is False
        or str(security_context.get("allowPrivilegeEscalation")).lower() == "false",
    )
    asks = (["privileged: true"] if wanted.privileged else []) + (
        [f"capabilities.add {list(wanted.cap_add)}"] if wanted.cap_add else [])
    if asks and not allowed:
        raise InvalidInput(
            f'it asks for {" and ".join(asks)} in its securityContext, and conveyor runs '
            f"containers without extra privileges unless the operator allows them: remove it from the "
            f"manifest, or set {ALLOW_SETTING}=true where the server (or `conveyor run`) runs"
        )
    return wanted
