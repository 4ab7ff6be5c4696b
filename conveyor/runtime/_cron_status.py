"""The objects a CronWorkflow produces: its child Workflow and its own status. Pure.

https://argo-workflows.readthedocs.io/en/latest/cron-workflows/#workflowspec-and-workflowmetadata

A child is named `<cron-name>-<unix seconds of the scheduled time>`, as Argo
names it, so starting the same scheduled time twice fails with AlreadyExists:
that is what makes "start it once" hold across a crash. Status follows Argo's
CronWorkflowStatus: `active` object references, `lastScheduledTime`, the
`succeeded` / `failed` counters, `phase` (Active or Stopped) and `conditions`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from conveyor.runtime._cron_schedule import zone_of

__all__ = [
    "CRON_LABEL",
    "SCHEDULED_ANNOTATION",
    "LAST_SCHEDULE_ANNOTATION",
    "COMPLETED_LABEL",
    "workflow_for",
    "schedule_signature",
    "settle",
    "add_active",
    "set_condition",
    "drop_condition",
    "rfc3339",
]

CRON_LABEL = "workflows.argoproj.io/cron-workflow"
SCHEDULED_ANNOTATION = "workflows.argoproj.io/scheduled-time"
#: the schedules a CronWorkflow last ran under; a different value means they were edited since
LAST_SCHEDULE_ANNOTATION = "cronworkflows.argoproj.io/last-used-schedule"
#: set by Argo on a CronWorkflow whose stopStrategy fired
COMPLETED_LABEL = "cronworkflows.argoproj.io/completed"
_DONE = ("Succeeded", "Failed", "Error")
# Labels Argo copies from a CronWorkflow onto each child (who created it, which controller).
_PROPAGATED_LABELS = (
    "workflows.argoproj.io/creator",
    "workflows.argoproj.io/creator-email",
    "workflows.argoproj.io/creator-preferred-username",
    "workflows.argoproj.io/controller-instanceid",
)


def rfc3339(moment: datetime, zone: tzinfo = UTC) -> str:
    """Go's time.RFC3339 rendering: seconds, and `Z` for UTC."""
    text = moment.astimezone(zone).isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def schedule_signature(spec: Mapping[str, Any]) -> str:
    """The schedules with their zone, comma-joined, as Argo records them in LAST_SCHEDULE_ANNOTATION."""
    zone = spec.get("timezone")
    prefix = f"CRON_TZ={zone} " if zone else ""
    return ",".join(prefix + str(s) for s in spec.get("schedules") or [])


def workflow_for(cron: Mapping[str, Any], scheduled_time: datetime) -> dict[str, Any]:
    """The Workflow manifest to submit for one scheduled time."""
    meta = cron.get("metadata") or {}
    spec = cron.get("spec") or {}
    extra = spec.get("workflowMetadata") or {}
    name = str(meta.get("name", ""))
    cron_labels = meta.get("labels") or {}
    labels = {k: cron_labels[k] for k in _PROPAGATED_LABELS if k in cron_labels}
    labels.update(extra.get("labels") or {})
    # Written last so workflowMetadata cannot hide a child from its CronWorkflow.
    labels[CRON_LABEL] = name
    annotations = dict(extra.get("annotations") or {})
    # In the CronWorkflow's zone, as Argo writes it; {{workflow.scheduledTime}} reads it.
    annotations[SCHEDULED_ANNOTATION] = rfc3339(scheduled_time, zone_of(spec.get("timezone")))
    wf_meta: dict[str, Any] = {
        "name": f"{name}-{int(scheduled_time.timestamp())}",
        "labels": labels,
        "annotations": annotations,
    }
    if meta.get("namespace"):
        wf_meta["namespace"] = meta["namespace"]
    if meta.get("uid"):
        wf_meta["ownerReferences"] = [
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "CronWorkflow",
                "name": name,
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": wf_meta,
        "spec": copy.deepcopy(spec.get("workflowSpec") or {}),
    }


def _reference(wf: Mapping[str, Any]) -> dict[str, Any]:
    meta = wf.get("metadata") or {}
    ref = {"kind": "Workflow", "apiVersion": "argoproj.io/v1alpha1", "name": meta.get("name", "")}
    ref.update({k: meta[k] for k in ("namespace", "uid") if meta.get(k)})
    return ref


def _key(meta: Mapping[str, Any]) -> str:
    """Match workflows to references by uid, by name for objects that have none."""
    return str(meta.get("uid") or meta.get("name", ""))


def settle(status: Mapping[str, Any], workflows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Status with `active` matched to the CronWorkflow's workflows as they stand now.

    A workflow that left `active` by finishing adds one to `succeeded` (Succeeded)
    or `failed` (Failed, Error); one that was deleted meanwhile adds nothing.
    Unfinished workflows missing from `active` (started just before a crash) join it.
    """
    out = dict(status)
    current = {_key(wf.get("metadata") or {}): wf for wf in workflows}
    active = [dict(ref) for ref in status.get("active") or []]
    listed = {_key(ref) for ref in active}
    for key, wf in current.items():
        if key not in listed and (wf.get("status") or {}).get("phase") not in _DONE:
            active.append(_reference(wf))
    kept = []
    succeeded, failed = int(status.get("succeeded") or 0), int(status.get("failed") or 0)
    for ref in active:
        found = current.get(_key(ref))
        phase = (found.get("status") or {}).get("phase") if found is not None else None
        if found is None:
            continue
        if phase == "Succeeded":
            succeeded += 1
        elif phase in ("Failed", "Error"):
            failed += 1
        else:
            kept.append(ref)
    out["active"] = kept
    out["succeeded"], out["failed"] = succeeded, failed
    if not kept:
        del out["active"]  # Argo omits an empty list
    return out


def add_active(status: Mapping[str, Any], wf: Mapping[str, Any]) -> dict[str, Any]:
    """Status with a just-started workflow in `active` (unless it already ended or is there)."""
    out = dict(status)
    meta = wf.get("metadata") or {}
    active = [dict(ref) for ref in status.get("active") or []]
    if (wf.get("status") or {}).get("phase") not in _DONE and _key(meta) not in {
        _key(r) for r in active
    }:
        out["active"] = [*active, _reference(wf)]
    return out


def set_condition(
    conditions: Sequence[Mapping[str, Any]], kind: str, message: str
) -> list[dict[str, Any]]:
    """Conditions with the one of type `kind` replaced (status "True")."""
    return [*drop_condition(conditions, kind), {"type": kind, "status": "True", "message": message}]


def drop_condition(conditions: Sequence[Mapping[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [dict(c) for c in conditions if c.get("type") != kind]
