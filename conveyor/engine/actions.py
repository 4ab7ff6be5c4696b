"""What the machine asks the runtime to do, and the events it accepts.

Events are plain JSON-able dicts (they are stored and replayed after a crash):

- `{"type": "start"}`
- `{"type": "task_finished", "node": ID, "result": {phase, exitCode, message, result,
   parameters: {name: value}, artifacts: {name: {key, archive}}, startedAt, finishedAt}}`
- `{"type": "timer", "id": TIMER_ID}`
- `{"type": "resume", "node": ID | None, "parameters": {name: value}}`
- `{"type": "suspend"}`: start no new pods until a `resume` without a node
- `{"type": "stop", "message": str}` / `{"type": "terminate"}`
- `{"type": "recovered", "restart": bool}`: after a restart (or a retry, restart false),
  launch the pods that were running again
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Action", "Launch", "Kill", "SetTimer", "Finished"]


@dataclass(frozen=True)
class Launch:
    """Run one pod. `plan` is the fully substituted template plus what the runtime
    needs to stage inputs and save outputs (see Machine._launch_plan)."""

    node_id: str
    plan: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kill:
    node_id: str
    reason: str = ""


@dataclass(frozen=True)
class SetTimer:
    timer_id: str
    at: float  # epoch seconds


@dataclass(frozen=True)
class Finished:
    """The workflow reached a final phase."""

    phase: str


Action = Launch | Kill | SetTimer | Finished
