"""The node record and its rendering as Argo's `NodeStatus`.

See https://argo-workflows.readthedocs.io/en/latest/fields/#nodestatus
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.engine._ids import rfc3339

__all__ = ["Node", "COMPLETED", "FAILED", "ACTIVE"]

COMPLETED = frozenset({"Succeeded", "Failed", "Error", "Skipped", "Omitted"})
FAILED = frozenset({"Failed", "Error"})
ACTIVE = frozenset({"Pending", "Running"})


@dataclass(eq=False)
class Node:
    id: str
    name: str
    display_name: str
    type: str  # Pod | Steps | StepGroup | DAG | TaskGroup | Retry | Skipped | Suspend | Container
    template_name: str | None = None
    template_ref: dict[str, Any] | None = None
    boundary_id: str | None = None
    phase: str = "Pending"
    message: str = ""
    children: list[str] = field(default_factory=list)
    outbound: list[str] | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None
    image: str | None = None
    #: the content address of the image the task really ran (`sha256:...`), from the executor
    image_id: str | None = None
    pod_name: str | None = None
    #: times the pod was launched again because conveyor restarted while it ran
    restarts: int = 0

    @property
    def completed(self) -> bool:
        return self.phase in COMPLETED

    @property
    def failed(self) -> bool:
        return self.phase in FAILED

    def add_child(self, child_id: str) -> None:
        if child_id not in self.children:
            self.children.append(child_id)

    def to_status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "type": self.type,
            "phase": self.phase,
        }
        if self.template_name:
            out["templateName"] = self.template_name
        if self.template_ref:
            out["templateRef"] = self.template_ref
        if self.boundary_id:
            out["boundaryID"] = self.boundary_id
        if self.message:
            out["message"] = self.message
        if self.children:
            out["children"] = list(self.children)
        if self.outbound:
            out["outboundNodes"] = list(self.outbound)
        if self.inputs:
            out["inputs"] = self.inputs
        if self.outputs:
            out["outputs"] = self.outputs
        started = rfc3339(self.started_at)
        if started:
            out["startedAt"] = started
        finished = rfc3339(self.finished_at) if self.completed else None
        if finished:
            out["finishedAt"] = finished
        if self.type == "Pod":
            out["progress"] = "1/1" if self.phase == "Succeeded" else "0/1"
        if self.restarts:
            out["failedPodRestarts"] = self.restarts
        if self.image:
            # Not an Argo NodeStatus field (the schema allows extra ones): the UI shows it
            # and it tells how to reproduce the run.
            out["image"] = self.image
        if self.image_id:
            # like a Kubernetes containerStatus.imageID: the run can be reproduced from it
            out["imageID"] = self.image_id
        if self.pod_name:
            out["podName"] = self.pod_name
        return out
