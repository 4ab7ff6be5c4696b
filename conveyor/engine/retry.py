"""Retrying a finished workflow, by editing its event history.

The engine's state is a function of its events, so a retry is the same
history without the results of the pods that should run again: replaying it
leaves those pods "running", and the `recovered` event launches them. Nodes
that succeeded keep their results and never run again, unless
`restartSuccessful` and a node field selector name them; then they and every
node downstream of them run again too.
https://argo-workflows.readthedocs.io/en/latest/retries/#retrying-a-workflow
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.errors import InvalidInput

__all__ = ["pods_to_rerun", "retry_events", "match_selector"]

_SELECTOR_FIELDS = {"displayName", "name", "id", "templateName", "phase"}


def match_selector(node: Mapping[str, Any], selector: str) -> bool:
    """Argo's nodeFieldSelector: comma-separated `field=value` / `field!=value` terms, all of which must hold."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        field, _, value = term.partition("!=" if negate else "=")
        field = field.strip()
        if field not in _SELECTOR_FIELDS:
            raise InvalidInput(
                f"nodeFieldSelector {selector!r}: field {field!r} is not supported; use one of {sorted(_SELECTOR_FIELDS)}"
            )
        if (str(node.get(field, "")) == value.strip()) == negate:
            return False
    return True


def pods_to_rerun(
    nodes: Mapping[str, Mapping[str, Any]], *, restart_successful: bool = False, selector: str | None = None
) -> set[str]:
    """IDs of the pod nodes whose results a retry forgets."""
    # A Retry node's earlier attempts failed and were already retried: only its
    # last attempt (and what ran inside it) counts.
    superseded: set[str] = set()
    for node in nodes.values():
        if node.get("type") == "Retry":
            prefix = f"{node.get('name')}("
            attempts = [c for c in node.get("children") or [] if str(nodes.get(c, {}).get("name", "")).startswith(prefix)]
            for old in attempts[:-1]:
                superseded |= _reachable(nodes, old)
    rerun = {
        nid for nid, n in nodes.items()
        if n.get("type") == "Pod" and n.get("phase") in ("Failed", "Error") and nid not in superseded
    }
    if restart_successful and selector:
        for nid, node in nodes.items():
            if match_selector(node, selector):
                rerun |= {d for d in _reachable(nodes, nid) if nodes[d].get("type") == "Pod"}
    return rerun


def _reachable(nodes: Mapping[str, Mapping[str, Any]], start: str) -> set[str]:
    """`start` and every node reachable through `children`: what runs inside it and,
    since children edges also lead to the next step group or dependent task, after it."""
    seen, stack = set(), [start]
    while stack:
        nid = stack.pop()
        if nid in seen or nid not in nodes:
            continue
        seen.add(nid)
        stack.extend(nodes[nid].get("children") or [])
    return seen


def retry_events(events: Sequence[Mapping[str, Any]], rerun: set[str]) -> list[dict[str, Any]]:
    """The history without the results of `rerun` and without stop/terminate requests."""
    kept = []
    for event in events:
        kind = event.get("type")
        if kind in ("stop", "terminate"):
            continue
        if kind == "task_finished" and event.get("node") in rerun:
            continue
        kept.append(dict(event))
    return kept
