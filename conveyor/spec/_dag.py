"""Lint a DAG template: task names, dependencies, cycles and targets.

See https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/ and
https://argo-workflows.readthedocs.io/en/latest/enhanced-depends-logic/.
All graph work is iterative and linear, so 10,000-task DAGs lint quickly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from conveyor.spec._context import LintContext, names_list
from conveyor.spec._depends import ITEM_RESULTS, TASK_RESULTS, parse_depends
from conveyor.spec._names import field_name_problem
from conveyor.spec._shape import as_dict, as_list, as_str, is_templated, item_keys

__all__ = ["check_dag", "LOOP_FIELDS"]

LOOP_FIELDS = ("withItems", "withParam", "withSequence")
_MAX_CYCLES_REPORTED = 20
_TASK_REF = re.compile(r"\{\{\s*tasks\.([A-Za-z0-9][-A-Za-z0-9]*)\.")


def _loops(task: dict[str, Any]) -> bool:
    return any(task.get(f) not in (None, "", []) for f in LOOP_FIELDS)


def check_dag(ctx: LintContext, tmpl: dict[str, Any], path: str) -> None:
    tname = as_str(tmpl.get("name")) or "(inline)"
    dag = as_dict(tmpl.get("dag"))
    dpath = f"{path}.dag"
    tasks = [t for t in as_list(dag.get("tasks")) if isinstance(t, dict)]
    if not tasks:
        if isinstance(
            dag.get("tasks"), list
        ):  # a missing `tasks` is reported by structural validation
            ctx.add(f"{dpath}.tasks", f"dag template {tname!r} has no tasks; add at least one")
        return
    keys = item_keys(as_list(dag.get("tasks")))
    keys = [keys[i] for i, t in enumerate(as_list(dag.get("tasks"))) if isinstance(t, dict)]
    tpaths = [f"{dpath}.tasks[{k}]" for k in keys]
    names = [as_str(t.get("name")) for t in tasks]
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name:
            continue
        if name in index:
            ctx.add(
                f"{tpaths[i]}.name",
                f"task name {name!r} appears twice in dag template {tname!r}; task names must be unique",
            )
            continue
        index[name] = i
        message = field_name_problem("task", name)
        if message:
            ctx.add(f"{tpaths[i]}.name", message)
    _check_dependency_style(ctx, tasks, names, tpaths, dpath, tname)
    graph = _graph(ctx, tasks, names, tpaths, index, tname)
    cyclic = _report_cycles(ctx, graph, tasks, tpaths, index)
    _check_target(ctx, dag, dpath, index, tname)
    if not cyclic:
        _check_argument_refs(ctx, tasks, names, tpaths, graph, index)


def _check_dependency_style(
    ctx: LintContext,
    tasks: list[dict[str, Any]],
    names: list[str],
    tpaths: list[str],
    dpath: str,
    tname: str,
) -> None:
    depends_only: list[int] = []
    dependencies_only: list[int] = []
    using_depends = any(as_str(t.get("depends")).strip() for t in tasks)
    for i, task in enumerate(tasks):
        has_depends = bool(as_str(task.get("depends")).strip())
        has_deps = bool(as_list(task.get("dependencies")))
        if has_depends and has_deps:
            ctx.add(
                tpaths[i],
                f"task {names[i]!r} sets both `depends` and `dependencies`; use one of them (`depends` can express more)",
            )
        elif has_depends:
            depends_only.append(i)
        elif has_deps:
            dependencies_only.append(i)
        if (using_depends or has_deps) and names[i][:1].isdigit():
            ctx.add(
                f"{tpaths[i]}.name",
                f"task name {names[i]!r} starts with a digit, which Argo forbids in a DAG that uses "
                "depends or dependencies; rename it to start with a letter",
            )
        if using_depends and task.get("continueOn") is not None:
            ctx.add(
                f"{tpaths[i]}.continueOn",
                f"task {names[i]!r} sets continueOn, which Argo does not allow in a DAG that uses `depends`; "
                f'let the dependent tasks accept the failure instead, e.g. depends: "{names[i]}.Failed || {names[i]}.Succeeded"',
            )
    if depends_only and dependencies_only:
        a, b = names[depends_only[0]], names[dependencies_only[0]]
        ctx.add(
            f"{tpaths[dependencies_only[0]]}.dependencies",
            f"dag template {tname!r} mixes `depends` (task {a!r}) and `dependencies` (task {b!r}); "
            "Argo rejects that, so use one of them in every task",
        )


def _graph(
    ctx: LintContext,
    tasks: list[dict[str, Any]],
    names: list[str],
    tpaths: list[str],
    index: dict[str, int],
    tname: str,
) -> dict[int, list[int]]:
    """Task index -> indexes of the tasks it depends on (known ones, no self edges)."""
    graph: dict[int, list[int]] = {}
    for i, task in enumerate(tasks):
        edges: list[int] = []
        named: list[tuple[str, str]] = []  # (dependency, path of the field naming it)
        depends = task.get("depends")
        if isinstance(depends, str) and depends.strip():
            deps, error = parse_depends(depends)
            if error:
                ctx.add(f"{tpaths[i]}.depends", f"cannot read depends {depends!r}: {error}")
            for dep in deps:
                named.append((dep.task, f"{tpaths[i]}.depends"))
                if dep.result is not None and dep.result not in TASK_RESULTS:
                    ctx.add(
                        f"{tpaths[i]}.depends",
                        f"depends tests {dep.task}.{dep.result}, but {dep.result!r} is not a task result; "
                        f"use one of {', '.join(TASK_RESULTS)}",
                    )
                elif (
                    dep.result in ITEM_RESULTS
                    and dep.task in index
                    and not _loops(tasks[index[dep.task]])
                ):
                    ctx.add(
                        f"{tpaths[i]}.depends",
                        f"depends tests {dep.task}.{dep.result}, which only applies to a task that loops "
                        f"(withItems/withParam/withSequence), and task {dep.task!r} does not",
                    )
        for j, dep_name in enumerate(as_list(task.get("dependencies"))):
            if isinstance(dep_name, str):
                named.append((dep_name, f"{tpaths[i]}.dependencies[{j}]"))
        for dep_name, where in named:
            if dep_name == names[i]:
                ctx.add(where, f"task {names[i]!r} depends on itself; remove that dependency")
            elif dep_name not in index:
                ctx.add(
                    where,
                    f"task {names[i]!r} depends on {dep_name!r}, which is not a task of dag template "
                    f"{tname!r} (tasks: {names_list(index)})",
                )
            elif index[dep_name] not in edges:
                edges.append(index[dep_name])
        graph[i] = edges
    return graph


def _report_cycles(
    ctx: LintContext,
    graph: dict[int, list[int]],
    tasks: list[dict[str, Any]],
    tpaths: list[str],
    index: dict[str, int],
) -> bool:
    names = [as_str(t.get("name")) for t in tasks]
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    reported: set[frozenset[int]] = set()
    for start in graph:
        if start in state:
            continue
        path: list[int] = [start]
        position = {start: 0}
        state[start] = 1
        stack = [iter(graph[start])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                done = path.pop()
                del position[done]
                state[done] = 2
                stack.pop()
            elif nxt not in state:
                state[nxt] = 1
                position[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(graph[nxt]))
            elif state[nxt] == 1:
                cycle = path[position[nxt] :]
                key = frozenset(cycle)
                if key not in reported and len(reported) < _MAX_CYCLES_REPORTED:
                    reported.add(key)
                    first = cycle[0]
                    field = (
                        "depends" if as_str(tasks[first].get("depends")).strip() else "dependencies"
                    )
                    chain = " -> ".join(names[n] for n in [*cycle, cycle[0]])
                    ctx.add(
                        f"{tpaths[first]}.{field}",
                        f"tasks depend on each other in a cycle: {chain} ('X -> Y' means X depends "
                        "on Y); a DAG cannot loop, so remove one of these dependencies",
                    )
    return bool(reported)


def _check_target(
    ctx: LintContext, dag: dict[str, Any], dpath: str, index: dict[str, int], tname: str
) -> None:
    target = dag.get("target")
    if not isinstance(target, str) or is_templated(target):
        return
    for name in target.split():
        if name not in index:
            ctx.add(
                f"{dpath}.target",
                f"target {name!r} is not a task of dag template {tname!r} (tasks: {names_list(index)})",
            )


def _check_argument_refs(
    ctx: LintContext,
    tasks: list[dict[str, Any]],
    names: list[str],
    tpaths: list[str],
    graph: dict[int, list[int]],
    index: dict[str, int],
) -> None:
    """A task passing `{{tasks.X...}}` in its arguments must (transitively) depend on X."""
    refs: dict[int, list[str]] = {}
    for i, task in enumerate(tasks):
        if task.get("arguments") is not None:
            found = _TASK_REF.findall(json.dumps(task.get("arguments"), default=str))
            if found:
                refs[i] = list(dict.fromkeys(found))
    if not refs:
        return
    ancestors = _ancestors(graph)
    for i, used in refs.items():
        for name in used:
            j = index.get(name)
            if j is None:
                ctx.add(
                    f"{tpaths[i]}.arguments",
                    f"task {names[i]!r} uses the outputs of {name!r}, which is not a task of this DAG",
                )
            elif j != i and not ancestors[i] >> j & 1:
                ctx.add(
                    f"{tpaths[i]}.arguments",
                    f"task {names[i]!r} uses the outputs of task {name!r} but does not depend on it, so "
                    f"it may run first; add {name!r} to its depends",
                )


def _ancestors(graph: dict[int, list[int]]) -> dict[int, int]:
    """Bit sets of every task's ancestors, in one pass over a topological order."""
    remaining = {n: len(deps) for n, deps in graph.items()}
    dependents: dict[int, list[int]] = {n: [] for n in graph}
    for n, deps in graph.items():
        for d in deps:
            dependents[d].append(n)
    ready = [n for n, count in remaining.items() if count == 0]
    ancestors = {n: 0 for n in graph}
    while ready:
        n = ready.pop()
        for child in dependents[n]:
            ancestors[child] |= ancestors[n] | (1 << n)
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    return ancestors
