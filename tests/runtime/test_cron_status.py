"""workflow_for, settle and friends: the child manifest and the CronWorkflow's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor.runtime._cron_status import (
    add_active,
    drop_condition,
    rfc3339,
    schedule_signature,
    set_condition,
    settle,
)
from conveyor.runtime.cron import workflow_for

SCHEDULED = datetime(2024, 1, 15, 7, 0, tzinfo=UTC)  # 1705302000


def cron(**spec: Any) -> dict[str, Any]:
    return {
        "kind": "CronWorkflow",
        "metadata": {
            "name": "nightly",
            "namespace": "data",
            "labels": {"team": "etl", "workflows.argoproj.io/creator": "alice"},
        },
        "spec": {
            "schedules": ["0 7 * * *"],
            "workflowSpec": {"entrypoint": "main", "templates": [{"name": "main"}]},
            **spec,
        },
    }


def test_child_is_named_and_labelled_as_argo_does() -> None:
    wf = workflow_for(cron(), SCHEDULED)
    assert wf["kind"] == "Workflow" and wf["apiVersion"] == "argoproj.io/v1alpha1"
    assert wf["metadata"]["name"] == "nightly-1705302000"
    assert wf["metadata"]["namespace"] == "data"
    # the creator label travels, the CronWorkflow's other labels do not
    assert wf["metadata"]["labels"] == {
        "workflows.argoproj.io/creator": "alice",
        "workflows.argoproj.io/cron-workflow": "nightly",
    }
    assert wf["metadata"]["annotations"] == {
        "workflows.argoproj.io/scheduled-time": "2024-01-15T07:00:00Z"
    }
    assert wf["spec"] == cron()["spec"]["workflowSpec"]
    assert "ownerReferences" not in wf["metadata"]


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        (None, None),
        ("UTC", "2024-01-15T07:00:00Z"),
        ("America/New_York", "2024-01-15T02:00:00-05:00"),
        ("Asia/Kolkata", "2024-01-15T12:30:00+05:30"),
    ],
)
def test_scheduled_time_annotation_is_rfc3339_in_the_cron_zone(
    timezone: str | None, expected: str | None
) -> None:
    wf = workflow_for(cron(**({"timezone": timezone} if timezone else {})), SCHEDULED)
    value = wf["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"]
    assert datetime.fromisoformat(value) == SCHEDULED
    if expected:
        assert value == expected


def test_workflow_metadata_is_merged_but_cannot_hide_the_cron_label() -> None:
    wf = workflow_for(
        cron(
            workflowMetadata={
                "labels": {"stage": "prod", "workflows.argoproj.io/cron-workflow": "other"},
                "annotations": {"owner": "bob"},
            }
        ),
        SCHEDULED,
    )
    assert wf["metadata"]["labels"]["stage"] == "prod"
    assert wf["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"] == "nightly"
    assert wf["metadata"]["annotations"]["owner"] == "bob"


def test_spec_is_a_copy_and_owner_reference_needs_a_uid() -> None:
    doc = cron()
    doc["metadata"]["uid"] = "u-1"
    wf = workflow_for(doc, SCHEDULED)
    wf["spec"]["templates"].append({"name": "x"})
    assert len(doc["spec"]["workflowSpec"]["templates"]) == 1
    assert wf["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "CronWorkflow",
            "name": "nightly",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"schedules": ["* * * * *"]}, "* * * * *"),
        (
            {"schedules": ["*/3 * * * 1-5", "*/2 * * * *"], "timezone": "America/Los_Angeles"},
            "CRON_TZ=America/Los_Angeles */3 * * * 1-5,CRON_TZ=America/Los_Angeles */2 * * * *",
        ),
    ],
)
def test_schedule_signature(spec: dict[str, Any], expected: str) -> None:
    assert schedule_signature(spec) == expected


def child(name: str, phase: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "data", "uid": f"uid-{name}"},
        "status": {"phase": phase},
    }


def ref(name: str) -> dict[str, Any]:
    return {
        "kind": "Workflow",
        "apiVersion": "argoproj.io/v1alpha1",
        "name": name,
        "namespace": "data",
        "uid": f"uid-{name}",
    }


# (id, status before, children now, expected status)
SETTLE = [
    ("nothing at all", {}, [], {"succeeded": 0, "failed": 0}),
    (
        "still running",
        {"active": [ref("a")]},
        [child("a", "Running")],
        {"active": [ref("a")], "succeeded": 0, "failed": 0},
    ),
    (
        "finished: counted and dropped",
        {"active": [ref("a"), ref("b"), ref("c")], "succeeded": 4, "failed": 1},
        [child("a", "Succeeded"), child("b", "Failed"), child("c", "Error")],
        {"succeeded": 5, "failed": 3},
    ),
    (
        "deleted while active: dropped, not counted",
        {"active": [ref("a")]},
        [],
        {"succeeded": 0, "failed": 0},
    ),
    (
        "finished before it was listed: not counted",
        {},
        [child("a", "Succeeded")],
        {"succeeded": 0, "failed": 0},
    ),
    (
        "unlisted and running (crash before record): added",
        {},
        [child("a", "Pending")],
        {"active": [ref("a")], "succeeded": 0, "failed": 0},
    ),
    (
        "other fields kept",
        {"lastScheduledTime": "x", "phase": "Active"},
        [],
        {"lastScheduledTime": "x", "phase": "Active", "succeeded": 0, "failed": 0},
    ),
]


@pytest.mark.parametrize(
    ("before", "children", "expected"), [c[1:] for c in SETTLE], ids=[c[0] for c in SETTLE]
)
def test_settle(
    before: dict[str, Any], children: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    assert settle(before, children) == expected


def test_settle_counts_a_finish_once() -> None:
    once = settle({"active": [ref("a")]}, [child("a", "Failed")])
    assert settle(once, [child("a", "Failed")]) == once == {"succeeded": 0, "failed": 1}


def test_add_active() -> None:
    assert add_active({}, child("a", "Pending")) == {"active": [ref("a")]}
    assert add_active({"active": [ref("a")]}, child("a", "Running")) == {"active": [ref("a")]}
    assert add_active({}, child("a", "Succeeded")) == {}


def test_conditions_are_replaced_by_type() -> None:
    conditions = set_condition(
        [{"type": "SpecError", "status": "True", "message": "old"}], "SpecError", "new"
    )
    conditions = set_condition(conditions, "Completed", "done")
    assert conditions == [
        {"type": "SpecError", "status": "True", "message": "new"},
        {"type": "Completed", "status": "True", "message": "done"},
    ]
    assert drop_condition(conditions, "SpecError") == [conditions[1]]


def test_rfc3339() -> None:
    assert rfc3339(datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=UTC)) == "2024-01-01T00:00:00Z"
