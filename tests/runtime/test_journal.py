"""The journal: creates, event appends and status writes of many runners in shared transactions."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.errors import AlreadyExists, NotFound, StoreError
from conveyor.runtime.journal import Journal
from conveyor.store import Store


def _wf(name: str, phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "creationTimestamp": "2026-12-03T00:00:00Z"},
            "spec": {"entrypoint": "main"}, "status": {"phase": phase}}


class Counting(Store):
    """A store that counts its batch transactions."""

    batches: list[dict[str, int]]

    def write_batch(self, **kw: Any) -> Any:
        self.batches.append({k: len(v) for k, v in kw.items()})
        return super().write_batch(**kw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Counting]:
    s = Counting.open(tmp_path / "db.sqlite")
    s.batches = []
    yield s
    s.close()


def test_what_arrives_together_shares_one_transaction_and_each_waiter_hears_its_own_outcome(store: Counting) -> None:
    store.create_workflow(_wf("taken"))
    store.batches.clear()

    async def main() -> list[Any]:
        journal = Journal(store)
        return await asyncio.gather(
            journal.create(_wf("a")), journal.create(_wf("b")), journal.create(_wf("taken")),
            journal.append("default", "taken", [{"type": "start"}]),
            journal.append("default", "nowhere", [{"type": "start"}]),
            return_exceptions=True)

    a, b, taken, appended, nowhere = asyncio.run(main())
    assert len(store.batches) == 1 and store.batches[0]["creates"] == 3 and store.batches[0]["appends"] == 2
    assert a["metadata"]["name"] == "a" and b["metadata"]["name"] == "b"
    assert isinstance(taken, AlreadyExists) and '"taken" already exists' in taken.message
    assert appended is None
    assert isinstance(nowhere, NotFound) and '"nowhere" not found' in nowhere.message
    # the failures were undone alone: the rest is stored
    assert store.find_workflow("default", "a") is not None and store.find_workflow("default", "b") is not None
    assert store.load_events("default", "taken") == [{"type": "start"}]
    assert store.find_workflow("default", "nowhere") is None


def test_only_the_newest_status_is_written_and_listeners_hear_it_once_it_is_stored(store: Counting) -> None:
    store.create_workflow(_wf("w"))
    store.batches.clear()
    heard: list[tuple[str, str | None]] = []

    def listener(wf: dict[str, Any]) -> None:  # what a GET returns when the listener hears of it
        stored = store.get_workflow("default", "w")
        heard.append((wf["status"]["phase"], stored["status"]["phase"]))

    async def main() -> None:
        journal = Journal(store)
        # the first write starts a transaction at once; the next three wait, and only the last is worth writing
        first = journal.update(_wf("w", "Running"), listener)
        await asyncio.sleep(0)  # the writer takes it
        waiting = [journal.update(_wf("w", phase), listener) for phase in ("Running", "Failed", "Succeeded")]
        await asyncio.gather(first, *waiting)
        await journal.flush()

    asyncio.run(main())
    assert [b["updates"] for b in store.batches] == [1, 1]
    assert heard == [("Running", "Running"), ("Succeeded", "Succeeded")]
    assert store.get_workflow("default", "w")["status"]["phase"] == "Succeeded"


def test_a_status_write_of_a_deleted_workflow_fails_its_future_only(store: Counting) -> None:
    store.create_workflow(_wf("kept"))

    async def main() -> tuple[BaseException | None, BaseException | None]:
        journal = Journal(store)
        gone = journal.update(_wf("gone"))
        kept = journal.update(_wf("kept", "Succeeded"))
        await asyncio.wait([gone, kept])
        return gone.exception(), kept.exception()

    gone, kept = asyncio.run(main())
    assert isinstance(gone, NotFound) and kept is None
    assert store.get_workflow("default", "kept")["status"]["phase"] == "Succeeded"


def test_a_failed_transaction_fails_every_waiter_in_it_and_the_next_one_still_runs(store: Counting) -> None:
    calls = 0
    real = store.write_batch

    def failing_once(**kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("database or disk is full")
        return real(**kw)

    store.write_batch = failing_once  # type: ignore[method-assign]

    async def main() -> list[Any]:
        journal = Journal(store)
        first = await asyncio.gather(journal.create(_wf("x")), journal.create(_wf("y")), return_exceptions=True)
        return [*first, await journal.create(_wf("z"))]

    x, y, z = asyncio.run(main())
    assert isinstance(x, StoreError) and isinstance(y, StoreError) and "disk is full" in str(x)
    assert z["metadata"]["name"] == "z" and store.find_workflow("default", "x") is None


class _Doc(dict[str, Any]):
    """A workflow document that can be weakly referenced (a plain dict cannot)."""


def test_a_stored_status_is_let_go_while_the_next_transaction_is_on_its_way(store: Counting) -> None:
    store.create_workflow(_wf("a"))
    store.create_workflow(_wf("b"))
    store.batches.clear()
    second_began, go_on = threading.Event(), threading.Event()
    write_batch = store.write_batch

    def gated(**kw: Any) -> Any:
        if len(store.batches) == 1:  # the second transaction waits, as a slow disk would
            second_began.set()
            go_on.wait(10)
        return write_batch(**kw)

    store.write_batch = gated  # type: ignore[method-assign]

    async def main() -> bool:
        journal = Journal(store)
        doc = _Doc(_wf("a", "Succeeded"))
        gone = weakref.ref(doc)
        first = journal.update(doc)
        del doc
        await asyncio.sleep(0)  # the writer takes it
        journal.update(_wf("b", "Succeeded"))  # waits for the next transaction
        await first
        await asyncio.to_thread(second_began.wait, 10)
        gc.collect()
        released = gone() is None  # while the second transaction is on its way
        go_on.set()
        await journal.flush()
        return released

    assert asyncio.run(main())
    assert [b["updates"] for b in store.batches] == [1, 1]
