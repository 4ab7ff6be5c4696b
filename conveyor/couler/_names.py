"""Names Couler derives from Python code: templates from the calling function,
steps from the calling line, a script's source from a function's body.

Argo allows letters, digits and '-' in template, step and task names
(https://argo-workflows.readthedocs.io/en/latest/fields/), and Kubernetes
lowercase DNS names for workflows, so both are cleaned here.
"""

from __future__ import annotations

import ast
import inspect
import re
import secrets
import string
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from conveyor.errors import InvalidInput

__all__ = [
    "argo_safe_name",
    "invocation_location",
    "function_body",
    "workflow_filename",
    "default_name_salter",
    "spinal_case",
]

_NOT_FIELD = re.compile(r"[^A-Za-z0-9-]+")
_SALT = string.ascii_lowercase + string.digits


def argo_safe_name(name: str) -> str:
    """`load_data` -> `load-data`: a valid Argo template/step name (Couler turns '_' and '.' into '-')."""
    cleaned = re.sub(r"-{2,}", "-", _NOT_FIELD.sub("-", name)).strip("-")
    # 100 leaves room for the "-<line>" steps add, under the 128 Argo allows.
    return cleaned[:100].rstrip("-") or "step"


def spinal_case(name: str) -> str:
    """`MyPipeline_v2` -> `my-pipeline-v2`: a lowercase Kubernetes name."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name)
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", spaced.lower())).strip("-") or "workflow"


def default_name_salter(name: str) -> str:
    """Couler's default: the name, spinal-cased, plus 8 random characters, so resubmitting
    a script never collides with the last run. 40 + 9 characters stays under the
    52 Argo allows CronWorkflows."""
    salt = "".join(secrets.choice(_SALT) for _ in range(8))
    return f"{spinal_case(name)[:40].rstrip('-')}-{salt}"


def _script_stem(frame: FrameType | None) -> str:
    filename = frame.f_code.co_filename if frame else ""
    return argo_safe_name(Path(filename).stem.lower()) if filename and not filename.startswith("<") else "workflow"


def workflow_filename() -> str:
    """The running script's name, which names an unnamed workflow (Couler's generateName)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return spinal_case(Path(path).stem) if path else "workflow"


def invocation_location(api_frame: FrameType | None) -> tuple[str, int]:
    """(template name, line) for a call to a Couler API function whose frame is `api_frame`.

    As in Couler: the template is named after the user function that called the API,
    and the step after the line that called that function. Anonymous callers (a
    lambda, module level) get the line where they call the API instead, which keeps
    names stable from run to run (Couler adds a random suffix there).
    """
    caller = api_frame.f_back if api_frame else None
    if caller is None:
        return "step", 0
    name = caller.f_code.co_name
    if name.startswith("<"):
        base = "lambda" if name == "<lambda>" else _script_stem(caller)
        return argo_safe_name(f"{base}-{caller.f_lineno}"), caller.f_lineno
    outer = caller.f_back
    return argo_safe_name(name), (outer.f_lineno if outer else caller.f_lineno)


def function_body(func: Callable[..., Any]) -> str:
    """The source of `func`'s body, dedented: what a script template runs.

    Couler cuts the source at the first ':', which breaks on annotated signatures;
    the syntax tree says exactly where the body starts.
    """
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise InvalidInput(
            f"cannot read the source of {func!r} for run_script(source=...): {exc}; "
            "pass a function defined in a file, or the script text as a string"
        ) from None
    tree = ast.parse(source)
    fn = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if fn is None or not fn.body:
        raise InvalidInput(
            f"run_script(source={func!r}) needs a function defined with `def`; "
            "a lambda has no body to run, pass a def or the script text as a string"
        )
    lines = source.splitlines(keepends=True)
    first = fn.body[0]
    end = fn.body[-1].end_lineno or len(lines)
    if first.lineno == fn.lineno:  # `def f(): print(1)`: the body shares the signature's line
        head = lines[first.lineno - 1][first.col_offset:]
        return textwrap.dedent(head + "".join(lines[first.lineno:end]))
    return textwrap.dedent("".join(lines[first.lineno - 1:end]))
