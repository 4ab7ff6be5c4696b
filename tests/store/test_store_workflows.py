"""Workflows: create / update / get / find / list (filters, paging) / delete."""

from __future__ import annotations

import pytest

from conveyor.errors import AlreadyExists, InvalidInput, NotFound
from conveyor.store import Store


def test_create_returns_stored_copy_and_get_reads_it(store: Store, make_wf) -> None:
    wf = make_wf("hello", labels={"app": "web"}, phase="Running")
    stored = store.create_workflow(wf)
    assert stored == wf
    stored["spec"]["entrypoint"] = "changed"  # the store keeps its own copy
    assert store.get_workflow("default", "hello") == wf
    assert store.find_workflow("default", "hello") == wf


def test_create_duplicate_raises_already_exists_with_argo_message(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("dup"))
    with pytest.raises(AlreadyExists) as info:
        store.create_workflow(make_wf("dup"))
    assert info.value.message == 'workflows.argoproj.io "dup" already exists'


def test_same_name_in_other_namespace_is_fine(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("same", "a"))
    store.create_workflow(make_wf("same", "b"))
    assert store.get_workflow("b", "same")["metadata"]["namespace"] == "b"


def test_get_missing_raises_not_found_with_argo_message(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        store.get_workflow("default", "nope")
    assert info.value.message == 'workflows.argoproj.io "nope" not found'
    assert store.find_workflow("default", "nope") is None


def test_create_fills_missing_creation_timestamp(store: Store, make_wf) -> None:
    wf = make_wf("stamp")
    del wf["metadata"]["creationTimestamp"]
    stored = store.create_workflow(wf)
    assert stored["metadata"]["creationTimestamp"].endswith("Z")
    assert "creationTimestamp" not in wf["metadata"]  # the caller's object is untouched


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda wf: wf["metadata"].pop("name"), "metadata.name"),
        (lambda wf: wf["metadata"].pop("namespace"), "metadata.namespace"),
        (lambda wf: wf["metadata"].pop("uid"), "metadata.uid"),
        (lambda wf: wf["metadata"].update(creationTimestamp="yesterday"), "creationTimestamp"),
        (lambda wf: wf["metadata"].update(labels={"a": 1}), "labels"),
        (lambda wf: wf.update(spec={"x": {1, 2}}), "JSON"),
    ],
)
def test_create_rejects_malformed_workflows(store: Store, make_wf, mutate, needle) -> None:
    wf = make_wf("bad")
    mutate(wf)
    with pytest.raises(InvalidInput, match=needle):
        store.create_workflow(wf)


def test_update_replaces_object_and_columns(store: Store, make_wf) -> None:
    wf = store.create_workflow(make_wf("up", labels={"stage": "one"}, phase="Running"))
    wf["status"] = {"phase": "Succeeded", "finishedAt": "2024-01-01T01:00:00Z"}
    wf["metadata"]["labels"] = {"stage": "two"}
    store.update_workflow(wf)
    assert store.get_workflow("default", "up")["status"]["phase"] == "Succeeded"
    assert store.list_workflows(phases=["Succeeded"])[0] == [wf]
    assert store.list_workflows(phases=["Running"])[0] == []
    assert store.list_workflows(label_selector="stage=two")[0] == [wf]
    assert store.list_workflows(label_selector="stage=one")[0] == []


def test_get_without_nodes_is_the_body_minus_status_nodes(store: Store, make_wf) -> None:
    wf = store.create_workflow(make_wf("paged", phase="Running"))
    wf["status"]["nodes"] = {"paged-1": {"id": "paged-1", "phase": "Succeeded", "displayName": "é\u2603"}}
    wf["status"]["progress"], wf["status"]["estimatedDuration"] = "1/1", 1.5
    store.update_workflow(wf)
    full = store.get_workflow("default", "paged")
    assert full["status"]["nodes"]["paged-1"]["displayName"] == "é\u2603"
    bare = store.get_workflow("default", "paged", nodes=False)
    assert bare == {**full, "status": {k: v for k, v in full["status"].items() if k != "nodes"}}
    assert list(bare["status"]) == [k for k in full["status"] if k != "nodes"]  # order kept, as Argo's JSON is
    with pytest.raises(NotFound):
        store.get_workflow("default", "ghost", nodes=False)


def test_update_missing_raises_not_found(store: Store, make_wf) -> None:
    with pytest.raises(NotFound, match='workflows.argoproj.io "ghost" not found'):
        store.update_workflow(make_wf("ghost"))


def test_update_workflows_is_all_or_nothing(store: Store, make_wf) -> None:
    a = store.create_workflow(make_wf("a", phase="Running"))
    b = store.create_workflow(make_wf("b", phase="Running"))
    a["status"]["phase"] = b["status"]["phase"] = "Failed"
    store.update_workflows([a, b])
    assert {w["metadata"]["name"] for w in store.list_workflows(phases=["Failed"])[0]} == {"a", "b"}

    a["status"]["phase"] = "Succeeded"
    with pytest.raises(NotFound):
        store.update_workflows([a, make_wf("missing")])
    assert store.get_workflow("default", "a")["status"]["phase"] == "Failed"  # rolled back
    store.update_workflows([])  # no-op


def test_delete_removes_workflow_labels_events_and_logs(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("gone", labels={"k": "v"}))
    store.append_events("default", "gone", [{"type": "x"}])
    store.add_log("default", "gone", "n1", "main", "/logs/gone/n1/main.log")
    store.delete_workflow("default", "gone")
    assert store.find_workflow("default", "gone") is None
    assert store.load_events("default", "gone") == []
    assert store.list_logs("default", "gone") == []
    assert store.list_workflows(label_selector="k=v")[0] == []
    assert store.integrity_check() == []
    # Recreating under the same name starts clean.
    store.create_workflow(make_wf("gone"))
    assert store.load_events("default", "gone") == []


def test_delete_missing_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        store.delete_workflow("default", "nope")
    assert info.value.message == 'workflows.argoproj.io "nope" not found'


# -- listing ---------------------------------------------------------------


def names(result: tuple[list[dict], str | None]) -> list[str]:
    return [w["metadata"]["name"] for w in result[0]]


def test_list_is_newest_first_across_namespaces(store: Store, make_wf) -> None:
    for name, ns in [("w1", "a"), ("w2", "b"), ("w3", "a")]:
        store.create_workflow(make_wf(name, ns))
    assert names(store.list_workflows()) == ["w3", "w2", "w1"]
    assert names(store.list_workflows("a")) == ["w3", "w1"]
    assert store.list_workflows("empty") == ([], None)


def test_list_sorts_by_time_not_by_timestamp_text(store: Store, make_wf) -> None:
    # As text "...:00Z" > "...:00.5Z"; as time it is earlier.
    store.create_workflow(make_wf("whole", created="2024-01-01T00:00:00Z"))
    store.create_workflow(make_wf("half", created="2024-01-01T00:00:00.5Z"))
    # 01:00+02:00 is 23:00 UTC the day before.
    store.create_workflow(make_wf("offset", created="2024-01-01T01:00:00+02:00"))
    assert names(store.list_workflows()) == ["half", "whole", "offset"]


def test_list_filters_by_phase_and_name_prefix(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("build-1", phase="Succeeded"))
    store.create_workflow(make_wf("build-2", phase="Failed"))
    store.create_workflow(make_wf("Build-3", phase="Running"))
    store.create_workflow(make_wf("build_4"))  # no status: phase ""
    assert names(store.list_workflows(phases=["Succeeded", "Failed"])) == ["build-2", "build-1"]
    assert names(store.list_workflows(phases="Running")) == ["Build-3"]
    assert names(store.list_workflows(phases=[""])) == ["build_4"]
    assert names(store.list_workflows(phases=[])) == ["build_4", "Build-3", "build-2", "build-1"]
    # Case-sensitive, and '_' is not a wildcard.
    assert names(store.list_workflows(name_prefix="build-")) == ["build-2", "build-1"]
    assert names(store.list_workflows(name_prefix="build_")) == ["build_4"]
    assert names(store.list_workflows(name_prefix="%")) == []


def test_list_combines_filters(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("x1", "a", labels={"team": "ml"}, phase="Failed"))
    store.create_workflow(make_wf("x2", "a", labels={"team": "ml"}, phase="Succeeded"))
    store.create_workflow(make_wf("x3", "b", labels={"team": "ml"}, phase="Failed"))
    store.create_workflow(make_wf("y4", "a", labels={"team": "web"}, phase="Failed"))
    got = store.list_workflows("a", label_selector="team=ml", phases=["Failed"], name_prefix="x")
    assert names(got) == ["x1"]


def test_paging_with_continue_tokens_visits_every_row_once(store: Store, make_wf) -> None:
    # Equal timestamps and equal names in two namespaces: the tie-breaks must hold.
    for i in range(7):
        for ns in ("a", "b"):
            store.create_workflow(make_wf(f"wf-{i % 3}-{i}", ns, created="2024-05-05T00:00:00Z"))
    everything = names(store.list_workflows())
    assert len(everything) == 14

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page, token = store.list_workflows(limit=4, continue_token=token)
        seen += [w["metadata"]["name"] for w in page]
        pages += 1
        if token is None:
            break
    assert pages == 4 and seen == everything


def test_paging_exact_multiple_returns_no_token_on_last_page(store: Store, make_wf) -> None:
    for i in range(4):
        store.create_workflow(make_wf(f"w{i}"))
    first, token = store.list_workflows(limit=2)
    assert names((first, token)) == ["w3", "w2"] and token
    second, token = store.list_workflows(limit=2, continue_token=token)
    assert names((second, token)) == ["w1", "w0"] and token is None
    assert store.list_workflows(limit=0)[1] is None  # 0: no limit
    assert len(store.list_workflows(limit=0)[0]) == 4


def test_paging_with_filters_and_namespace(store: Store, make_wf) -> None:
    for i in range(5):
        store.create_workflow(make_wf(f"m{i}", "a", labels={"k": "v"}))
        store.create_workflow(make_wf(f"n{i}", "a"))
    page, token = store.list_workflows("a", label_selector="k", limit=3)
    rest, end = store.list_workflows("a", label_selector="k", limit=3, continue_token=token)
    assert names((page, token)) + names((rest, end)) == ["m4", "m3", "m2", "m1", "m0"]
    assert end is None


@pytest.mark.parametrize("token", ["garbage!", "bm90IGpzb24=", "WzEsMiwzXQ=="])
def test_bad_continue_token_is_invalid_input(store: Store, token: str) -> None:
    with pytest.raises(InvalidInput, match="continue token"):
        store.list_workflows(continue_token=token)


def test_negative_limit_is_invalid_input(store: Store) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        store.list_workflows(limit=-1)


def test_bad_label_selector_is_invalid_input(store: Store) -> None:
    with pytest.raises(InvalidInput, match="invalid label selector"):
        store.list_workflows(label_selector="a in (x")
