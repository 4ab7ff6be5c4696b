"""A finished loop workflow of any size, shaped as the engine records one:
a DAG root, a generator task, a TaskGroup fanning out over N-4 items, and a
join task that depends on every item."""

from __future__ import annotations

import uuid
from typing import Any


def big_workflow(name: str, total: int, namespace: str = "default") -> dict[str, Any]:
    t0, t1 = "2026-12-01T10:00:00Z", "2026-12-01T10:05:00Z"
    items = total - 4

    def pod(nid: str, display: str, template: str, children: list[str]) -> dict[str, Any]:
        return {"id": nid, "name": f"{name}.{display}", "displayName": display, "type": "Pod",
                "templateName": template, "phase": "Succeeded", "startedAt": t0, "finishedAt": t1,
                "boundaryID": name, "children": children, "progress": "1/1",
                "outputs": {"result": display, "exitCode": "0"}}

    join = f"{name}-join"
    nodes: dict[str, dict[str, Any]] = {
        name: {"id": name, "name": name, "displayName": name, "type": "DAG", "templateName": "main",
               "phase": "Succeeded", "startedAt": t0, "finishedAt": t1, "children": [f"{name}-gen"],
               "outboundNodes": [join], "progress": f"{items + 2}/{items + 2}"},
        f"{name}-gen": pod(f"{name}-gen", "gen", "gen", [f"{name}-fan"]),
        f"{name}-fan": {"id": f"{name}-fan", "name": f"{name}.fan", "displayName": "fan", "type": "TaskGroup",
                        "templateName": "work", "phase": "Succeeded", "startedAt": t0, "finishedAt": t1,
                        "boundaryID": name, "children": [f"{name}-item-{i}" for i in range(items)]},
        join: pod(join, "join", "join", []),
    }
    for i in range(items):
        nid = f"{name}-item-{i}"
        nodes[nid] = pod(nid, f"fan({i}:{i})", "work", [join])
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()), "creationTimestamp": t0,
                     "labels": {"workflows.argoproj.io/completed": "true", "workflows.argoproj.io/phase": "Succeeded",
                                "size": str(total)}},
        "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "dag": {"tasks": [
                {"name": "gen", "template": "gen"},
                {"name": "fan", "template": "work", "depends": "gen", "withSequence": {"count": str(items)}},
                {"name": "join", "template": "join", "depends": "fan"}]}},
            {"name": "gen", "container": {"image": "busybox", "command": ["true"]}},
            {"name": "work", "container": {"image": "busybox", "command": ["true"]}},
            {"name": "join", "container": {"image": "busybox", "command": ["true"]}}]},
        "status": {"phase": "Succeeded", "startedAt": t0, "finishedAt": t1, "progress": f"{items + 2}/{items + 2}",
                   "nodes": nodes},
    }
