"""Expansion checks: recursion that cannot end, and loops that surely make too many nodes.

Both look only at what surely runs, so they never refuse a workflow that could
have run: the steps of a `steps` template's first group and the DAG tasks that
depend on nothing (in a DAG without `target`), with no `when`, and a loop only
when its items are written out. Through those, a template that reaches itself
recurses without end (Argo would stop it at its depth limit, conveyor's engine
at its own), and a template whose loops multiply past CONVEYOR_MAX_NODES would
fail only after creating as many nodes as it was allowed. Refusing both on
submit keeps the store and the server's memory out of it.
See https://argo-workflows.readthedocs.io/en/latest/walk-through/recursion/
and https://argo-workflows.readthedocs.io/en/latest/walk-through/loops/.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from conveyor.spec._context import LintContext
from conveyor.spec._shape import as_dict, as_list, as_str, is_templated, item_keys

__all__ = ["check_expansion", "int_or_none", "literal_loop_size"]

#: node counts are capped here, so that a long chain of loops stays a small number
_CAP = 10**12
_MAX_CYCLES_REPORTED = 20


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None  # templated or wrong: checked at runtime or by structural validation


def literal_loop_size(holder: dict[str, Any]) -> int | None:
    """How many items a step's or task's loop makes, when they are written out.

    None when it does not loop, or when only the run can tell (a templated
    withParam or withSequence field).
    """
    items = holder.get("withItems")
    if isinstance(items, list):
        return len(items)
    param = holder.get("withParam")
    if isinstance(param, str) and param.strip() and not is_templated(param):
        try:
            value = json.loads(param)
        except ValueError:
            return None  # the run reports it
        return len(value) if isinstance(value, list) else None
    seq = holder.get("withSequence")
    if isinstance(seq, dict):
        if seq.get("count") not in (None, ""):
            count = int_or_none(seq["count"])
            return None if count is None else max(count, 0)
        # as the engine reads it: `end` defaults to 0, `start` to 0
        start, end = int_or_none(seq.get("start") or 0), int_or_none(seq.get("end") or 0)
        return None if start is None or end is None else abs(end - start) + 1
    return None


class _Call(NamedTuple):
    target: str
    times: int  # at least this many runs of the target
    path: str
    label: str


def _sure_times(holder: dict[str, Any]) -> int:
    """How many times a step or task surely runs its template (0: it may not run)."""
    when = holder.get("when")
    if when not in (None, "", False):
        return 0
    if all(holder.get(f) in (None, "") for f in ("withItems", "withParam", "withSequence")):
        return 1
    size = literal_loop_size(holder)
    return size if size is not None else 0


def _sure_calls(
    tmpl: dict[str, Any], path: str, local: dict[str, dict[str, Any]], max_items: int
) -> list[_Call]:
    """The local templates `tmpl` surely runs, each with how many times.

    A loop over the item limit counts as the limit: it is reported on its own.
    """
    holders: list[tuple[dict[str, Any], str, str]] = []
    groups = as_list(tmpl.get("steps"))
    if groups:
        first = as_list(groups[0])
        keys = item_keys(first)
        holders.extend(
            (s, f"{path}.steps[0][{keys[i]}]", "step")
            for i, s in enumerate(first)
            if isinstance(s, dict)
        )
    dag = as_dict(tmpl.get("dag"))
    if dag and not dag.get("target"):
        tasks = as_list(dag.get("tasks"))
        keys = item_keys(tasks)
        holders.extend(
            (t, f"{path}.dag.tasks[{keys[i]}]", "task")
            for i, t in enumerate(tasks)
            if isinstance(t, dict) and not t.get("depends") and not t.get("dependencies")
        )
    calls = []
    for holder, hpath, kind in holders:
        target = holder.get("template")
        if (
            not isinstance(target, str)
            or is_templated(target)
            or holder.get("templateRef") is not None
        ):
            continue
        found = local.get(target)
        # A memoized template may answer from a cache an earlier run filled, and run nothing.
        if found is None or found.get("memoize") is not None:
            continue
        times = min(_sure_times(holder), max_items)
        if times:
            calls.append(
                _Call(target, times, hpath, f"{kind} {as_str(holder.get('name')) or '?'!r}")
            )
    return calls


def check_expansion(ctx: LintContext, spec: dict[str, Any], spec_path: str) -> None:
    """Report endless recursion and sure fan-out past the node limit among the spec's own templates."""
    local = ctx.templates
    if not local:
        return
    templates = as_list(spec.get("templates"))
    keys = item_keys(templates)
    paths = {}
    for i, tmpl in enumerate(templates):
        name = as_str(as_dict(tmpl).get("name"))
        if name in local and local[name] is tmpl:
            paths[name] = f"{spec_path}.templates[{keys[i]}]"
    max_items = ctx.limits.max_loop_items
    calls = {
        name: _sure_calls(tmpl, paths.get(name, spec_path), local, max_items)
        for name, tmpl in local.items()
    }
    endless = _report_recursion(ctx, calls)
    _report_fan_out(ctx, calls, endless)


def _report_recursion(ctx: LintContext, calls: dict[str, list[_Call]]) -> set[str]:
    """Report each cycle of sure calls once; the templates that are on or reach one."""
    state: dict[str, int] = {}  # 1: on the DFS stack, 2: done
    endless: set[str] = set()
    reported = 0
    for root in calls:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            name, i = stack[-1]
            if i < len(calls[name]):
                stack[-1] = (name, i + 1)
                call = calls[name][i]
                seen = state.get(call.target)
                if seen is None:
                    state[call.target] = 1
                    stack.append((call.target, 0))
                elif seen == 1:
                    on_stack = [n for n, _ in stack]
                    cycle = on_stack[on_stack.index(call.target) :] + [call.target]
                    endless.update(cycle)
                    if reported < _MAX_CYCLES_REPORTED:
                        reported += 1
                        ctx.add(
                            call.path,
                            f"{call.label} runs template {call.target!r} again ({' -> '.join(cycle)}), and nothing "
                            "can stop it: the recursion has no end. Give the step or task a `when` that ends "
                            "it, or move it after a step that can fail",
                        )
                elif call.target in endless:
                    endless.add(name)
            else:
                stack.pop()
                state[name] = 2
                if any(c.target in endless for c in calls[name]):
                    endless.add(name)
    return endless


def _report_fan_out(ctx: LintContext, calls: dict[str, list[_Call]], endless: set[str]) -> None:
    limit = ctx.limits.max_nodes
    nodes: dict[str, int] = {}
    for root in calls:
        if root in endless or root in nodes:
            continue
        # Iterative post-order: a template's count needs its callees' counts first.
        stack = [root]
        while stack:
            name = stack[-1]
            pending = [c.target for c in calls[name] if c.target not in nodes]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if name in nodes:
                continue
            nodes[name] = min(_CAP, 1 + sum(c.times * nodes[c.target] for c in calls[name]))
    for name, count in nodes.items():
        if count <= limit or any(nodes[c.target] > limit for c in calls[name]):
            continue  # fine, or a callee is the one to report
        worst = max(calls[name], key=lambda c: c.times * nodes[c.target])
        more = "" if count < _CAP else "more than "
        ctx.add(
            worst.path,
            f"{worst.label} runs template {worst.target!r} {worst.times:,} times, so template {name!r} surely "
            f"creates {more}{count:,} nodes; a workflow may have at most {limit:,} (CONVEYOR_MAX_NODES). "
            "Loop over batches, split the work into several workflows, or raise the limit",
        )
