"""`GET /api/v1/workflow-events/{namespace}`: a stream of ADDED / MODIFIED / DELETED workflows.

The Service calls its listeners on every create, status write and delete.
One hub listens there, copies each workflow once, and offers it to every
open stream. A stream keeps only the latest pending event per workflow, so
a slow reader never piles up a backlog: it just sees fewer intermediate
states. As in a Kubernetes watch with selectors, a workflow that starts
matching arrives as ADDED and one that stops matching leaves as DELETED.
Without `listOptions.resourceVersion` the stream opens with every matching
workflow as ADDED (a client that listed first passes the list's
resourceVersion and gets only changes).

Workflows driven by another process (a `conveyor run`) write to the store
but not through this Service, so they are not watched live.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS
from conveyor.api.fields import apply_fields
from conveyor.api.listing import ObjectFilter, list_workflows
from conveyor.api.models import WatchStreamResult
from conveyor.api.streams import stream_results
from conveyor.runtime import Service
from conveyor.store import Store

__all__ = ["WatchHub", "router"]

Key = tuple[str, str]
Event = tuple[str, dict[str, Any]]


def _key(wf: dict[str, Any]) -> Key:
    meta = wf.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


class Subscription:
    """One open watch stream: its filter, what it has reported, and what waits to be sent."""

    def __init__(self, flt: ObjectFilter) -> None:
        self.filter = flt
        self.seen: set[Key] = set()  # workflows the reader knows as matching
        self.pending: dict[Key, Event] = {}
        self.ready = asyncio.Event()
        self.closed = False

    def seed(self, store: Store) -> list[dict[str, Any]]:
        """The workflows that match now; later events are relative to them."""
        items, _ = list_workflows(store, self.filter, None, None)
        self.seen = {_key(wf) for wf in items}
        return items

    def offer(self, kind: str, wf: dict[str, Any]) -> None:
        key = _key(wf)
        if kind != "DELETED" and self.filter.matches(wf):
            kind = "MODIFIED" if key in self.seen else "ADDED"
            self.seen.add(key)
        elif key in self.seen:  # deleted, or no longer matching
            kind = "DELETED"
            self.seen.discard(key)
        else:
            return
        before = self.pending.pop(key, None)
        if before is not None and before[0] == "ADDED":
            if kind == "DELETED":
                return  # came and went before the reader looked: nothing to tell
            kind = "ADDED"
        self.pending[key] = (kind, wf)
        self.ready.set()

    async def next(self, timeout_s: float | None) -> list[Event]:
        """The pending events (oldest first); [] when the timeout passes or the hub closes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout_s)
        self.ready.clear()
        batch = list(self.pending.values())
        self.pending.clear()
        return batch

    def close(self) -> None:
        self.closed = True
        self.ready.set()


class WatchHub:
    """Fans the Service's workflow events out to the open streams (all on the event loop)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.subscriptions: set[Subscription] = set()
        service.listeners.append(self._on_event)

    def _on_event(self, kind: str, wf: dict[str, Any]) -> None:
        # Only streams this workflow concerns (it matches, or they know it) get it; the copy
        # (the runner keeps mutating its workflow object) is taken once, and only if any does.
        key = _key(wf)
        concerned = [sub for sub in self.subscriptions if key in sub.seen or sub.filter.matches(wf)]
        if not concerned:
            return
        snapshot = json.loads(json.dumps(wf))
        for sub in concerned:
            sub.offer(kind, snapshot)

    def subscribe(self, flt: ObjectFilter) -> Subscription:
        sub = Subscription(flt)
        self.subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.service.listeners.remove(self._on_event)
        for sub in list(self.subscriptions):
            sub.close()


async def watch_events(hub: WatchHub, flt: ObjectFilter, *, initial: bool, timeout_s: float | None,
                       fields: str | None) -> AsyncIterator[dict[str, Any]]:
    # Watch paths are written against the streamed envelope (result.object.metadata.name).
    fields = ",".join(p.strip().removeprefix("result.") for p in fields.split(",")) if fields else None
    sub = hub.subscribe(flt)
    try:
        # Seeding and subscribing happen with no await in between, so no event falls in a gap.
        current = sub.seed(hub.service.store)
        if initial:
            for wf in reversed(current):  # oldest first, as they were created
                yield apply_fields({"type": "ADDED", "object": wf}, fields)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not sub.closed:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            for kind, wf in await sub.next(left):
                yield apply_fields({"type": kind, "object": wf}, fields)
    finally:
        hub.unsubscribe(sub)


router = APIRouter(tags=["WorkflowService"], responses=ERRORS)


@router.get("/api/v1/workflow-events/{namespace}", response_model=WatchStreamResult,
            summary="Watch workflows: one JSON object per line, or server-sent events")
async def watch_workflows(
    request: Request,
    auth: Auth,
    namespace: str,
    label_selector: str | None = Query(None, alias="listOptions.labelSelector"),
    field_selector: str | None = Query(None, alias="listOptions.fieldSelector"),
    resource_version: str | None = Query(None, alias="listOptions.resourceVersion"),
    timeout_seconds: int | None = Query(None, alias="listOptions.timeoutSeconds", ge=0),
    fields: str | None = Query(None),
) -> StreamingResponse:
    require(auth, namespace, "watch")
    flt = ObjectFilter.build(namespace, label_selector=label_selector, field_selector=field_selector)
    hub: WatchHub = request.app.state.hub
    events = watch_events(hub, flt, initial=not resource_version, timeout_s=timeout_seconds or None, fields=fields)
    return stream_results(request, events)
