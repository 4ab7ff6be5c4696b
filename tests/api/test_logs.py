"""Logs over HTTP: Argo's LogEntry stream, whole or followed, for a workflow or one pod."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.api.conftest import create, manifest, stream_lines, wait_done

STEPS = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "two"},
    "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "a", "template": "say", "arguments": {"parameters": [{"name": "w", "value": "alpha"}]}}],
                                   [{"name": "b", "template": "say", "arguments": {"parameters": [{"name": "w", "value": "beta"}]}}]]},
        {"name": "say", "inputs": {"parameters": [{"name": "w"}]},
         "container": {"image": "busybox", "command": ["sh", "-c", "echo {{inputs.parameters.w}} 1; echo {{inputs.parameters.w}} 2 >&2"]}},
    ]},
}


def entries(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    with client.stream("GET", path, params=params) as resp:
        assert resp.status_code == 200, resp.read()
        return [line["result"] for line in stream_lines(resp)]


def pods(wf: dict[str, Any]) -> dict[str, str]:
    """displayName -> podName"""
    return {n["displayName"]: n["podName"] for n in wf["status"]["nodes"].values() if n["type"] == "Pod"}


def test_workflow_logs_are_every_pods_lines_in_start_order(client: httpx.Client) -> None:
    create(client, STEPS)
    by_name = pods(wait_done(client, "two"))
    got = entries(client, "/api/v1/workflows/default/two/log", **{"logOptions.container": "main"})
    assert got == [
        {"content": "alpha 1", "podName": by_name["a"]}, {"content": "alpha 2", "podName": by_name["a"]},
        {"content": "beta 1", "podName": by_name["b"]}, {"content": "beta 2", "podName": by_name["b"]},
    ]


def test_one_pods_logs_by_query_or_path_with_grep_and_tail(client: httpx.Client) -> None:
    create(client, STEPS)
    pod_b = pods(wait_done(client, "two"))["b"]
    lines = [e["content"] for e in entries(client, "/api/v1/workflows/default/two/log", podName=pod_b)]
    assert lines == ["beta 1", "beta 2"]
    assert [e["content"] for e in entries(client, f"/api/v1/workflows/default/two/{pod_b}/log")] == lines
    assert [e["content"] for e in entries(client, "/api/v1/workflows/default/two/log", grep=r"a \d$")] == [
        "alpha 1", "alpha 2", "beta 1", "beta 2"]
    assert [e["content"] for e in entries(client, "/api/v1/workflows/default/two/log", grep="^beta 2")] == ["beta 2"]
    assert [e["content"] for e in entries(client, f"/api/v1/workflows/default/two/{pod_b}/log",
                                          **{"logOptions.tailLines": 1})] == ["beta 2"]
    assert entries(client, "/api/v1/workflows/default/two/log", **{"logOptions.container": "sidecar"}) == []
    assert len(entries(client, "/api/v1/workflows/default/two/log",
                       selector="workflows.argoproj.io/workflow=two")) == 4
    assert entries(client, "/api/v1/workflows/default/two/log", selector="workflows.argoproj.io/completed=false") == []


def test_log_errors_come_before_the_stream(client: httpx.Client) -> None:
    create(client, STEPS)
    wait_done(client, "two")
    resp = client.get("/api/v1/workflows/default/two/nope/log")
    assert resp.status_code == 404 and resp.json()["code"] == 5 and '"nope"' in resp.json()["message"]
    resp = client.get("/api/v1/workflows/default/two/log", params={"grep": "("})
    assert resp.status_code == 400 and "regular expression" in resp.json()["message"]


def test_follow_streams_lines_as_they_are_written_until_the_workflow_ends(client: httpx.Client) -> None:
    name = create(client, manifest("for i in 1 2 3; do echo line-$i; sleep 0.3; done", name="slow"))["metadata"]["name"]
    arrivals: list[tuple[float, str]] = []
    with client.stream("GET", f"/api/v1/workflows/default/{name}/log", params={"logOptions.follow": "true"}) as resp:
        assert resp.status_code == 200
        for line in stream_lines(resp):
            arrivals.append((time.monotonic(), line["result"]["content"]))
    ended = time.monotonic()
    assert [text for _, text in arrivals] == ["line-1", "line-2", "line-3"]
    assert ended - arrivals[0][0] > 0.4, "the first line came only at the end: not streamed"
    assert client.get(f"/api/v1/workflows/default/{name}").json()["status"]["phase"] == "Succeeded"


def test_logs_as_server_sent_events(client: httpx.Client) -> None:
    create(client, STEPS)
    wait_done(client, "two")
    with client.stream("GET", "/api/v1/workflows/default/two/log", headers={"Accept": "text/event-stream"}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        raw = resp.read().decode()
    events = [chunk for chunk in raw.split("\n\n") if chunk]
    assert len(events) == 4 and all(e.startswith('data: {"result":{"content":') for e in events)
