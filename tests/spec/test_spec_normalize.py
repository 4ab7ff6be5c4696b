"""normalize(): Argo v3 spellings become v4 ones; everything else is left alone."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from conveyor.spec import lint, normalize

Factory = Callable[..., dict[str, Any]]
V1 = "io.argoproj.workflow.v1alpha1."


def test_workflow_level_mutex_and_semaphore_become_lists(make_workflow: Factory) -> None:
    semaphore = {"configMapKeyRef": {"name": "limits", "key": "workflow"}}
    wf = make_workflow(synchronization={"mutex": {"name": "m"}, "semaphore": semaphore})
    out = normalize(wf)
    assert out["spec"]["synchronization"] == {"mutexes": [{"name": "m"}], "semaphores": [semaphore]}


def test_template_level_synchronization_everywhere(make_workflow: Factory) -> None:
    inline = {"container": {"image": "busybox"}, "synchronization": {"mutex": {"name": "inner"}}}
    templates = [
        {"name": "main", "dag": {"tasks": [{"name": "a", "inline": inline}]}},
        {
            "name": "b",
            "synchronization": {"semaphore": {"database": {"key": "k"}}},
            "container": {"image": "x"},
        },
    ]
    out = normalize(
        make_workflow(templates, templateDefaults={"synchronization": {"mutex": {"name": "d"}}})
    )
    spec = out["spec"]
    assert spec["templates"][0]["dag"]["tasks"][0]["inline"]["synchronization"] == {
        "mutexes": [{"name": "inner"}]
    }
    assert spec["templates"][1]["synchronization"] == {"semaphores": [{"database": {"key": "k"}}]}
    assert spec["templateDefaults"]["synchronization"] == {"mutexes": [{"name": "d"}]}


def test_old_and_new_spellings_together_are_combined(make_workflow: Factory) -> None:
    sync = {"mutex": {"name": "a"}, "mutexes": [{"name": "b"}, {"name": "a"}]}
    out = normalize(make_workflow(synchronization=sync))
    assert out["spec"]["synchronization"] == {"mutexes": [{"name": "b"}, {"name": "a"}]}


def test_cron_schedule_becomes_schedules() -> None:
    cron = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 2 * * *",
            "workflowSpec": {
                "entrypoint": "m",
                "templates": [{"name": "m", "container": {"image": "x"}}],
            },
        },
    }
    out = normalize(cron)
    assert out["spec"]["schedules"] == ["0 2 * * *"]
    assert "schedule" not in out["spec"]
    assert lint(cron) == [], "lint reads v3 spellings too"


def test_ttl_seconds_after_finished_becomes_ttl_strategy(make_workflow: Factory) -> None:
    out = normalize(make_workflow(ttlSecondsAfterFinished=30))
    assert out["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 30}
    assert "ttlSecondsAfterFinished" not in out["spec"]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        (3, "3"),
        (True, "true"),
        (False, "false"),
        (1.0, "1"),
        (0.5, "0.5"),
        ("x", "x"),
        (None, None),
    ],
)
def test_parameter_values_are_argo_any_strings(
    make_workflow: Factory, written: Any, stored: Any
) -> None:
    param = {
        "name": "p",
        "value": written,
        "default": written,
        "enum": [written],
        "valueFrom": {"default": written},
    }
    out = normalize(make_workflow(arguments={"parameters": [param]}))
    got = out["spec"]["arguments"]["parameters"][0]
    assert got["value"] == stored and got["default"] == stored
    assert got["enum"] == [stored] and got["valueFrom"]["default"] == stored


def test_numbers_in_parameters_then_pass_hera_validation(make_workflow: Factory) -> None:
    templates = [
        {
            "name": "main",
            "inputs": {"parameters": [{"name": "n", "default": 5}]},
            "container": {"image": "x"},
        }
    ]
    assert (
        lint(make_workflow(templates, arguments={"parameters": [{"name": "n", "value": 7}]})) == []
    )


def test_input_is_not_modified_and_unknown_fields_stay(make_workflow: Factory) -> None:
    wf = make_workflow(
        synchronization={"mutex": {"name": "m"}},
        podPriority=3,
        onExit="main",
        someFutureField={"a": 1},
    )
    wf["spec"]["podGC"] = {"strategy": "OnPodSuccess"}
    before = copy.deepcopy(wf)
    out = normalize(wf)
    assert wf == before
    for kept in ("podPriority", "onExit", "someFutureField", "podGC"):
        assert out["spec"][kept] == wf["spec"][kept]


def test_normalize_is_idempotent(make_workflow: Factory) -> None:
    once = normalize(
        make_workflow(synchronization={"semaphore": {"configMapKeyRef": {"name": "a", "key": "b"}}})
    )
    assert normalize(once) == once


def test_normalized_spellings_are_argo_v4_fields(
    make_workflow: Factory, argo_schema: dict[str, Any]
) -> None:
    """What normalize writes uses only field names Argo's v4 schema defines."""
    definitions = argo_schema["definitions"]
    sync_fields = set(definitions[V1 + "Synchronization"]["properties"])
    cron_fields = set(definitions[V1 + "CronWorkflowSpec"]["properties"])
    wf_fields = set(definitions[V1 + "WorkflowSpec"]["properties"])
    wf = normalize(
        make_workflow(
            synchronization={"mutex": {"name": "m"}, "semaphore": {}}, ttlSecondsAfterFinished=5
        )
    )
    assert set(wf["spec"]["synchronization"]) <= sync_fields
    assert set(wf["spec"]) <= wf_fields
    cron = normalize(
        {"kind": "CronWorkflow", "spec": {"schedule": "* * * * *", "workflowSpec": {}}}
    )
    assert set(cron["spec"]) <= cron_fields
    assert {"mutex", "semaphore"} - sync_fields == {"mutex", "semaphore"}, (
        "v4 dropped the singular forms"
    )
    assert "schedule" not in cron_fields
