"""What run_script / run_container return: handles on a step's outputs.

Couler returns a list of `Output` objects whose `value` reads
`couler.<step>.<template>.outputs.result`; passing one as an argument to
another step, or to `when(equal(...))`, becomes an Argo reference such as
`{{tasks.flip-coin.outputs.result}}`.
https://argo-workflows.readthedocs.io/en/latest/variables/
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from conveyor.couler._state import STATE
from conveyor.errors import InvalidInput

__all__ = ["Output", "OutputScript", "OutputArtifact", "LocalArtifact", "create_local_artifact", "tag", "reference", "render_value",
           "step_handle", "get_step_output"]


class Output:
    """One output of one step: `value` is Couler's dotted form of it."""

    def __init__(self, step: str, template: str, output: str = "outputs.result", is_global: bool = False) -> None:
        self.step = step
        self.template = template
        self.output = output
        self.is_global = is_global
        self.value = f"couler.{step}.{template}.{output}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class OutputScript(Output):
    """The standard output of a step (Argo's `outputs.result`, for script and container templates)."""


class LocalArtifact:
    """A file or folder a step leaves at `path`, kept as an output artifact in the
    workflow's artifact repository (Argo's default one, conveyor's local one)."""

    def __init__(self, path: str, name: str | None = None, is_global: bool = False) -> None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidInput(f"artifact path {path!r} must be an absolute path inside the container, "
                               "e.g. /tmp/outputs/stats.json")
        stem = PurePosixPath(path).name.split(".")[0]
        self.path, self.is_global = path, is_global
        self.name = name or re.sub(r"[^a-z0-9-]+", "-", stem.lower()).strip("-") or "output"
        if not re.fullmatch(r"[a-zA-Z0-9_-]+", self.name):
            raise InvalidInput(f"artifact name {self.name!r}: use letters, digits, '-' and '_'")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "path": self.path}
        if self.is_global:
            d["globalName"] = self.name
        return d


def create_local_artifact(path: str, is_global: bool = False, name: str | None = None) -> LocalArtifact:
    """An output artifact at `path` for run_script/run_container(output=...); its name is the
    file's name without extensions (`/tmp/outputs/stats.json` -> `stats`) unless `name` says."""
    return LocalArtifact(path, name=name, is_global=is_global)


class OutputArtifact(Output):
    """An output artifact of a step (`outputs.artifacts.NAME`)."""


def step_handle(value: Any) -> Output | None:
    """The Output in `value`: an Output, or the list a run_* call returned (its first item)."""
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return value if isinstance(value, Output) else None


def tag(expression: str) -> str:
    """`steps.a.outputs.result` -> `{{steps.a.outputs.result}}`."""
    return "{{" + expression + "}}"


def reference(out: Output) -> str:
    """`{{steps.X.outputs.result}}` or, in a DAG, `{{tasks.X.outputs.result}}`."""
    if out.is_global:
        return tag(f"workflow.{out.output}")
    return tag(f"{'tasks' if STATE.dag_mode else 'steps'}.{out.step}.{out.output}")


def render_value(value: Any) -> str:
    """An argument as Argo takes it: a reference for a step output, else a string.

    Couler wraps references and numbers in extra quotes (`'"{{...}}"'`, `"'5'"`),
    which reach the program verbatim on Argo; plain strings are what was meant.
    """
    if isinstance(value, OutputArtifact):
        raise InvalidInput("passing an artifact to another step (input=) is not supported by conveyor.couler yet; "
                           "pass the step's result (its standard output) instead")
    out = step_handle(value)
    if out is not None:
        return reference(out)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def get_step_output(step_name: str) -> list[Output] | None:
    """What the run_* call that created step `step_name` returned (Couler's get_step_output)."""
    return STATE.outputs.get(step_name)
