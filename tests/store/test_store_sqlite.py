"""Opening, schema versions, durability settings, threads, crash survival, integrity."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conveyor.errors import StoreError
from conveyor.store import Store
from conveyor.store._db import store_error
from conveyor.store._schema import MIGRATIONS


def test_open_creates_folder_schema_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "conveyor.db"
    with Store.open(path) as store:
        assert store.path == path
    assert path.exists()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"workflows", "workflow_labels", "events", "logs", "templates"} <= tables
    raw.close()


def test_reopen_keeps_data_and_does_not_remigrate(tmp_path: Path, make_wf) -> None:
    path = tmp_path / "conveyor.db"
    with Store.open(path) as store:
        store.create_workflow(make_wf("kept"))
    with Store.open(path) as store:
        assert store.get_workflow("default", "kept")["metadata"]["name"] == "kept"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "conveyor.db"
    Store.open(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer than this conveyor"):
        Store.open(path)


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "c.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_workflows()


def test_durable_writes_switch_to_synchronous_full(store: Store, make_wf) -> None:
    statements: list[str] = []
    store._db.connect().set_trace_callback(statements.append)

    def sync_levels() -> list[str]:
        levels = [s for s in statements if s.startswith("PRAGMA synchronous")]
        statements.clear()
        return levels

    wf = store.create_workflow(make_wf("d"))
    assert sync_levels() == ["PRAGMA synchronous = FULL", "PRAGMA synchronous = NORMAL"]
    store.append_events("default", "d", [{"e": 1}])
    assert sync_levels() == ["PRAGMA synchronous = FULL", "PRAGMA synchronous = NORMAL"]
    store.update_workflow(wf)  # a projection of the events: not fsynced
    store.add_log("default", "d", "n", "main", "/x")
    assert sync_levels() == []
    assert store._db.connect().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_each_thread_gets_its_own_connection(store: Store) -> None:
    seen: list[object] = []  # the objects themselves, so no id is reused
    barrier = threading.Barrier(4)

    def grab() -> None:
        barrier.wait()
        conn = store._db.connect()
        seen.append(conn)
        assert store._db.connect() is conn  # stable within a thread
        store.list_workflows()

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    mine = store._db.connect()
    assert len({id(c) for c in seen}) == 4
    assert all(c is not mine for c in seen)
    assert store._db.connect() is mine


def test_concurrent_creates_across_threads(store: Store, make_wf) -> None:
    errors: list[BaseException] = []

    def create(t: int) -> None:
        try:
            for i in range(20):
                store.create_workflow(make_wf(f"t{t}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(store.list_workflows()[0]) == 120


_CRASHER = """
import os, signal, sys
from pathlib import Path
from conveyor.store import Store
store = Store.open(Path(sys.argv[1]))
store.create_workflow({"metadata": {"namespace": "ns", "name": "crash", "uid": "u1",
                       "creationTimestamp": "2024-01-01T00:00:00Z"}})
store.append_events("ns", "crash", [{"n": 1}, {"n": 2}])
store.put_template("WorkflowTemplate", {"metadata": {"namespace": "ns", "name": "t"}})
print("acknowledged", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run(
        [sys.executable, "-c", _CRASHER, str(path)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == -9, proc.stderr
    assert "acknowledged" in proc.stdout
    with Store.open(path) as store:
        assert store.get_workflow("ns", "crash")["metadata"]["uid"] == "u1"
        assert store.load_events("ns", "crash") == [{"n": 1}, {"n": 2}]
        assert store.get_template("WorkflowTemplate", "ns", "t") is not None
        assert store.integrity_check() == []


def test_integrity_check_reports_dangling_rows(tmp_path: Path, make_wf) -> None:
    path = tmp_path / "i.db"
    with Store.open(path) as store:
        assert store.integrity_check() == []
        store.create_workflow(make_wf("ok"))
    raw = sqlite3.connect(path)  # foreign keys are off by default on a raw connection
    raw.execute(
        "INSERT INTO events (namespace, name, body) VALUES (?, ?, ?)",
        ("default", "orphan", json.dumps({"x": 1})),
    )
    raw.commit()
    raw.close()
    with Store.open(path) as store:
        problems = store.integrity_check()
    assert len(problems) == 1 and "events" in problems[0] and "workflows" in problems[0]


@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ("database or disk is full", "no space left"),
        ("database is locked", "locked"),
        ("no such table: x", "no such table"),
    ],
)
def test_sqlite_errors_become_store_errors_naming_the_file(message: str, needle: str) -> None:
    err = store_error(sqlite3.OperationalError(message), Path("/data/conveyor.db"))
    assert isinstance(err, StoreError)
    assert needle in err.message and "/data" in err.message
