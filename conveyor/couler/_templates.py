"""Container and script templates, shaped as Couler's `Container` and `Script` emit them.

https://argo-workflows.readthedocs.io/en/latest/fields/#template
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from conveyor.couler._names import function_body
from conveyor.couler._outputs import tag
from conveyor.couler._state import Secret
from conveyor.errors import InvalidInput

__all__ = ["ImagePullPolicy", "PodOptions", "container_template", "parameter_name", "env_list"]

Json = dict[str, Any]


class ImagePullPolicy(Enum):
    IfNotPresent = "IfNotPresent"
    Always = "Always"
    Never = "Never"

    @classmethod
    def valid(cls, value: str) -> bool:
        return value in cls.__members__

    @classmethod
    def values(cls) -> list[str]:
        return list(cls.__members__)


def parameter_name(template: str, position: int) -> str:
    """Couler names a template's i-th argument `para-<template>-<i>`."""
    return f"para-{template}-{position}"


def env_list(env: Mapping[str, Any] | None, secret: Secret | None) -> list[Json]:
    """`{"A": 1}` -> `[{"name": "A", "value": "1"}]`; a `secrets` key holds ready-made entries (as in Couler)."""
    out: list[Json] = []
    for key, value in (env or {}).items():
        if key == "secrets":
            if not isinstance(value, list):
                raise InvalidInput("env['secrets'] must be a list of {name, valueFrom} entries")
            out.extend(value)
        elif isinstance(value, bool):
            out.append({"name": str(key), "value": "true" if value else "false"})
        else:
            out.append({"name": str(key), "value": str(value)})
    if secret is not None:
        out.extend(secret.to_env_list())
    return out


#: script arguments reach python scripts as $COULER_ARG_0, $COULER_ARG_1, ...
ARG_ENV = "COULER_ARG_"


def _is_python(command: list[str]) -> bool:
    return bool(command) and command[0].rsplit("/", 1)[-1].startswith("python")


def _argv_preamble(count: int) -> str:
    items = ", ".join(f'_os.environ["{ARG_ENV}{i}"]' for i in range(count))
    return f"import os as _os, sys as _sys\n_sys.argv[1:] = [{items}]\n"


def _pull_policy(policy: Any) -> str:
    value = policy.value if isinstance(policy, ImagePullPolicy) else str(policy)
    if not ImagePullPolicy.valid(value):
        raise InvalidInput(f"image_pull_policy {policy!r} is not one of {', '.join(ImagePullPolicy.values())}")
    return value


def _retry(retry: Any) -> Json:
    if isinstance(retry, Mapping):
        return dict(retry)  # a full Argo retryStrategy, passed through
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise InvalidInput(f"retry={retry!r}: give the number of retries (Couler's retry is an int)")
    return {"limit": retry, "retryPolicy": "Always"}


def _timeout(timeout: Any) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise InvalidInput(f"timeout={timeout!r}: give a whole number of seconds greater than 0")
    return timeout


class PodOptions:
    """The per-step settings run_script and run_container share."""

    def __init__(self, *, env: Mapping[str, Any] | None = None, env_from: list[Json] | None = None,
                 secret: Secret | None = None, resources: Mapping[str, Any] | None = None,
                 timeout: int | None = None, retry: Any = None, image_pull_policy: Any = None,
                 daemon: bool = False, working_dir: str | None = None,
                 node_selector: Mapping[str, Any] | None = None) -> None:
        self.env, self.env_from, self.secret = env, env_from, secret
        self.resources, self.timeout, self.retry = resources, timeout, retry
        self.image_pull_policy, self.daemon = image_pull_policy, daemon
        self.working_dir, self.node_selector = working_dir, node_selector


def container_template(name: str, image: str, command: Any, args: list[Any] | None, opts: PodOptions,
                       source: str | Callable[..., Any] | None = None) -> Json:
    """A `container` template, or a `script` one when `source` is given."""
    tmpl: Json = {"name": name}
    if opts.daemon:
        tmpl["daemon"] = True
    if opts.timeout is not None:
        tmpl["activeDeadlineSeconds"] = _timeout(opts.timeout)
    if opts.retry is not None:
        tmpl["retryStrategy"] = _retry(opts.retry)
    if args:
        tmpl["inputs"] = {"parameters": [{"name": parameter_name(name, i)} for i in range(len(args))]}
    if opts.node_selector:
        tmpl["nodeSelector"] = {str(k): str(v) for k, v in opts.node_selector.items()}
    body: Json = {"image": image}
    if source is not None:
        command = ["python"] if command is None else command
    if command is not None:
        body["command"] = [str(c) for c in (command if isinstance(command, list | tuple) else [command])]
    refs = [tag(f"inputs.parameters.{parameter_name(name, i)}") for i in range(len(args or ()))]
    env = env_list(opts.env, opts.secret)
    if source is not None:
        body["source"] = source if isinstance(source, str) else function_body(source)
        if refs and _is_python(body["command"]):
            # Argo runs `command + args + [script path]`, so python would take the first
            # argument for the script (Couler's output fails there). The arguments travel
            # as environment variables instead, and the script gets them in sys.argv.
            env += [{"name": f"{ARG_ENV}{i}", "value": ref} for i, ref in enumerate(refs)]
            body["source"] = _argv_preamble(len(refs)) + body["source"]
            refs = []
    if refs:
        body["args"] = refs
    if env:
        body["env"] = env
    if opts.env_from:
        body["envFrom"] = list(opts.env_from)
    if opts.resources:
        # Kubernetes quantities are strings on the wire ("500m", "1Gi"); Couler
        # sets the same values as requests and limits.
        quantities = {str(k): str(v) for k, v in opts.resources.items()}
        body["resources"] = {"requests": quantities, "limits": dict(quantities)}
    if opts.image_pull_policy is not None:
        body["imagePullPolicy"] = _pull_policy(opts.image_pull_policy)
    if opts.working_dir:
        body["workingDir"] = opts.working_dir
    tmpl["script" if source is not None else "container"] = body
    return tmpl
