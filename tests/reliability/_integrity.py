"""The store's integrity check for the fault suites: SQLite's own, then conveyor's.

conveyor's: every workflow and event row parses as JSON with no key given twice, each
workflow's body names the row it sits in, uids are unique, and every node of a status
is filed under its own id, with children that exist.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from conveyor.store import Store

__all__ = ["store_problems"]


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(f"key {key!r} appears twice")
        seen[key] = value
    return seen


def _parse(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_no_duplicates)


def _node_problems(where: str, nodes: dict[str, Any]) -> list[str]:
    problems = []
    for nid, node in nodes.items():
        if node.get("id") != nid:
            problems.append(f"{where}: node filed under {nid!r} has id {node.get('id')!r}")
        for child in node.get("children") or []:
            if child not in nodes:
                problems.append(f"{where}: node {nid!r} names a child {child!r} that is not there")
    return problems


def store_problems(db_path: Path) -> list[str]:
    """Every problem found; [] when the store is healthy."""
    with Store.open(db_path) as store:
        problems = list(store.integrity_check())
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        uids: dict[str, str] = {}
        for ns, name, uid, body in conn.execute("SELECT namespace, name, uid, body FROM workflows"):
            where = f"workflow {ns}/{name}"
            try:
                wf = _parse(body)
            except ValueError as e:
                problems.append(f"{where}: body does not parse: {e}")
                continue
            meta = wf.get("metadata") or {}
            if (meta.get("namespace"), meta.get("name")) != (ns, name):
                problems.append(f"{where}: body names {meta.get('namespace')}/{meta.get('name')}")
            if uid in uids:
                problems.append(f"{where}: uid {uid} is also {uids[uid]}'s")
            uids[uid] = where
            problems += _node_problems(where, (wf.get("status") or {}).get("nodes") or {})
        for (count, ns, name) in conn.execute(
                "SELECT count(*), namespace, name FROM workflows GROUP BY namespace, name HAVING count(*) > 1"):
            problems.append(f"workflow {ns}/{name} is stored {count} times")
        for seq, body in conn.execute("SELECT seq, body FROM events"):
            try:
                _parse(body)
            except ValueError as e:
                problems.append(f"event {seq} does not parse: {e}")
    finally:
        conn.close()
    return problems
