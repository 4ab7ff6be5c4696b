"""DAG templates: tasks run when their `depends` (or `dependencies`) are met.

https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/
https://argo-workflows.readthedocs.io/en/latest/enhanced-depends-logic/

A task whose dependencies have all resolved is evaluated once: its `depends`
expression true -> it runs (or is Skipped by `when`), false -> it is Omitted.
The DAG's phase comes from its target tasks (`target`, or the leaves): an
Omitted target takes the worst phase of the branch that led to it, so a failure
upstream of an omitted leaf fails the DAG. With failFast (the default) no new
task starts once a target's branch has failed.
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
from conveyor.engine.nodes import FAILED, Node
from conveyor.engine.params import loop_scope, node_scope
from conveyor.errors import ConveyorError
from conveyor.expr import Depends, compile_depends, dependencies_to_depends, substitute

__all__ = ["DagCtl"]

_SUFFIX_PHASE = {"Succeeded": "Succeeded", "Failed": "Failed", "Errored": "Error", "Skipped": "Skipped", "Omitted": "Omitted"}


class _Task:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.depends: Depends | None = None
        self.deps: list[str] = []
        self.dependents: list[str] = []
        self.waiting = 0
        self.node: Node | None = None  # the task's node, or its TaskGroup
        self.items: list[Node] = []
        self.open = 0
        self.resolved = False
        self.branch = ""
        self.culprit: Node | None = None  # the failed node a failed branch comes from


class DagCtl(Ctl):
    def start(self) -> None:
        self.mark_running()
        dag = self.tmpl.get("dag") or {}
        self.parallelism = int(self.tmpl["parallelism"]) if self.tmpl.get("parallelism") not in (None, "") else None
        self.fail_fast = dag.get("failFast") is not False
        self.tripped = False
        self.results: dict[str, Any] = {}
        self.scope = ChainMap(self.results, self.scope)
        self.tasks: dict[str, _Task] = {}
        try:
            self._plan(dag)
        except ConveyorError as exc:
            self.finish("Error", str(exc))
            return
        self.unresolved = len(self.needed)
        if not self.needed:
            self.m.defer(self._complete)
            return
        roots = [self.tasks[n] for n in self.order if n in self.needed and self.tasks[n].waiting == 0]
        for task in roots:
            self._evaluate(task)

    def _plan(self, dag: Mapping[str, Any]) -> None:
        self.order: list[str] = []
        for spec in dag.get("tasks") or []:
            task = _Task(spec)
            self.tasks[task.name] = task
            self.order.append(task.name)
        for task in self.tasks.values():
            spec = task.spec
            source = spec.get("depends")
            if not source and spec.get("dependencies"):
                source = dependencies_to_depends(list(spec["dependencies"]))
            if source:
                task.depends = compile_depends(str(source))
                task.deps = sorted(task.depends.task_names)
                for dep in task.deps:
                    if dep not in self.tasks:
                        raise ConveyorError(f"task {task.name!r} depends on {dep!r}, which is not a task of this DAG")
                    self.tasks[dep].dependents.append(task.name)
        target = substitute(dag.get("target"), self.scope) if dag.get("target") else None
        if target:
            self.targets = [t for t in str(target).replace(",", " ").split() if t]
            for t in self.targets:
                if t not in self.tasks:
                    raise ConveyorError(f"dag target {t!r} is not a task of this DAG")
            needed: set[str] = set()
            stack = list(self.targets)
            while stack:
                name = stack.pop()
                if name not in needed:
                    needed.add(name)
                    stack.extend(self.tasks[name].deps)
            self.needed = needed
        else:
            self.targets = [n for n in self.order if not self.tasks[n].dependents]
            self.needed = set(self.order)
        for name in self.needed:
            self.tasks[name].waiting = len(self.tasks[name].deps)

    # -- running tasks ---------------------------------------------------
    def _evaluate(self, task: _Task) -> None:
        m = self.m
        if task.node is not None or task.resolved:
            return
        if self.tripped or m.halted(self) is not None:
            self._resolve(task)
            return
        name = f"{self.node.name}.{task.name}"
        tmpl_name = task.spec.get("template")
        if task.depends is not None and not task.depends.evaluate(self._pred):
            task.node = m.new_node(name, task.name, "Skipped", template_name=tmpl_name, boundary_id=self.node.id)
            self._instant(task, task.node, "Omitted", "omitted: depends condition not met")
            self._link(task)
            self._resolve(task)
            return
        try:
            items = expand_loop(task.spec, self.scope, m.max_loop_items)
        except ConveyorError as exc:
            task.node = m.new_node(name, task.name, "Skipped", template_name=tmpl_name, boundary_id=self.node.id)
            self._instant(task, task.node, "Error", str(exc))
            self._link(task)
            self._resolve(task)
            return
        if items is None:
            node = self._call(task, name, task.name, {})
            task.node = node
            self._link(task)
            if task.open == 0:
                self._resolve(task)
            return
        group = m.new_node(name, task.name, "TaskGroup", template_name=tmpl_name, boundary_id=self.node.id)
        group.phase, group.started_at = "Running", m.now
        task.node = group
        self._link(task)
        if not items:
            self._instant(task, group, "Skipped", "Skipped, empty params")
            self._resolve(task)
            return
        for j, item in enumerate(items):
            label = f"({j}:{item_label(item)})"
            child = self._call(task, name + label, task.name + label, item_scope(item))
            group.add_child(child.id)
            task.items.append(child)
        if task.open == 0:
            self._group_done(task)

    def _call(self, task: _Task, name: str, display: str, extra: dict[str, Any]) -> Node:
        m = self.m
        scope = ChainMap(extra, self.scope) if extra else self.scope
        tmpl_name = task.spec.get("template")
        try:
            reason = skip_reason(task.spec, scope)
            args = None if reason else call_arguments(task.spec, scope)
        except ConveyorError as exc:
            node = m.new_node(name, display, "Skipped", template_name=tmpl_name, boundary_id=self.node.id)
            self._instant(task, node, "Error", str(exc))
            return node
        if reason is not None:
            node = m.new_node(name, display, "Skipped", template_name=tmpl_name, boundary_id=self.node.id)
            self._instant(task, node, "Skipped", reason)
            node.outputs = skipped_outputs(m, task.spec)
            return node
        task.open += 1
        ctl = m.invoke(self, name=name, display=display, call=task.spec, args=args or {}, boundary=self, depth=self.depth + 1)  # type: ignore[attr-defined]
        ctl.task = task  # type: ignore[attr-defined]
        ctl.item_scope = extra  # type: ignore[attr-defined]
        return ctl.node

    def _instant(self, task: _Task, node: Node, phase: str, message: str) -> None:
        node.phase, node.message = phase, message
        node.started_at = node.finished_at = self.m.now
        self.m.touch(node)

    def _link(self, task: _Task) -> None:
        assert task.node is not None
        if not task.deps:
            self.node.add_child(task.node.id)
        for dep in task.deps:
            dn = self.tasks[dep].node
            if dn is not None:
                for nid in self.m.outbound(dn):
                    self.m.nodes[nid].add_child(task.node.id)

    def _pred(self, name: str, suffix: str | None) -> bool:
        task = self.tasks.get(name)
        node = task.node if task else None
        if task is None or node is None:
            return False
        phase = node.phase
        if suffix is None:
            return phase in ("Succeeded", "Skipped") or continues_on(task.spec, phase)
        if suffix == "AnySucceeded":
            return any(n.phase == "Succeeded" for n in task.items) if task.items else phase == "Succeeded"
        if suffix == "AllFailed":
            return all(n.failed for n in task.items) if task.items else phase in FAILED
        if suffix == "Daemoned":
            return False
        return phase == _SUFFIX_PHASE.get(suffix, "")

    def child_done(self, child: Ctl) -> None:
        task: _Task | None = getattr(child, "task", None)
        if task is None:  # an exit hook finished; its task is `child.hook_task`
            task = getattr(child, "hook_task", None)
            if task is not None:
                self._closed(task)
            return
        if not task.items:
            self.results.update(node_scope(f"tasks.{task.name}", child.node))
        if run_exit_hook(self, task.spec, child, ChainMap(getattr(child, "item_scope", {}), self.scope)):
            hook = self.children[-1]
            hook.hook_task = task  # type: ignore[attr-defined]
            return
        self._closed(task)

    def _closed(self, task: _Task) -> None:
        task.open -= 1
        if task.open == 0:
            if task.items:
                self._group_done(task)
            else:
                self._resolve(task)

    def _group_done(self, task: _Task) -> None:
        group = task.node
        assert group is not None
        failed = [n for n in task.items if n.failed and not continues_on(task.spec, n.phase)]
        group.phase = failed[0].phase if failed else "Succeeded"
        if failed:
            group.message = f"child '{failed[0].id}' failed"
        group.finished_at = self.m.now
        self.m.touch(group)
        self._resolve(task)

    def _resolve(self, task: _Task) -> None:
        if task.resolved:
            return
        task.resolved = True
        node = task.node
        if node is not None:
            if task.items:
                self.results.update(loop_scope(f"tasks.{task.name}", node, task.items))
            elif node.type == "Skipped":
                self.results.update(node_scope(f"tasks.{task.name}", node))
            if node.phase == "Omitted":
                deps = [self.tasks[d] for d in task.deps]
                worst = next((d for d in deps if d.branch in FAILED), None)
                task.branch = worst.branch if worst else next((d.branch for d in deps if d.branch), "")
                task.culprit = worst.culprit if worst else None
            else:
                task.branch = node.phase
                task.culprit = node if node.failed else None
            if (
                self.fail_fast
                and task.name in self.targets
                and task.branch in FAILED
                and not continues_on(task.spec, task.branch)
            ):
                self.tripped = True
        self.unresolved -= 1
        for name in task.dependents:
            dep = self.tasks[name]
            if name in self.needed and not dep.resolved:
                dep.waiting -= 1
                if dep.waiting == 0:
                    self._evaluate(dep)
        if self.unresolved == 0:
            self.m.defer(self._complete)

    def _complete(self) -> None:
        if self.done:
            return
        outbound: list[str] = []
        phase, message = "Succeeded", ""
        for name in self.targets:
            task = self.tasks[name]
            if task.node is not None:
                outbound.extend(self.m.outbound(task.node))
            if task.branch in FAILED and not continues_on(task.spec, task.branch) and phase == "Succeeded":
                phase = task.branch
                culprit = task.culprit
                message = f"child '{culprit.id}' failed" if culprit else f"task '{name}' failed"
        if phase == "Succeeded" and (self.tripped or self.m.halted(self) is not None):
            phase, message = "Failed", self.m.halted(self) or "a task failed and failFast stopped the DAG"
        self.node.outbound = outbound
        if phase != "Succeeded":
            self.finish(phase, message)
            return
        succeed_with_outputs(self)
