"""The workflow archive: archive, list (filters and paging), get, delete, label keys and values."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import InvalidInput, NotFound
from conveyor.store import Store
from tests.store.conftest import WorkflowFactory


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [wf["metadata"]["name"] for wf in items]


def test_archive_get_and_replace(store: Store, make_wf: WorkflowFactory) -> None:
    wf = make_wf("a", labels={"app": "web"}, phase="Failed")
    store.archive_workflow(wf)
    assert store.get_archived(wf["metadata"]["uid"]) == wf
    wf["status"] = {"phase": "Succeeded"}
    wf["metadata"]["labels"] = {"app": "api"}
    store.archive_workflow(wf)  # same uid: replaced, labels too
    assert store.get_archived(wf["metadata"]["uid"])["status"]["phase"] == "Succeeded"
    assert store.archived_label_values("app") == ["api"]


def test_get_and_delete_unknown_uid(store: Store) -> None:
    with pytest.raises(NotFound, match='archived workflow "nope" not found'):
        store.get_archived("nope")
    with pytest.raises(NotFound, match='archived workflow "nope" not found'):
        store.delete_archived("nope")
    assert store.find_archived("nope") is None


def test_delete_keeps_the_live_workflow_and_drops_labels(store: Store, make_wf: WorkflowFactory) -> None:
    wf = make_wf("a", labels={"k": "v"}, phase="Succeeded")
    store.create_workflow(wf)
    store.archive_workflow(wf)
    store.delete_archived(wf["metadata"]["uid"])
    assert store.list_archived() == ([], None)
    assert store.archived_label_keys() == []
    assert store.find_workflow("default", "a") is not None
    assert store.integrity_check() == []


def test_same_name_twice_is_two_entries(store: Store, make_wf: WorkflowFactory) -> None:
    store.archive_workflow(make_wf("a", phase="Succeeded"))
    store.archive_workflow(make_wf("a", phase="Failed"))
    items, _ = store.list_archived()
    assert [wf["status"]["phase"] for wf in items] == ["Failed", "Succeeded"]  # newest first


def test_filters(store: Store, make_wf: WorkflowFactory) -> None:
    store.archive_workflow(make_wf("web-1", labels={"app": "web", "tier": "x"}, phase="Succeeded"))
    store.archive_workflow(make_wf("web-2", labels={"app": "web"}, phase="Failed"))
    store.archive_workflow(make_wf("db-1", "other", labels={"app": "db"}, phase="Succeeded"))
    assert _names(store.list_archived()[0]) == ["db-1", "web-2", "web-1"]
    assert _names(store.list_archived("default")[0]) == ["web-2", "web-1"]
    assert _names(store.list_archived(label_selector="app=web,tier")[0]) == ["web-1"]
    assert _names(store.list_archived(label_selector="app!=web")[0]) == ["db-1"]
    assert _names(store.list_archived(label_selector="!tier")[0]) == ["db-1", "web-2"]
    assert _names(store.list_archived(label_selector="app in (db)")[0]) == ["db-1"]
    assert _names(store.list_archived(name_prefix="web")[0]) == ["web-2", "web-1"]
    assert _names(store.list_archived(name_prefix="WEB")[0]) == []  # not LIKE: case matters
    assert _names(store.list_archived(name_prefix="web_")[0]) == []  # ...and _ is no wildcard
    assert _names(store.list_archived(phases=["Failed"])[0]) == ["web-2"]
    assert _names(store.list_archived(phases="Succeeded")[0]) == ["db-1", "web-1"]
    with pytest.raises(InvalidInput, match="invalid label selector"):
        store.list_archived(label_selector="a in b")


def test_paging(store: Store, make_wf: WorkflowFactory) -> None:
    for i in range(5):
        store.archive_workflow(make_wf(f"w{i}", "ns" if i % 2 else "default", phase="Succeeded"))
    seen: list[str] = []
    token = None
    while True:
        items, token = store.list_archived(limit=2, continue_token=token)
        seen += _names(items)
        if token is None:
            break
    assert seen == ["w4", "w3", "w2", "w1", "w0"]
    assert store.list_archived(limit=0)[1] is None
    with pytest.raises(InvalidInput, match="negative"):
        store.list_archived(limit=-1)
    with pytest.raises(InvalidInput, match="invalid continue token"):
        store.list_archived(continue_token="garbage!")


def test_label_keys_and_values(store: Store, make_wf: WorkflowFactory) -> None:
    store.archive_workflow(make_wf("a", labels={"app": "web", "env": "prod"}, phase="Succeeded"))
    store.archive_workflow(make_wf("b", labels={"app": "api"}, phase="Succeeded"))
    store.archive_workflow(make_wf("c", "other", labels={"app": "db", "team": "t"}, phase="Succeeded"))
    assert store.archived_label_keys() == ["app", "env", "team"]
    assert store.archived_label_keys("default") == ["app", "env"]
    assert store.archived_label_values("app") == ["api", "db", "web"]
    assert store.archived_label_values("app", "default") == ["api", "web"]
    assert store.archived_label_values("nope") == []


def test_invalid_workflow_is_refused(store: Store, make_wf: WorkflowFactory) -> None:
    wf = make_wf("a")
    del wf["metadata"]["uid"]
    with pytest.raises(InvalidInput, match="uid"):
        store.archive_workflow(wf)


def test_archive_stored_copies_the_live_row(store: Store, make_wf: WorkflowFactory) -> None:
    running = make_wf("run", labels={"app": "web"}, phase="Running")
    store.create_workflow(running)
    assert not store.archive_stored("default", "run", ("Succeeded", "Failed"))  # not finished
    assert not store.archive_stored("default", "nope", ("Succeeded",))
    assert store.list_archived() == ([], None)
    running["status"] = {"phase": "Failed", "nodes": {"n": {"id": "n", "phase": "Failed"}}}
    running["metadata"]["labels"] = {"app": "api", "env": "prod"}
    store.update_workflow(running)
    assert store.archive_stored("default", "run", ("Succeeded", "Failed"))
    archived = store.get_archived(running["metadata"]["uid"])
    assert archived == store.get_workflow("default", "run")
    assert archived["status"]["nodes"]["n"]["phase"] == "Failed"
    assert _names(store.list_archived(label_selector="env=prod")[0]) == ["run"]
    assert _names(store.list_archived(phases=["Failed"])[0]) == ["run"]
    running["status"]["phase"] = "Succeeded"
    running["metadata"]["labels"] = {"app": "db"}
    store.update_workflow(running)
    assert store.archive_stored("default", "run", ("Succeeded",))  # same uid: replaced, labels too
    assert store.get_archived(running["metadata"]["uid"])["status"]["phase"] == "Succeeded"
    assert store.archived_label_values("app") == ["db"]
    assert store.archived_label_keys() == ["app"]
    assert store.integrity_check() == []
