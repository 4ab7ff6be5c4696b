"""The watch stream: ADDED / MODIFIED / DELETED workflows, as JSON lines or server-sent events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conveyor.api.listing import ObjectFilter
from conveyor.api.watch import Subscription
from tests.api.conftest import create, manifest, stream_lines, wait_done, wait_for

WATCH = "/api/v1/workflow-events/default"


def events(resp: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    for line in stream_lines(resp):
        yield line["result"]["type"], line["result"]["object"]


def test_watch_one_workflow_from_added_to_succeeded(client: httpx.Client) -> None:
    name = create(client, manifest("echo hi", name="watched"))["metadata"]["name"]
    create(client, manifest("echo hi", name="other"))
    seen = []
    params = {"listOptions.fieldSelector": f"metadata.name={name}"}
    with client.stream("GET", WATCH, params=params) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
        for kind, wf in events(resp):
            seen.append((kind, wf["metadata"]["name"], (wf.get("status") or {}).get("phase")))
            if seen[-1][2] == "Succeeded":
                break
    assert seen[0][:2] == ("ADDED", "watched")
    assert all(kind == "MODIFIED" and who == "watched" for kind, who, _ in seen[1:])
    assert seen[-1][2] == "Succeeded"


def test_watch_as_server_sent_events_sees_new_workflows_and_deletes(client: httpx.Client) -> None:
    got: list[tuple[str, str]] = []
    opened = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=20) as c, c.stream(
                "GET", WATCH, headers={"Accept": "text/event-stream"},
                params={"listOptions.labelSelector": "watch=me"}) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            opened.set()
            for line in resp.iter_lines():
                if line:
                    assert line.startswith("data: {")
                    result = httpx.Response(200, content=line.removeprefix("data: ")).json()["result"]
                    got.append((result["type"], result["object"]["metadata"]["name"]))
                    if result["type"] == "DELETED":
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    opened.wait(10)
    create(client, manifest("true", name="ignored"))
    create(client, manifest("sleep 30", name="seen", labels={"watch": "me"}))
    wait_for(lambda: ("MODIFIED", "seen") in got, "a MODIFIED event")
    assert client.delete("/api/v1/workflows/default/seen").status_code == 200
    reader.join(20)
    assert got[0] == ("ADDED", "seen") and got[-1] == ("DELETED", "seen")
    assert all(name == "seen" for _, name in got)


def test_watch_with_a_resource_version_skips_what_exists_and_times_out(client: httpx.Client) -> None:
    wait_done(client, create(client, manifest("true", name="before"))["metadata"]["name"])
    params = {"listOptions.resourceVersion": "1", "listOptions.timeoutSeconds": "1"}
    with client.stream("GET", WATCH, params=params) as resp:
        assert list(events(resp)) == []  # "before" exists but does not change any more


def test_watch_fields_apply_to_the_event(client: httpx.Client) -> None:
    create(client, manifest("true", name="slim"))
    params = {"fields": "result.type,result.object.metadata.name", "listOptions.timeoutSeconds": "1"}
    with client.stream("GET", WATCH, params=params) as resp:
        first = next(stream_lines(resp))
    assert first == {"result": {"type": "ADDED", "object": {"metadata": {"name": "slim"}}}}


def test_bad_watch_selectors_are_400_before_streaming(client: httpx.Client) -> None:
    resp = client.get(WATCH, params={"listOptions.fieldSelector": "spec.x=1"})
    assert resp.status_code == 400 and resp.json()["code"] == 3


def wf(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": name, "labels": labels}}


@pytest.mark.parametrize("offers, expected", [
    # a workflow that starts matching arrives as ADDED; one that stops matching leaves as DELETED
    ([("MODIFIED", wf("a", x="1"))], [("ADDED", "a")]),
    ([("ADDED", wf("a", x="1")), ("MODIFIED", wf("a", x="1"))], [("ADDED", "a")]),
    ([("ADDED", wf("a", x="2"))], []),
    ([("ADDED", wf("a", x="1")), ("DELETED", wf("a", x="1"))], []),
    ([("ADDED", wf("a", x="1")), ("MODIFIED", wf("b", x="1"))], [("ADDED", "a"), ("ADDED", "b")]),
])
def test_subscription_keeps_the_latest_event_per_workflow(offers: list[tuple[str, dict[str, Any]]],
                                                          expected: list[tuple[str, str]]) -> None:
    sub = Subscription(ObjectFilter.build("default", label_selector="x=1"))
    for kind, obj in offers:
        sub.offer(kind, obj)
    assert [(kind, obj["metadata"]["name"]) for kind, obj in sub.pending.values()] == expected


def test_subscription_reports_leaving_the_selector_as_deleted() -> None:
    sub = Subscription(ObjectFilter.build("default", label_selector="x=1"))
    sub.seen = {("default", "a")}
    sub.offer("MODIFIED", wf("a", x="2"))
    sub.offer("MODIFIED", {"metadata": {"namespace": "other", "name": "z", "labels": {"x": "1"}}})
    assert [(k, o["metadata"]["name"]) for k, o in sub.pending.values()] == [("DELETED", "a")]
