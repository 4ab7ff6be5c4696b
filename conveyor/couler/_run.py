"""run_script and run_container: one template per calling function, one step per call.

Parameter names and their order are Couler's (`couler/core/run_templates.py`),
so calls written for Couler work unchanged. The first call for a template name
defines the template; later calls add steps with their own arguments.
https://argo-workflows.readthedocs.io/en/latest/walk-through/scripts-and-results/
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

from conveyor.couler._names import argo_safe_name, invocation_location
from conveyor.couler._outputs import (
    LocalArtifact,
    Output,
    OutputArtifact,
    OutputScript,
    render_value,
)
from conveyor.couler._placement import place
from conveyor.couler._state import STATE, Secret
from conveyor.couler._templates import PodOptions, container_template, parameter_name
from conveyor.errors import InvalidInput

__all__ = ["run_script", "run_container"]

log = logging.getLogger(__name__)

Json = dict[str, Any]

#: Couler parameters conveyor.couler does not implement yet, with what to do instead.
_UNSUPPORTED = {
    "output": "give couler.create_local_artifact(path) (or a list of them), or write results to stdout "
              "(a step's `outputs.result`) and pass the returned handle as an argument",
    "input": "pass the producing step's returned handle in `args`",
    "volume_mounts": "conveyor.couler has no add_volume yet; write the workflow as YAML for volumes",
    "cache": "memoization is not supported by conveyor.couler yet",
}


def _reject_unsupported(**given: Any) -> None:
    for key, value in given.items():
        if value is not None:
            raise InvalidInput(f"{key}= is not supported by conveyor.couler: {_UNSUPPORTED[key]}")


def _artifacts(output: Any) -> list[LocalArtifact]:
    """The output artifacts `output=` names; anything else is refused, saying what works."""
    if output is None:
        return []
    items = list(output) if isinstance(output, list | tuple) else [output]
    if not items or not all(isinstance(a, LocalArtifact) for a in items):
        _reject_unsupported(output=output)
    names = [a.name for a in items]
    if len(set(names)) != len(names):
        raise InvalidInput(f"output= names artifacts {names}: give each its own name (create_local_artifact(name=))")
    return items


def _args(args: Any) -> list[Any] | None:
    if args is None:
        return None
    items = list(args) if isinstance(args, list | tuple) else [args]
    # A step's return value passed whole (`args=[run_script(...)]`) stands for its first output.
    return [a[0] if isinstance(a, list) and a and isinstance(a[0], Output) else a for a in items]


def _secret(name: str | None) -> Secret | None:
    if name is None:
        return None
    found = STATE.secrets.get(name)
    if found is None:
        raise InvalidInput(f"secret {name!r} is unknown: pass the name create_secret() or obtain_secret() returned")
    return found


def _add(image: str, command: Any, args: Any, source: str | Callable[..., Any] | None, step_name: str | None,
         opts: PodOptions, pool: Any, enable_ulogfs: bool, location: tuple[str, int],
         artifacts: list[LocalArtifact]) -> list[Output]:
    func_name, line = location
    template = argo_safe_name(step_name) if step_name is not None else func_name
    arg_list = _args(args)
    if template not in STATE.templates:
        tmpl = container_template(template, image, command, arg_list, opts, source)
        if artifacts:
            tmpl["outputs"] = {"artifacts": [a.to_dict() for a in artifacts]}
        STATE.templates[template] = tmpl
        STATE.pod_hints[template] = (pool, enable_ulogfs)
    parameters = [{"name": parameter_name(template, i), "value": render_value(a)} for i, a in enumerate(arg_list or [])]
    name = place(template, parameters, argo_safe_name(step_name) if step_name is not None else None, line)
    outputs: list[Output] = [OutputScript(name, template)]
    outputs += [OutputArtifact(name, template, f"outputs.artifacts.{a.name}", a.is_global) for a in artifacts]
    if STATE.capture is None:
        STATE.outputs[name] = outputs
    return outputs


def run_script(image: str, command: Any = None, source: str | Callable[..., Any] | None = None, args: Any = None,
               output: Any = None, input: Any = None, env: Mapping[str, Any] | None = None,
               secret: str | None = None, resources: Mapping[str, Any] | None = None, timeout: int | None = None,
               retry: Any = None, step_name: str | None = None, image_pull_policy: Any = None, pool: Any = None,
               enable_ulogfs: bool = True, daemon: bool = False, volume_mounts: Any = None,
               working_dir: str | None = None, node_selector: Mapping[str, Any] | None = None,
               cache: Any = None) -> list[Output]:
    """A `script` template running `source` (a function's body, or text) with `command` (default python)."""
    if source is None:
        raise InvalidInput("run_script needs source=: a function whose body is the script, or the script text")
    _reject_unsupported(input=input, volume_mounts=volume_mounts, cache=cache)
    opts = PodOptions(env=env, secret=_secret(secret), resources=resources, timeout=timeout, retry=retry,
                      image_pull_policy=image_pull_policy, daemon=daemon, working_dir=working_dir,
                      node_selector=node_selector)
    return _add(image, command, args, source, step_name, opts, pool, enable_ulogfs,
                invocation_location(sys._getframe()), _artifacts(output))


def run_container(image: str, command: Any = None, args: Any = None, output: Any = None, input: Any = None,
                  env: Mapping[str, Any] | None = None, env_from: list[Json] | None = None,
                  secret: str | None = None, resources: Mapping[str, Any] | None = None,
                  timeout: int | None = None, retry: Any = None, step_name: str | None = None,
                  image_pull_policy: Any = None, pool: Any = None, enable_ulogfs: bool = True,
                  daemon: bool = False, volume_mounts: Any = None, working_dir: str | None = None,
                  node_selector: Mapping[str, Any] | None = None, cache: Any = None,
                  parallelism: int | None = None) -> list[Output]:
    """A `container` template running `command` + `args` in `image`."""
    _reject_unsupported(input=input, volume_mounts=volume_mounts, cache=cache)
    opts = PodOptions(env=env, env_from=env_from, secret=_secret(secret), resources=resources, timeout=timeout,
                      retry=retry, image_pull_policy=image_pull_policy, daemon=daemon, working_dir=working_dir,
                      node_selector=node_selector)
    if parallelism is not None:
        # Argo's `parallelism` limits the children of a steps or dag template; a
        # container has none, and conveyor's lint rejects it there.
        log.warning("run_container(parallelism=%s) is ignored: parallelism applies to steps and dag templates",
                    parallelism)
    return _add(image, command, args, None, step_name, opts, pool, enable_ulogfs,
                invocation_location(sys._getframe()), _artifacts(output))
