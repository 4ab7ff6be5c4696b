"""WorkflowTemplate, ClusterWorkflowTemplate and CronWorkflow storage."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import AlreadyExists, InvalidInput, NotFound
from conveyor.store import Store

PLURALS = {
    "WorkflowTemplate": "workflowtemplates.argoproj.io",
    "ClusterWorkflowTemplate": "clusterworkflowtemplates.argoproj.io",
    "CronWorkflow": "cronworkflows.argoproj.io",
}


def manifest(
    kind: str, name: str, namespace: str | None = "default", **spec: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}


@pytest.mark.parametrize("kind", list(PLURALS))
def test_put_get_list_delete_each_kind(store: Store, kind: str) -> None:
    m = manifest(kind, "t1", entrypoint="main")
    assert store.put_template(kind, m) == m
    ns = "default"
    assert store.get_template(kind, ns, "t1") == m
    assert store.get(kind, "t1", ns) == m  # TemplateLookup order: kind, name, namespace
    assert store.list_templates(kind) == [m]
    store.delete_template(kind, ns, "t1")
    assert store.get_template(kind, ns, "t1") is None
    assert store.list_templates(kind) == []


@pytest.mark.parametrize("kind", list(PLURALS))
def test_duplicate_and_missing_messages_use_the_kind_plural(store: Store, kind: str) -> None:
    store.put_template(kind, manifest(kind, "dup"))
    with pytest.raises(AlreadyExists) as exists:
        store.put_template(kind, manifest(kind, "dup"))
    assert exists.value.message == f'{PLURALS[kind]} "dup" already exists'
    with pytest.raises(NotFound) as missing:
        store.delete_template(kind, "default", "nope")
    assert missing.value.message == f'{PLURALS[kind]} "nope" not found'


def test_replace_overwrites(store: Store) -> None:
    store.put_template("CronWorkflow", manifest("CronWorkflow", "c", schedule="* * * * *"))
    updated = manifest("CronWorkflow", "c", schedule="0 * * * *")
    updated["status"] = {"lastScheduledTime": "2024-01-01T00:00:00Z"}
    assert store.put_template("CronWorkflow", updated, replace=True) == updated
    assert store.get_template("CronWorkflow", "default", "c") == updated
    # replace=True also creates.
    store.put_template("CronWorkflow", manifest("CronWorkflow", "new"), replace=True)
    assert store.get_template("CronWorkflow", "default", "new") is not None


def test_kinds_and_namespaces_are_separate(store: Store) -> None:
    store.put_template("WorkflowTemplate", manifest("WorkflowTemplate", "same", "a"))
    store.put_template("WorkflowTemplate", manifest("WorkflowTemplate", "same", "b"))
    store.put_template("CronWorkflow", manifest("CronWorkflow", "same", "a"))
    assert [t["metadata"]["namespace"] for t in store.list_templates("WorkflowTemplate")] == [
        "a",
        "b",
    ]
    assert len(store.list_templates("WorkflowTemplate", "a")) == 1
    assert store.list_templates("WorkflowTemplate", "c") == []
    assert store.get_template("WorkflowTemplate", "c", "same") is None
    assert len(store.list_templates("CronWorkflow")) == 1


def test_cluster_templates_ignore_namespace(store: Store) -> None:
    m = manifest("ClusterWorkflowTemplate", "shared", namespace=None)
    store.put_template("ClusterWorkflowTemplate", m)
    assert store.get_template("ClusterWorkflowTemplate", "any-namespace", "shared") == m
    assert store.get("ClusterWorkflowTemplate", "shared", "") == m
    assert store.list_templates("ClusterWorkflowTemplate", "whatever") == [m]
    with pytest.raises(AlreadyExists):  # a namespace in the manifest does not make it distinct
        store.put_template(
            "ClusterWorkflowTemplate", manifest("ClusterWorkflowTemplate", "shared", "x")
        )
    store.delete_template("ClusterWorkflowTemplate", "ignored", "shared")
    assert store.list_templates("ClusterWorkflowTemplate") == []


def test_lookup_missing_returns_none(store: Store) -> None:
    assert store.get("WorkflowTemplate", "nope", "default") is None


@pytest.mark.parametrize(
    ("kind", "m", "needle"),
    [
        ("Workflow", manifest("Workflow", "w"), "unknown template kind"),
        ("WorkflowTemplate", manifest("CronWorkflow", "w"), "does not match"),
        (
            "WorkflowTemplate",
            manifest("WorkflowTemplate", "w", namespace=None),
            "metadata.namespace",
        ),
        ("CronWorkflow", {"kind": "CronWorkflow", "metadata": {}}, "metadata.name"),
        ("CronWorkflow", {"kind": "CronWorkflow"}, "no metadata"),
    ],
)
def test_put_rejects_bad_manifests(store: Store, kind: str, m: dict, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        store.put_template(kind, m)


def test_unknown_kind_on_read_is_invalid_input(store: Store) -> None:
    with pytest.raises(InvalidInput, match="unknown template kind"):
        store.get_template("Pod", "default", "x")
    with pytest.raises(InvalidInput):
        store.list_templates("Pod")
    with pytest.raises(InvalidInput):
        store.delete_template("Pod", "default", "x")
