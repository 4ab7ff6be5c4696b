"""`dag` and `set_dependencies`: the workflow's entrypoint becomes a DAG.

`dependencies` is a list of task names, or a string of Argo's enhanced depends
logic (`"A.Succeeded && B"`).
https://argo-workflows.readthedocs.io/en/latest/enhanced-depends-logic/
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conveyor.couler._state import STATE
from conveyor.errors import InvalidInput

__all__ = ["dag", "set_dependencies"]


def dag(dependency_graph: list[list[Callable[[], Any]]]) -> None:
    """Each inner list is a chain: `[[A], [A, B], [A, C]]` runs B and C after A."""
    if not isinstance(dependency_graph, list):
        raise InvalidInput("dag() takes a list of lists of functions, e.g. [[lambda: a()], [lambda: a(), lambda: b()]]")
    STATE.dag_mode = True
    try:
        for edges in dependency_graph:
            if not isinstance(edges, list):
                raise InvalidInput(f"dag(): {edges!r} is not a list of functions")
            STATE.upstream, STATE.depends_logic = None, None
            for node in edges:
                if not callable(node):
                    raise InvalidInput(f"dag(): {node!r} is not a function; wrap the call in a lambda")
                node()
    finally:
        STATE.upstream = None


def set_dependencies(step_function: Callable[[], Any], dependencies: list[str] | str | None = None) -> Any:
    """Run `step_function` (which calls run_*) as a DAG task after `dependencies`."""
    if not callable(step_function):
        raise InvalidInput("set_dependencies() needs a function as step_function, e.g. lambda: job('A')")
    if dependencies is not None and not isinstance(dependencies, list | str):
        raise InvalidInput(f"dependencies={dependencies!r}: give a list of task names or a depends string")
    if isinstance(dependencies, list) and not all(isinstance(d, str) for d in dependencies):
        raise InvalidInput(f"dependencies={dependencies!r}: every dependency is a task name (a string)")
    STATE.dag_mode = True
    STATE.upstream = list(dependencies) if isinstance(dependencies, list) else None
    STATE.depends_logic = dependencies if isinstance(dependencies, str) else None
    try:
        return step_function()
    finally:
        STATE.upstream, STATE.depends_logic = None, None
