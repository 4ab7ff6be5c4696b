"""Pure pieces of the container executors: Kubernetes quantities, pull policies, and the
`podman run` argv of one container. No I/O here, so all of it is table-tested without a runtime.

Kubernetes semantics carried over: `command` replaces the image's ENTRYPOINT and `args`
its CMD; `resources.limits` cap memory, CPU and (conveyor's own setting) pids;
`securityContext.runAsUser/runAsGroup` pick the user.
https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from conveyor.errors import InvalidInput

__all__ = ["Bind", "RunOptions", "memory_bytes", "cpu_cores", "pull_mode", "container_path", "podman_run_argv"]

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3),
            "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_QUANTITY = re.compile(r"^\s*([+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?\s*$")


def _quantity(raw: object, what: str) -> Decimal:
    match = _QUANTITY.match(str(raw))
    if not match:
        raise InvalidInput(f"{what} {raw!r} is not a Kubernetes quantity; write e.g. 512Mi, 2Gi, 500m or 1.5")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise InvalidInput(f"{what} {raw!r} is not a number") from None
    suffix = match.group(2) or ""
    return number * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def memory_bytes(raw: object) -> int:
    """`512Mi` -> 536870912; `1G` -> 10**9; fractions round up to a whole byte."""
    value = _quantity(raw, "memory")
    whole = int(value.to_integral_value(rounding="ROUND_CEILING"))
    if whole <= 0:
        raise InvalidInput(f"memory {raw!r} must be more than zero")
    return whole


def cpu_cores(raw: object) -> str:
    """`500m` -> "0.5", `2` -> "2": the value of `--cpus`."""
    value = _quantity(raw, "cpu")
    if value <= 0:
        raise InvalidInput(f"cpu {raw!r} must be more than zero")
    return format(value.normalize(), "f")


def pull_mode(policy: str | None) -> str:
    """imagePullPolicy -> podman's `--pull` value.

    Kubernetes pulls `:latest` images Always by default; on one machine a local image
    (a build, or an offline stand-in) should win, so conveyor's default is
    IfNotPresent for every tag. `imagePullPolicy: Always` still forces a pull.
    """
    modes = {None: "missing", "": "missing", "IfNotPresent": "missing", "Always": "always", "Never": "never"}
    if policy not in modes:
        raise InvalidInput(f"imagePullPolicy {policy!r} is not known; use Always, IfNotPresent or Never")
    return modes[policy]


def container_path(path: str, what: str) -> str:
    """A path inside the container, normalised; refused when it could break a mount spec."""
    if not path.startswith("/"):
        raise InvalidInput(f"{what} {path!r} must be an absolute path inside the container")
    if any(ch in path for ch in ",\n\0"):
        raise InvalidInput(f"{what} {path!r} holds a comma or a control character; rename it")
    return posixpath.normpath(path)


@dataclass(frozen=True)
class Bind:
    """A host file or folder shown at `target` in the container."""

    source: str
    target: str
    read_only: bool = False

    def flag(self) -> str:
        spec = f"type=bind,src={self.source},dst={self.target}"
        return spec + (",ro=true" if self.read_only else "")


@dataclass(frozen=True)
class RunOptions:
    name: str
    image: str
    command: Sequence[str] = ()  # replaces the image's ENTRYPOINT when not empty
    args: Sequence[str] = ()  # replaces its CMD when not empty (or when command is set)
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    binds: Sequence[Bind] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, object] = field(default_factory=dict)
    security_context: Mapping[str, object] = field(default_factory=dict)
    network: str = "bridge"
    pod: str | None = None
    pids_limit: int = 4096
    #: what the securityContext asked and the operator allowed (see _privileges.py)
    privileged: bool = False
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    no_new_privileges: bool = False
    #: podman removes the container once it exited (nothing is read from it afterwards)
    remove: bool = False


def podman_run_argv(podman: str, o: RunOptions) -> list[str]:
    """`podman run` for one container, attached (its stdout and stderr are the container's).

    The image is pulled beforehand (so a pull failure is reported as such), hence
    `--pull never`. With `remove`, `--rm`: podman removes the container as it exits, which
    costs less than a `podman rm` after it; otherwise the container is kept so outputs can
    be copied out and the runtime asked about it, and the executor removes it.
    """
    # --replace: a container a crashed attempt of the same task left under this name goes
    argv = [podman, "run", "--name", o.name, "--replace", "--pull", "never", "--quiet"]
    if o.remove:
        argv.append("--rm")
    if o.pod:
        argv += ["--pod", o.pod]
    else:
        argv += ["--network", o.network]
    for key, value in sorted(o.labels.items()):
        argv += ["--label", f"{key}={value}"]
    for key, value in o.env.items():
        argv += ["--env", f"{key}={value}"]
    if o.working_dir:
        argv += ["--workdir", container_path(o.working_dir, "workingDir")]
    for bind in o.binds:
        argv += ["--mount", bind.flag()]
    limits = dict(o.resources.get("limits") or {})  # type: ignore[call-overload]
    if "memory" in limits:
        argv += ["--memory", str(memory_bytes(limits["memory"])), "--memory-swap", str(memory_bytes(limits["memory"]))]
    if "cpu" in limits:
        argv += ["--cpus", cpu_cores(limits["cpu"])]
    argv += ["--pids-limit", str(o.pids_limit)]
    user = o.security_context.get("runAsUser")
    if user is not None:
        group = o.security_context.get("runAsGroup")
        argv += ["--user", f"{int(str(user))}" + (f":{int(str(group))}" if group is not None else "")]
    if o.privileged:
        argv.append("--privileged")
    for cap in o.cap_add:
        argv += ["--cap-add", cap]
    for cap in o.cap_drop:
        argv += ["--cap-drop", cap]
    if o.no_new_privileges:
        argv += ["--security-opt", "no-new-privileges"]
    if o.command:
        # JSON form: the whole list is the entrypoint, no shell involved
        argv += ["--entrypoint", json.dumps(list(o.command))]
    argv.append(o.image)
    argv += list(o.args)
    return argv
