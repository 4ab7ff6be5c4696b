"""The API's pure pieces, table-driven: `fields`, selectors and paging, submit's Workflow builder."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.api.fields import apply_fields, reaches
from conveyor.api.listing import ObjectFilter, page_by_name, parse_field_selector
from conveyor.api.models import SubmitOpts
from conveyor.api.submit import canonical_kind, workflow_from
from conveyor.errors import InvalidInput
from conveyor.runtime import parse_parameters

LIST = {
    "metadata": {"continue": "tok", "resourceVersion": "1"},
    "items": [{"metadata": {"name": "a", "uid": "u"}, "status": {"phase": "Running", "nodes": {"n": {}}}},
              {"metadata": {"name": "b"}, "spec": {"x": 1}}],
}


@pytest.mark.parametrize("fields, expected", [
    (None, LIST),
    ("", LIST),
    ("items.metadata.name,metadata.continue",
     {"metadata": {"continue": "tok"}, "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}),
    ("-items.status.nodes,metadata.resourceVersion",
     {"metadata": {"continue": "tok"},
      "items": [{"metadata": {"name": "a", "uid": "u"}, "status": {"phase": "Running"}},
                {"metadata": {"name": "b"}, "spec": {"x": 1}}]}),
    # a shorter path takes the whole subtree, whichever comes first
    ("items.metadata,items.metadata.name",
     {"items": [{"metadata": {"name": "a", "uid": "u"}}, {"metadata": {"name": "b"}}]}),
    ("items.metadata.name,items.metadata",
     {"items": [{"metadata": {"name": "a", "uid": "u"}}, {"metadata": {"name": "b"}}]}),
    ("items.nothing.here", {"items": [{}, {}]}),
    ("-nothing", LIST),
    (" , ", LIST),
])
def test_apply_fields(fields: str | None, expected: dict[str, Any]) -> None:
    assert apply_fields(LIST, fields) == expected


@pytest.mark.parametrize("fields, needs_nodes", [
    (None, True), ("", True), ("status", True), ("status.nodes", True), ("status.nodes.x.phase", True),
    ("-status.phase", True), ("-metadata", True), ("-status.nodes.x", True),
    ("status.phase,status.progress", False), ("metadata", False), ("-status.nodes", False), ("-status", False),
])
def test_reaches_tells_whether_a_filter_keeps_any_node(fields: str | None, needs_nodes: bool) -> None:
    assert reaches(fields, "status.nodes") is needs_nodes
    wf = {"metadata": {"name": "a"}, "status": {"phase": "Running", "nodes": {"x": {"phase": "Running"}}}}
    bare = {"metadata": {"name": "a"}, "status": {"phase": "Running"}}
    if not needs_nodes:  # what `reaches` promises: the answer is the same without the nodes
        assert apply_fields(bare, fields) == apply_fields(wf, fields)
    else:
        assert apply_fields(bare, fields) != apply_fields(wf, fields)


@pytest.mark.parametrize("text, parsed", [
    ("metadata.name=a", [("metadata.name", False, "a")]),
    ("metadata.name==a, metadata.namespace!=b", [("metadata.name", False, "a"), ("metadata.namespace", True, "b")]),
    ("", []),
])
def test_field_selectors(text: str, parsed: list[tuple[str, bool, str]]) -> None:
    assert [(t.field, t.negated, t.value) for t in parse_field_selector(text)] == parsed


@pytest.mark.parametrize("text", ["status.phase=Running", "metadata.name", "spec=1"])
def test_unsupported_field_selectors(text: str) -> None:
    with pytest.raises(InvalidInput, match="metadata.name=NAME"):
        parse_field_selector(text)


def obj(name: str, namespace: str = "ns", created: str = "2024-01-01T00:00:00Z", finished: str | None = None,
        **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels, "creationTimestamp": created},
            "status": {"finishedAt": finished}}


@pytest.mark.parametrize("kwargs, hits", [
    ({}, ["abc", "xbz"]),
    ({"field_selector": "metadata.name=abc"}, ["abc"]),
    ({"field_selector": "metadata.name=b", "name_filter": "contains"}, ["abc", "xbz"]),
    ({"field_selector": "metadata.name=x", "name_filter": "Prefix"}, ["xbz"]),
    ({"label_selector": "k=v"}, ["abc"]),
    ({"created_after": "2024-06-01T00:00:00Z"}, ["xbz"]),
    ({"finished_before": "2025-01-01T00:00:00+00:00"}, ["abc"]),
])
def test_object_filter(kwargs: dict[str, str], hits: list[str]) -> None:
    objs = [obj("abc", k="v", finished="2024-01-02T00:00:00Z"), obj("xbz", created="2024-07-01T00:00:00Z"),
            obj("abc", namespace="other")]
    flt = ObjectFilter.build("ns", **kwargs)
    assert [o["metadata"]["name"] for o in objs if flt.matches(o)] == hits


def test_a_contradicting_namespace_selector_matches_nothing() -> None:
    assert ObjectFilter.build("ns", field_selector="metadata.namespace=other").impossible()
    assert not ObjectFilter.build("ns", field_selector="metadata.namespace=ns").impossible()
    assert ObjectFilter.build("ns", field_selector="metadata.name=a").name_prefix() == "a"
    assert ObjectFilter.build("ns", field_selector="metadata.name=a", name_filter="Contains").name_prefix() is None


def test_page_by_name_walks_every_page_once() -> None:
    items = [obj(n) for n in "edcba"]
    seen, token = [], None
    while True:
        page, token = page_by_name(items, lambda o: True, 2, token)
        seen += [o["metadata"]["name"] for o in page]
        if token is None:
            break
    assert seen == list("abcde")
    assert page_by_name(items, lambda o: o["metadata"]["name"] > "c", None, None)[0][0]["metadata"]["name"] == "d"
    with pytest.raises(InvalidInput, match="not a token"):
        page_by_name(items, lambda o: True, 2, "!!")
    with pytest.raises(InvalidInput, match="negative"):
        page_by_name(items, lambda o: True, -1, None)


@pytest.mark.parametrize("given, kind", [("WorkflowTemplate", "WorkflowTemplate"), ("workflowtemplates", "WorkflowTemplate"),
                                         ("cwft", "ClusterWorkflowTemplate"), ("cronwf", "CronWorkflow")])
def test_resource_kinds(given: str, kind: str) -> None:
    assert canonical_kind(given) == kind


def test_parse_pairs() -> None:
    assert parse_parameters(["a=1", "b=x=y", "c="], "p") == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InvalidInput, match="p '=1' is not NAME=VALUE"):
        parse_parameters(["=1"], "p")


def test_workflow_from_a_template_refers_to_it() -> None:
    wf = workflow_from("ClusterWorkflowTemplate", {"metadata": {"name": "t"}, "spec": {"entrypoint": "m"}},
                       SubmitOpts(labels="a=1,b=2", annotations="n=note", serviceAccount="robot"))
    assert wf == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                  "metadata": {"generateName": "t-", "annotations": {"n": "note"},
                               "labels": {"workflows.argoproj.io/cluster-workflow-template": "t", "a": "1", "b": "2"}},
                  "spec": {"workflowTemplateRef": {"name": "t", "clusterScope": True}, "serviceAccountName": "robot"}}


def test_workflow_from_a_cron_copies_its_spec() -> None:
    cron: dict[str, Any] = {"metadata": {"name": "c"}, "spec": {"schedules": ["* * * * *"], "workflowSpec": {"entrypoint": "m"},
                                                 "workflowMetadata": {"labels": {"x": "y"}}}}
    wf = workflow_from("CronWorkflow", cron, SubmitOpts(name="exact"))
    assert wf["metadata"] == {"name": "exact", "labels": {"x": "y", "workflows.argoproj.io/cron-workflow": "c"}}
    assert wf["spec"] == {"entrypoint": "m"} and wf["spec"] is not cron["spec"]["workflowSpec"]
