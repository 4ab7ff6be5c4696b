"""Conditions: `when(equal(step, "heads"), lambda: ...)` and exit handlers.

`when` renders Argo's `when: "{{steps.flip-coin.outputs.result}} == heads"`;
an exit handler is a steps template named `exit-handler`, set as `onExit`, whose
steps each run when `{{workflow.status}}` matches.
https://argo-workflows.readthedocs.io/en/latest/walk-through/conditionals/
https://argo-workflows.readthedocs.io/en/latest/walk-through/exit-handlers/
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from conveyor.couler._outputs import reference, render_value, step_handle, tag
from conveyor.couler._state import STATE
from conveyor.errors import InvalidInput

__all__ = ["WFStatus", "when", "set_exit_handler", "equal", "not_equal", "bigger", "smaller",
           "bigger_equal", "smaller_equal"]


class WFStatus(Enum):
    Succeeded = "Succeeded"
    Failed = "Failed"
    Error = "Error"


def _predicate(pre: Any, post: Any, condition: str) -> dict[str, Any]:
    return {"pre": pre() if callable(pre) else pre, "post": post() if callable(post) else post,
            "condition": condition}


def equal(pre: Any, post: Any = None) -> dict[str, Any]:
    return _predicate(pre, post, "==")


def not_equal(pre: Any, post: Any = None) -> dict[str, Any]:
    return _predicate(pre, post, "!=")


def bigger(pre: Any, post: Any = None) -> dict[str, Any]:
    return _predicate(pre, post, ">")


def smaller(pre: Any, post: Any = None) -> dict[str, Any]:
    return _predicate(pre, post, "<")


def bigger_equal(pre: Any, post: Any = None) -> dict[str, Any]:
    return _predicate(pre, post, ">=")


def smaller_equal(pre: Any, post: Any = None) -> dict[str, Any]:
    return _predicate(pre, post, "<=")


def _and(outer: str | None, inner: str) -> str:
    return inner if outer is None else f"({outer}) && ({inner})"


def when(condition: dict[str, Any], function: Callable[[], Any]) -> Any:
    """Run the steps `function` creates only when `condition` (from equal/not_equal/...) holds."""
    if not isinstance(condition, dict) or not {"pre", "post", "condition"} <= set(condition):
        raise InvalidInput("when() takes a condition made by couler.equal(...), not_equal(...), bigger(...), ...")
    if not callable(function):
        raise InvalidInput("when() runs a function: wrap the step in a lambda, e.g. lambda: heads()")
    pre = step_handle(condition["pre"])
    if pre is None or condition["post"] is None:
        raise InvalidInput("when(): compare a step's output (what run_script returned) with a value, "
                           "e.g. couler.equal(flip_coin(), 'heads')")
    saved = (STATE.when, STATE.when_task, STATE.condition_key)
    STATE.when = _and(STATE.when, f"{reference(pre)} {condition['condition']} {render_value(condition['post'])}")
    STATE.when_task = pre.step if STATE.dag_mode else None
    # Steps guarded by the same output land in one parallel group, as in Couler's coin flip.
    STATE.condition_key = ("when", pre.step, pre.output)
    try:
        return function()
    finally:
        STATE.when, STATE.when_task, STATE.condition_key = saved


def set_exit_handler(status: WFStatus | str, exit_handler: Callable[[], Any]) -> Any:
    """Run the steps `exit_handler` creates when the workflow ends with `status`."""
    if not callable(exit_handler):
        raise InvalidInput("set_exit_handler() needs a function that calls run_script/run_container")
    try:
        value = status.value if isinstance(status, WFStatus) else WFStatus(status).value
    except ValueError:
        raise InvalidInput(f"exit handler status {status!r} is not one of Succeeded, Failed, Error") from None
    saved = (STATE.when, STATE.in_exit_handler)
    STATE.when, STATE.in_exit_handler = tag("workflow.status") + f" == {value}", True
    try:
        return exit_handler()
    finally:
        STATE.when, STATE.in_exit_handler = saved
