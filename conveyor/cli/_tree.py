"""Rendering a workflow's nodes as a tree, like `argo get`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

__all__ = ["render_workflow", "children_of", "ICONS", "duration_s", "human", "timestamp"]

ICONS = {
    "Succeeded": ("✔", "green"),
    "Failed": ("✖", "red"),
    "Error": ("⚠", "red"),
    "Running": ("●", "cyan"),
    "Pending": ("◷", "yellow"),
    "Skipped": ("○", "dim"),
    "Omitted": ("○", "dim"),
}
_CONTAINERS = ("StepGroup", "TaskGroup", "Retry", "Steps", "DAG")
#: beyond this many nodes the tree shows only what is not done yet, plus counts
_MAX_TREE_NODES = 300


def timestamp(value: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (Argo writes UTC, `...Z`); None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def duration_s(obj: Mapping[str, Any], now: float) -> float | None:
    start = timestamp(obj.get("startedAt"))
    if start is None:
        return None
    end = timestamp(obj.get("finishedAt")) or now
    return max(0.0, end - start)


def human(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _label(node: Mapping[str, Any], now: float) -> Text:
    icon, style = ICONS.get(node.get("phase", ""), ("?", ""))
    text = Text()
    text.append(f"{icon} ", style=style)
    text.append(node.get("displayName", node.get("name", "")), style="bold" if node.get("type") == "Pod" else "")
    if node.get("templateName") and node.get("type") not in ("StepGroup",):
        text.append(f"  {node['templateName']}", style="dim")
    if node.get("type") == "Pod":
        text.append(f"  {human(duration_s(node, now))}", style="dim")
    if node.get("message") and node.get("phase") not in ("Succeeded", "Running"):
        text.append(f"  {node['message']}", style=style or "dim")
    return text


def children_of(nodes: Mapping[str, Mapping[str, Any]]) -> dict[str | None, list[str]]:
    """parent node ID (None for the roots) -> child IDs, in the nodes' order.

    A node's parent is the steps/DAG/group/retry node listing it as a child, else its boundary.
    """
    parent: dict[str, str] = {}
    for nid, node in nodes.items():
        if node.get("type") in _CONTAINERS:
            for child in node.get("children") or []:
                parent.setdefault(child, nid)
    kids: dict[str | None, list[str]] = {}
    for nid, node in nodes.items():
        p = parent.get(nid) or node.get("boundaryID")
        kids.setdefault(p if p in nodes else None, []).append(nid)
    return kids


def render_workflow(wf: Mapping[str, Any], now: float) -> Table | Tree:
    meta, status = wf.get("metadata") or {}, wf.get("status") or {}
    nodes: dict[str, dict[str, Any]] = status.get("nodes") or {}
    phase = status.get("phase", "Pending")
    icon, style = ICONS.get(phase, ("?", ""))
    head = Text()
    head.append(f"{icon} {meta.get('name', '')}", style=f"bold {style}")
    head.append(f"  {phase}  {status.get('progress', '')}  {human(duration_s(status, now))}", style="dim")
    if status.get("message"):
        head.append(f"  {status['message']}", style=style)
    tree = Tree(head)
    if not nodes:
        return tree
    kids = children_of(nodes)
    big = len(nodes) > _MAX_TREE_NODES
    if big:
        counts: dict[str, int] = {}
        for node in nodes.values():
            if node.get("type") == "Pod":
                counts[node.get("phase", "")] = counts.get(node.get("phase", ""), 0) + 1
        tree.add(Text(f"{len(nodes)} nodes; pods: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), style="dim"))
    stack: list[tuple[Tree, str]] = [(tree, nid) for nid in reversed(kids.get(None, []))]
    shown = 0
    while stack:
        branch, nid = stack.pop()
        node = nodes[nid]
        if big and node.get("phase") not in ("Running", "Pending", "Failed", "Error") and node.get("type") == "Pod":
            continue
        shown += 1
        if shown > _MAX_TREE_NODES:
            tree.add(Text("… (more nodes not shown)", style="dim"))
            break
        sub = branch.add(_label(node, now))
        for child in reversed(kids.get(nid, [])):
            stack.append((sub, child))
    return tree
