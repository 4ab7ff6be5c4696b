"""`map` (a step run once per item, Argo's withItems) and `concurrent`
(several steps at once: one parallel group of steps, or sibling DAG tasks).

https://argo-workflows.readthedocs.io/en/latest/walk-through/loops/
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from conveyor.couler._names import invocation_location
from conveyor.couler._outputs import Output, OutputScript, tag
from conveyor.couler._placement import place
from conveyor.couler._state import STATE
from conveyor.errors import InvalidInput

__all__ = ["map", "concurrent"]


def map(function: Callable[..., Any], *arguments: Any) -> list[Output]:
    """Run the one step `function` creates once per item: `map(lambda x: job(x), ["a", "b"])`.

    As in Couler, the i-th list feeds the step's i-th argument; the function is
    called once (with the first items) to learn which template it runs.
    """
    if not callable(function):
        raise InvalidInput("map() needs a function as its first argument, e.g. lambda x: job(x)")
    lists = [list(a) if isinstance(a, list | tuple) else [a] for a in arguments]
    if not lists or not lists[0] or any(len(items) != len(lists[0]) for items in lists):
        raise InvalidInput("map() needs one or more non-empty lists of the same length after the function")
    saved = STATE.capture
    STATE.capture = []
    try:
        function(*[items[0] for items in lists])
        calls = STATE.capture
    finally:
        STATE.capture = saved
    if len(calls) != 1:
        raise InvalidInput(f"map()'s function must call run_script or run_container exactly once; it called {len(calls)}")
    call = calls[0]
    params = [p["name"] for p in STATE.templates[call["template"]].get("inputs", {}).get("parameters", [])]
    if len(params) < len(lists):
        raise InvalidInput(f"map() got {len(lists)} lists but template {call['template']!r} takes {len(params)} "
                           "argument(s): pass each item on to run_*(args=[...])")
    items = [{params[j]: lists[j][i] for j in range(len(lists))} for i in range(len(lists[0]))]
    parameters = [{"name": p["name"], "value": tag(f"item.{p['name']}")} if p["name"] in params[:len(lists)]
                  else p for p in call["parameters"]]
    name = place(call["template"], parameters, call["step_name"], call["line"], with_items=items)
    outputs: list[Output] = [OutputScript(name, call["template"])]
    STATE.outputs[name] = outputs
    return outputs


def concurrent(function_list: list[Callable[[], Any]], subtasks: bool = False) -> list[Any]:
    """Run the steps the functions create at the same time; returns what each returned.

    With `subtasks=True` each function may create several steps, which run in
    sequence inside their own steps template.
    """
    if not isinstance(function_list, list) or not all(callable(f) for f in function_list):
        raise InvalidInput("concurrent() takes a list of functions, e.g. [lambda: a(), lambda: b()]")
    _, line = invocation_location(sys._getframe())
    saved = (STATE.concurrent_key, STATE.upstream, STATE.depends_logic)
    STATE.concurrent_key = ("concurrent", STATE.next_id())
    results = []
    try:
        for function in function_list:
            # In a DAG every function starts from the same upstream tasks.
            STATE.upstream, STATE.depends_logic = saved[1], saved[2]
            results.append(_subtask(function, line) if subtasks else function())
    finally:
        STATE.concurrent_key, STATE.upstream, STATE.depends_logic = saved
    return results


def _subtask(function: Callable[[], Any], line: int) -> Any:
    outer, STATE.sub_steps = STATE.sub_steps, {}
    key, STATE.concurrent_key = STATE.concurrent_key, None
    try:
        result = function()
        groups = list(STATE.sub_steps.values())
    finally:
        STATE.sub_steps, STATE.concurrent_key = outer, key
    name = f"concurrent-task-{STATE.next_id()}"
    STATE.templates[name] = {"name": name, "steps": groups}
    place(name, [], None, line)
    return result
