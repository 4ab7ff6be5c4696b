"""The controller base: one object drives one node while it is active.

Controllers form a tree mirroring the node tree. A controller is created
Pending, started when the machine admits it (parallelism, locks), and reports
to its parent exactly once when its node completes.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from conveyor.engine.nodes import Node

if TYPE_CHECKING:
    from conveyor.engine.machine import Machine

__all__ = ["Ctl"]


class Ctl:
    #: counts against its boundary's `parallelism` (top-level invocation of a step/task)
    counts_for_boundary = False
    #: needs a pod slot (workflow parallelism) and the template's locks
    is_pod = False

    def __init__(
        self,
        m: Machine,
        node: Node,
        tmpl: Mapping[str, Any],
        scope: MutableMapping[str, Any],
        parent: Ctl | None,
    ) -> None:
        self.m = m
        self.node = node
        self.tmpl = tmpl
        self.scope = scope
        self.parent = parent
        self.started = False
        self.done = False
        self.children: list[Ctl] = []
        #: the steps/dag controller whose parallelism this one counts against
        self.boundary: Ctl | None = None
        self.active_children = 0  # for this controller's own `parallelism`
        self.attempt: int | None = None  # set on retry attempts

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        raise NotImplementedError

    def child_done(self, child: Ctl) -> None:  # pragma: no cover - containers override
        raise NotImplementedError

    def shutdown(self, message: str, phase: str = "Failed") -> None:
        """Stop everything under this node (stop, terminate, deadline)."""
        for child in list(self.children):
            if not child.done:
                child.shutdown(message, phase)

    # -- helpers ---------------------------------------------------------
    def mark_running(self) -> None:
        self.started = True
        self.node.phase = "Running"
        if self.node.started_at is None:
            self.node.started_at = self.m.now
        self.m.touch(self.node)

    def finish(self, phase: str, message: str = "") -> None:
        if self.done:
            return
        self.done = True
        self.node.phase = phase
        if message or phase == "Succeeded":
            self.node.message = message
        if self.node.started_at is None:
            self.node.started_at = self.m.now
        self.node.finished_at = self.m.now
        self.m.touch(self.node)
        # Deferred, so a long chain of instant completions (skipped steps, loops of
        # suspends) never deepens the Python stack. The parent hears first, before
        # freed slots go to waiting nodes, so it can still cancel them (failFast).
        parent = self.parent
        if parent is not None:
            self.m.defer(lambda: parent.child_done(self))
        else:
            self.m.defer(lambda: self.m.root_done(self))
        self.m.on_ctl_done(self)
