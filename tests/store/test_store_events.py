"""Replay events and the log index, including appends from many threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conveyor.errors import InvalidInput, NotFound
from conveyor.store import Store


def test_events_load_in_append_order(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("ev"))
    store.append_events("default", "ev", [{"type": "created"}, {"type": "started", "n": 1}])
    store.append_events("default", "ev", [])  # no-op
    store.append_events("default", "ev", [{"type": "node", "data": {"phase": "Succeeded"}}])
    assert store.load_events("default", "ev") == [
        {"type": "created"},
        {"type": "started", "n": 1},
        {"type": "node", "data": {"phase": "Succeeded"}},
    ]


def test_events_are_per_workflow(store: Store, make_wf) -> None:
    for name, ns in [("one", "a"), ("two", "a"), ("one", "b")]:
        store.create_workflow(make_wf(name, ns))
        store.append_events(ns, name, [{"of": f"{ns}/{name}"}])
    assert store.load_events("a", "one") == [{"of": "a/one"}]
    assert store.load_events("b", "one") == [{"of": "b/one"}]
    assert store.load_events("a", "nobody") == []


def test_append_to_missing_workflow_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match='workflows.argoproj.io "ghost" not found'):
        store.append_events("default", "ghost", [{"type": "x"}])


def test_append_is_one_transaction(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("atomic"))
    with pytest.raises(InvalidInput, match="JSON"):
        store.append_events("default", "atomic", [{"ok": 1}, {"bad": object()}])
    assert store.load_events("default", "atomic") == []


def test_concurrent_appends_from_threads_keep_every_event_in_order(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("busy"))
    threads_n, batches, per_batch = 8, 25, 3
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for b in range(batches):
                store.append_events(
                    "default", "busy", [{"t": t, "i": b * per_batch + k} for k in range(per_batch)]
                )
                store.list_workflows()  # readers interleave with writers
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    events = store.load_events("default", "busy")
    assert len(events) == threads_n * batches * per_batch
    for t in range(threads_n):
        assert [e["i"] for e in events if e["t"] == t] == list(range(batches * per_batch))
    # A batch is contiguous: one transaction per append_events call.
    for start in range(0, len(events), per_batch):
        batch = events[start : start + per_batch]
        assert len({e["t"] for e in batch}) == 1


def test_logs_index(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("logged"))
    store.add_log("default", "logged", "n1", "main", "/l/n1/main.log")
    store.add_log("default", "logged", "n1", "wait", "/l/n1/wait.log")
    store.add_log("default", "logged", "n2", "main", "/l/n2/main.log")
    assert store.list_logs("default", "logged") == [
        {"node_id": "n1", "container": "main", "path": "/l/n1/main.log"},
        {"node_id": "n1", "container": "wait", "path": "/l/n1/wait.log"},
        {"node_id": "n2", "container": "main", "path": "/l/n2/main.log"},
    ]
    assert store.list_logs("default", "logged", node_id="n2") == [
        {"node_id": "n2", "container": "main", "path": "/l/n2/main.log"}
    ]
    assert store.list_logs("default", "logged", node_id="n9") == []
    assert store.list_logs("other", "logged") == []


def test_add_log_again_replaces_path(store: Store, make_wf) -> None:
    store.create_workflow(make_wf("relog"))
    store.add_log("default", "relog", "n1", "main", "/old.log")
    store.add_log("default", "relog", "n1", "main", "/new.log")
    assert store.list_logs("default", "relog") == [
        {"node_id": "n1", "container": "main", "path": "/new.log"}
    ]


def test_add_log_for_missing_workflow_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match='"ghost" not found'):
        store.add_log("default", "ghost", "n1", "main", "/x.log")


def test_requests_are_taken_once_in_order(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "db.sqlite")
    store.create_workflow({"metadata": {"namespace": "ns", "name": "w", "uid": "u"}})
    store.add_request("ns", "w", {"type": "resume", "n": 1})
    store.add_request("ns", "w", {"type": "stop", "n": 2})
    assert store.take_requests("ns", "w") == [{"type": "resume", "n": 1}, {"type": "stop", "n": 2}]
    assert store.take_requests("ns", "w") == []
    with pytest.raises(NotFound):
        store.add_request("ns", "missing", {"type": "stop"})
