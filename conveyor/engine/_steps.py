"""Steps templates: groups run in sequence, the steps of a group in parallel.

https://argo-workflows.readthedocs.io/en/latest/walk-through/steps/
Node names follow Argo: `<steps>[i]` for a group, `<steps>[i].<step>` for a
step and `<steps>[i].<step>(j:<item>)` for a loop item.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from conveyor.engine._ctl import Ctl
from conveyor.engine._outputs import succeed_with_outputs
from conveyor.engine._scope import (
    call_arguments,
    continues_on,
    run_exit_hook,
    skip_reason,
    skipped_outputs,
)
from conveyor.engine.loops import expand_loop, item_label, item_scope
from conveyor.engine.nodes import Node
from conveyor.engine.params import loop_scope, node_scope
from conveyor.errors import ConveyorError

__all__ = ["StepsCtl"]


class _Step:
    """One step of the current group: its invocations (several for a loop) and hooks."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.name: str = spec.get("name", "")
        self.loop = False
        self.items: list[Ctl] = []
        self.nodes: list[Node] = []
        self.pending = 0


class StepsCtl(Ctl):
    def start(self) -> None:
        self.mark_running()
        self.parallelism = _int(self.tmpl.get("parallelism"))
        self.groups: list[list[Mapping[str, Any]]] = [
            g.get("steps", []) if isinstance(g, Mapping) else list(g) for g in self.tmpl.get("steps") or []
        ]
        self.results: dict[str, Any] = {}
        self.scope = ChainMap(self.results, self.scope)
        self.index = -1
        self.prev_outbound: list[str] = []
        self.failure: str | None = None
        self._next_group()

    def _next_group(self) -> None:
        m = self.m
        self.index += 1
        if self.failure is not None or m.halted(self) is not None or self.index >= len(self.groups):
            self._complete()
            return
        i = self.index
        sg = m.new_node(f"{self.node.name}[{i}]", f"[{i}]", "StepGroup", template_name=self.node.template_name, boundary_id=self.node.id)
        sg.phase, sg.started_at = "Running", m.now
        if i == 0:
            self.node.add_child(sg.id)
        for nid in self.prev_outbound:
            m.nodes[nid].add_child(sg.id)
        self.group_node = sg
        self.steps = [_Step(spec) for spec in self.groups[i]]
        self.open = 0
        for step in self.steps:
            self._launch(step)
        if self.open == 0:
            m.defer(self._group_done)

    def _launch(self, step: _Step) -> None:
        m, sg = self.m, self.group_node
        base = f"{sg.name}.{step.name}"
        try:
            items = expand_loop(step.spec, self.scope, m.max_loop_items)
        except ConveyorError as exc:
            node = m.new_node(base, step.name, "Skipped", boundary_id=self.node.id)
            self._instant(step, node, "Error", str(exc))
            return
        if items is None:
            self._call(step, base, step.name, {})
            return
        step.loop = True
        if not items:
            node = m.new_node(base, step.name, "Skipped", template_name=step.spec.get("template"), boundary_id=self.node.id)
            self._instant(step, node, "Skipped", "Skipped, empty params")
            return
        for j, item in enumerate(items):
            label = f"({j}:{item_label(item)})"
            self._call(step, base + label, step.name + label, item_scope(item))

    def _call(self, step: _Step, name: str, display: str, extra: dict[str, Any]) -> None:
        m = self.m
        scope = ChainMap(extra, self.scope) if extra else self.scope
        try:
            reason = skip_reason(step.spec, scope)
            args = None if reason else call_arguments(step.spec, scope)
        except ConveyorError as exc:
            node = m.new_node(name, display, "Skipped", template_name=step.spec.get("template"), boundary_id=self.node.id)
            self._instant(step, node, "Error", str(exc))
            return
        if reason is not None:
            node = m.new_node(name, display, "Skipped", template_name=step.spec.get("template"), boundary_id=self.node.id)
            self._instant(step, node, "Skipped", reason)
            node.outputs = skipped_outputs(m, step.spec)
            return
        step.pending += 1
        self.open += 1
        ctl = m.invoke(self, name=name, display=display, call=step.spec, args=args or {}, boundary=self, depth=self.depth + 1)  # type: ignore[attr-defined]
        ctl.step = step  # type: ignore[attr-defined]
        ctl.item_scope = extra  # type: ignore[attr-defined]
        step.items.append(ctl)
        step.nodes.append(ctl.node)
        self.group_node.add_child(ctl.node.id)

    def _instant(self, step: _Step, node: Node, phase: str, message: str) -> None:
        node.phase, node.message = phase, message
        node.started_at = node.finished_at = self.m.now
        step.nodes.append(node)
        self.group_node.add_child(node.id)
        if phase in ("Failed", "Error") and not continues_on(step.spec, phase):
            self.failure = self.failure or f"child '{node.id}' failed"

    def child_done(self, child: Ctl) -> None:
        step: _Step | None = getattr(child, "step", None)
        if step is None:  # an exit hook finished
            self._closed()
            return
        if not step.loop:
            self.results.update(node_scope(f"steps.{step.name}", child.node))
        if child.node.failed and not continues_on(step.spec, child.node.phase):
            self.failure = self.failure or f"child '{child.node.id}' failed"
            if self.tmpl.get("failFast"):
                self._cancel_unstarted(child)
        if run_exit_hook(self, step.spec, child, ChainMap(getattr(child, "item_scope", {}), self.scope)):
            return  # the hook's own completion closes this step
        self._closed()

    def _cancel_unstarted(self, failed: Ctl) -> None:
        """Template `failFast`: children still waiting for a slot never start."""
        for step in self.steps:
            for ctl in step.items:
                if not ctl.started and not ctl.done:
                    ctl.finish("Omitted", f"not run: failFast after '{failed.node.display_name}' failed")

    def _closed(self) -> None:
        self.open -= 1
        if self.open == 0:
            self.m.defer(self._group_done)

    def _group_done(self) -> None:
        sg = self.group_node
        for step in self.steps:
            if step.loop:
                phase = "Failed" if any(n.failed for n in step.nodes) else "Succeeded"
                group = Node(id=sg.id, name=sg.name, display_name=step.name, type="StepGroup", phase=phase)
                self.results.update(loop_scope(f"steps.{step.name}", group, step.nodes))
            elif step.nodes and step.nodes[0].type == "Skipped":
                self.results.update(node_scope(f"steps.{step.name}", step.nodes[0]))
        failed = any(n.failed and not continues_on(s.spec, n.phase) for s in self.steps for n in s.nodes)
        sg.phase = "Failed" if failed else "Succeeded"
        sg.finished_at = self.m.now
        self.m.touch(sg)
        self.prev_outbound = [o for s in self.steps for n in s.nodes for o in self.m.outbound(n)]
        self._next_group()

    def _complete(self) -> None:
        self.node.outbound = self.prev_outbound
        if self.m.halted(self) is not None and self.failure is None:
            self.failure = self.m.halted(self)
        if self.failure is not None:
            self.finish("Failed", self.failure)
            return
        succeed_with_outputs(self)

    def shutdown(self, message: str, phase: str = "Failed") -> None:
        self.failure = self.failure or message
        super().shutdown(message, phase)


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)
