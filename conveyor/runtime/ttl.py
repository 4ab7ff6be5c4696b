"""When a finished workflow's time to live (`spec.ttlStrategy`) is up: pure functions.

`secondsAfterSuccess` applies to a Succeeded workflow, `secondsAfterFailure`
to a Failed or Errored one, and `secondsAfterCompletion` to either when the
more specific field is not set. The clock starts at `status.finishedAt`.
The service's sweep only lists finished workflows and asks `expired`.
https://argo-workflows.readthedocs.io/en/latest/fields/#ttlstrategy
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["SWEEP_SHARE", "expired", "sweep_pause_s", "ttl_seconds"]

_FAILED = ("Failed", "Error")
#: the most of the server's time the sweep may take: it reads every finished workflow
SWEEP_SHARE = 0.05


def _strategy(wf: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = wf.get("spec") or {}
    found = spec.get("ttlStrategy")
    if not found:
        # A workflow run from a workflowTemplateRef carries the template's spec in its status.
        stored = (wf.get("status") or {}).get("storedWorkflowTemplateSpec") or {}
        found = stored.get("ttlStrategy")
    return found if isinstance(found, Mapping) else {}


def ttl_seconds(wf: Mapping[str, Any]) -> int | None:
    """Seconds after finishedAt that `wf` is to be deleted; None when never (or not finished)."""
    phase = (wf.get("status") or {}).get("phase")
    strategy = _strategy(wf)
    specific = "secondsAfterSuccess" if phase == "Succeeded" else "secondsAfterFailure" if phase in _FAILED else None
    if specific is None:
        return None
    for field in (specific, "secondsAfterCompletion"):
        value = strategy.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def expired(wf: Mapping[str, Any], now: datetime) -> bool:
    """True when `wf` has finished and its ttlStrategy's time has passed at `now`."""
    seconds = ttl_seconds(wf)
    finished = (wf.get("status") or {}).get("finishedAt")
    if seconds is None or not isinstance(finished, str):
        return False
    try:
        at = datetime.fromisoformat(finished)
    except ValueError:
        return False  # a status we cannot read is kept, not deleted
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return now >= at + timedelta(seconds=seconds)


def sweep_pause_s(cost_s: float, every_s: float) -> float:
    """Seconds to wait before the next sweep: `every_s`, or longer after a sweep that cost
    more than SWEEP_SHARE of that, so that a long history slows deletions down (by seconds)
    instead of taking the server's time."""
    return max(every_s, cost_s / SWEEP_SHARE)
