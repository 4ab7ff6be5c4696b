"""`run(submitter=...)`: check the built workflow, hand it to a submitter, start afresh."""

from __future__ import annotations

from typing import Any

from conveyor.couler._render import workflow_yaml
from conveyor.couler._state import STATE, cleanup
from conveyor.errors import InvalidInput
from conveyor.spec import validate

__all__ = ["run", "set_default_submitter"]


def set_default_submitter(submitter: Any = None) -> None:
    """The submitter run() uses when it is given none."""
    if submitter is not None:
        if not hasattr(submitter, "submit"):
            raise InvalidInput(f"{submitter!r} has no submit(workflow, secrets=...) method")
        STATE.defaults.submitter = submitter


def run(submitter: Any = None) -> Any:
    """Submit the workflow built so far; returns what the submitter returns.

    Any object with `submit(workflow, secrets=...)` works: ArgoSubmitter (to a server),
    LocalSubmitter (here, now), or a class of either (made with no arguments).
    """
    chosen = submitter if submitter is not None else STATE.defaults.submitter
    if chosen is None:
        raise InvalidInput("couler.run() needs a submitter: couler.run(submitter=ArgoSubmitter(namespace=...)), "
                           "or set one with couler.set_default_submitter(...)")
    if isinstance(chosen, type):
        chosen = chosen()
    if not hasattr(chosen, "submit"):
        raise InvalidInput(f"{chosen!r} has no submit(workflow, secrets=...) method")
    if not STATE.steps and not STATE.dag_tasks:
        raise InvalidInput("the workflow has no steps: call run_script or run_container before couler.run()")
    wf = workflow_yaml()
    # Problems surface here, each with its path, before anything is sent or run.
    validate(wf, source="couler workflow")
    result = chosen.submit(wf, secrets=list(STATE.secrets.values()))
    # As in Couler: forget the submitted workflow, so the script can build another.
    cleanup()
    return result
