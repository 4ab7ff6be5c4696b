"""Group commit: every store write of a process's runners in as few transactions as the disk allows.

A runner appends each batch of events before it applies them (fsynced: a crash
loses nothing acknowledged), writes its workflow's status back now and then,
and the server stores new workflows. Each of these on its own is one SQLite
write transaction; with many workflows running, they queue for SQLite's one
write lock and every durable one pays its own fsync. The Journal gathers what
arrives while a transaction is on its way to disk and writes it all in the
next one (`Store.write_batch`, in a worker thread so the event loop never
waits for the lock or the disk):

- creates and appends are answered (their awaitable resolves) only once their
  transaction is committed and fsynced, exactly as a write of their own would;
- a status write replaces the one still waiting for the same workflow (only
  the newest is worth writing: status is a projection of the events), and its
  `on_written` callback runs on the loop once it is stored, so watchers never
  hear of a status a GET would not return yet.

One item failing (a name taken, a workflow deleted meanwhile) fails only its
own awaitable; a failing transaction (disk full) fails everything in it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.store import Store

__all__ = ["Journal"]

_log = logging.getLogger(__name__)

Append = tuple[str, str, Sequence[dict[str, Any]], Sequence[tuple[str, str, str]]]


@dataclass
class _Pending:
    creates: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = field(default_factory=list)
    appends: list[tuple[Append, asyncio.Future[None]]] = field(default_factory=list)
    #: (namespace, name) -> (the newest status to write, its futures, its callbacks)
    updates: dict[tuple[str, str], tuple[dict[str, Any], list[asyncio.Future[None]],
                                         list[Callable[[dict[str, Any]], None]]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.creates or self.appends or self.updates)


class Journal:
    """The one writer of a process's runners; use from the event loop only."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending = _Pending()
        self._writer: asyncio.Task[None] | None = None

    async def create(self, wf: dict[str, Any]) -> dict[str, Any]:
        """Store a new workflow (fsynced); its stored copy, or AlreadyExists."""
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending.creates.append((wf, done))
        self._kick()
        return await done

    async def append(self, namespace: str, name: str, events: Sequence[dict[str, Any]],
                     logs: Sequence[tuple[str, str, str]] = ()) -> None:
        """Append events (and index logs) durably; NotFound if the workflow is gone."""
        if not events and not logs:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.appends.append(((namespace, name, events, logs), done))
        self._kick()
        await done

    def update(self, wf: dict[str, Any], on_written: Callable[[dict[str, Any]], None] | None = None,
               ) -> asyncio.Future[None]:
        """Write `wf` back (not fsynced) with the next transaction, instead of any
        version of it still waiting. The caller must not change `wf` afterwards. The
        future resolves once it, or a newer version, is stored (NotFound if the
        workflow is gone); `on_written` then runs with the version stored."""
        meta = wf["metadata"]
        key = (meta["namespace"], meta["name"])
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        _, futures, callbacks = self._pending.updates.pop(key, (wf, [], []))
        futures.append(done)
        if on_written is not None and on_written not in callbacks:
            callbacks.append(on_written)
        self._pending.updates[key] = (wf, futures, callbacks)
        self._kick()
        return done

    async def flush(self) -> None:
        """Wait until everything handed over so far is stored."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def _kick(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        # Whatever arrives while one transaction is on disk waits for the next: one
        # fsync for many. Never raises: every failure goes to the awaitables it concerns.
        while self._pending:
            batch, self._pending = self._pending, _Pending()
            await self._commit(batch)

    async def _commit(self, batch: _Pending) -> None:
        # A method of its own so that its locals (the workflow documents of the batch)
        # are let go when it returns, not kept through the next batch's transaction.
        updates = list(batch.updates.values())
        try:
            out = await asyncio.to_thread(
                self.store.write_batch, creates=[wf for wf, _ in batch.creates],
                appends=[a for a, _ in batch.appends], updates=[wf for wf, _, _ in updates])
        except Exception as exc:  # the transaction failed (disk full, ...): each waiter hears why
            for fut in [f for _, f in batch.creates] + [f for _, f in batch.appends] + \
                    [f for _, fs, _ in updates for f in fs]:
                _settle(fut, exc)
            return
        for (_, fut_c), (stored, taken) in zip(batch.creates, out.created, strict=True):
            _settle(fut_c, taken, stored)
        for (_, fut_a), missing in zip(batch.appends, out.appended, strict=True):
            _settle(fut_a, missing)
        for (wf, futures, callbacks), missing in zip(updates, out.updated, strict=True):
            if missing is None:
                for callback in callbacks:
                    try:
                        callback(wf)
                    except Exception:  # a broken listener must never stop the writer
                        _log.exception("a listener of workflow writes failed")
            for fut in futures:
                _settle(fut, missing)


def _settle(fut: asyncio.Future[Any], error: BaseException | None, value: Any = None) -> None:
    if fut.done():
        return  # its waiter went away (cancelled)
    if error is None:
        fut.set_result(value)
    else:
        fut.set_exception(error)
        # An update's future may have no waiter (runners only await their last one):
        # mark it retrieved, so asyncio does not log it as forgotten; the runner checks it.
        fut.add_done_callback(lambda f: f.exception())
