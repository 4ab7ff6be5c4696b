"""Where a run_* call lands: a step in the entrypoint's steps, a DAG task, an
exit-handler step, a sub-steps template, or (inside `map`) nowhere yet.

Steps mode names a step `<template>-<line>`, as Couler does; a DAG task is
named by `step_name`, else by its template, and calling it again refers to the
same task (that is how `dag([[A], [A, B]])` says "B after A").
https://argo-workflows.readthedocs.io/en/latest/walk-through/steps/
https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from conveyor.couler._state import STATE

__all__ = ["place"]

Json = dict[str, Any]


def _unique(name: str, taken: set[str]) -> str:
    # Argo wants step names unique within a template; the same line can run twice (a loop).
    if name not in taken:
        return name
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def _step(name: str, template: str, parameters: list[Json], with_items: list[Any] | None) -> Json:
    step: Json = {"name": name, "template": template}
    if STATE.when is not None:
        step["when"] = STATE.when
    if parameters:
        step["arguments"] = {"parameters": parameters}
    if with_items is not None:
        step["withItems"] = with_items
    return step


def _add_to(groups: dict[Hashable, list[Json]], key: Hashable, step: Json) -> None:
    groups.setdefault(key, []).append(step)


def _place_task(name: str, template: str, parameters: list[Json], with_items: list[Any] | None) -> str:
    task = STATE.dag_tasks.get(name)
    if task is None:
        task = _step(name, template, parameters, with_items)
        if STATE.when is not None and STATE.when_task is not None:
            task["dependencies"] = [STATE.when_task]
        elif STATE.depends_logic is not None:
            task["depends"] = STATE.depends_logic
        elif STATE.upstream:
            task["dependencies"] = list(STATE.upstream)
        STATE.dag_tasks[name] = task
    elif STATE.depends_logic is not None:
        task["depends"] = STATE.depends_logic
    elif STATE.upstream:
        deps = task.setdefault("dependencies", [])
        deps.extend(d for d in STATE.upstream if d not in deps and d != name)
    STATE.upstream = [name]
    return name


def place(template: str, parameters: list[Json], step_name: str | None, line: int,
          with_items: list[Any] | None = None) -> str:
    """Add one invocation of `template`; returns the step's (or task's) name."""
    if STATE.capture is not None:
        STATE.capture.append({"template": template, "parameters": parameters, "step_name": step_name, "line": line})
        return step_name or f"{template}-{line}"
    if STATE.sub_steps is not None:
        name = _unique(f"{template}-{line}", {s["name"] for g in STATE.sub_steps.values() for s in g})
        _add_to(STATE.sub_steps, name, _step(name, template, parameters, with_items))
        return name
    if STATE.in_exit_handler:
        name = _unique(step_name or f"{template}-{line}", STATE.step_names())
        _add_to(STATE.exit_steps, name, _step(name, template, parameters, with_items))
        return name
    if STATE.dag_mode:
        return _place_task(step_name or template, template, parameters, with_items)
    name = _unique(f"{template}-{line}", STATE.step_names())
    key = STATE.concurrent_key or STATE.condition_key or name
    _add_to(STATE.steps, key, _step(name, template, parameters, with_items))
    return name
