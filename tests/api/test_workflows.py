"""Workflows over HTTP: create, get, list (paging, selectors, fields), delete, lint."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.responses import JSONResponse

from tests.api.conftest import LiveServer, create, manifest, wait_done


def names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [wf["metadata"]["name"] for wf in resp.json()["items"] or []]


def test_create_answers_the_stored_workflow_at_once(client: httpx.Client) -> None:
    wf = create(client, manifest("echo hi", generate="hello-"))
    meta = wf["metadata"]
    assert meta["name"].startswith("hello-") and len(meta["name"]) == len("hello-") + 5
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and meta["namespace"] == "default"
    assert wf["status"]["phase"] == "Pending"
    # committed before the reply: readable straight away
    assert client.get(f"/api/v1/workflows/default/{meta['name']}").json()["metadata"]["uid"] == meta["uid"]
    done = wait_done(client, meta["name"])
    assert done["status"]["phase"] == "Succeeded"
    assert done["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"


def test_kind_and_api_version_may_be_left_out(client: httpx.Client) -> None:
    bare = manifest("true")
    del bare["kind"], bare["apiVersion"]
    assert create(client, bare)["kind"] == "Workflow"


def test_server_dry_run_stores_nothing(client: httpx.Client) -> None:
    for body in ({"serverDryRun": True}, {"createOptions": {"dryRun": ["All"]}}):
        resp = client.post("/api/v1/workflows/default", json={"workflow": manifest("true", name="dry"), **body})
        assert resp.status_code == 200 and resp.json()["metadata"]["name"] == "dry"
        assert client.get("/api/v1/workflows/default/dry").status_code == 404


def test_namespaces_keep_workflows_apart(client: httpx.Client) -> None:
    create(client, manifest("true", name="same"), namespace="team-a")
    create(client, manifest("true", name="same"), namespace="team-b")
    assert names(client.get("/api/v1/workflows/team-a")) == ["same"]
    resp = client.post("/api/v1/workflows/team-a", json={"workflow": {**manifest("true"), "metadata": {
        "generateName": "x-", "namespace": "team-b"}}})
    assert resp.status_code == 400 and "does not match" in resp.json()["message"]


def test_list_pages_with_limit_and_continue(client: httpx.Client) -> None:
    made = []
    for i in range(5):
        made.append(create(client, manifest("true", name=f"page-{i}"))["metadata"]["name"])
        time.sleep(0.01)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"listOptions.limit": "2", **({"listOptions.continue": token} if token else {})}
        body = client.get("/api/v1/workflows/default", params=params).json()
        seen += [wf["metadata"]["name"] for wf in body["items"]]
        assert body["metadata"]["resourceVersion"]
        token = body["metadata"].get("continue")
        pages += 1
        if not token:
            break
    assert pages == 3 and sorted(seen) == sorted(made) and len(seen) == 5


def test_list_filters_by_labels_names_and_namespace(client: httpx.Client) -> None:
    create(client, manifest("true", name="red-one", labels={"colour": "red", "size": "s"}))
    create(client, manifest("true", name="red-two", labels={"colour": "red", "size": "l"}))
    create(client, manifest("true", name="blue-one", labels={"colour": "blue"}))
    get = lambda **params: sorted(names(client.get("/api/v1/workflows/default", params=params)))  # noqa: E731
    assert get(**{"listOptions.labelSelector": "colour=red"}) == ["red-one", "red-two"]
    assert get(**{"listOptions.labelSelector": "colour=red,size in (l)"}) == ["red-two"]
    assert get(**{"listOptions.labelSelector": "!size"}) == ["blue-one"]
    assert get(**{"listOptions.fieldSelector": "metadata.name=red-one"}) == ["red-one"]
    assert get(**{"listOptions.fieldSelector": "metadata.name=red", "nameFilter": "Prefix"}) == ["red-one", "red-two"]
    assert get(**{"listOptions.fieldSelector": "metadata.name=one", "nameFilter": "Contains"}) == ["blue-one", "red-one"]
    assert get(**{"listOptions.fieldSelector": "metadata.name!=red-one,metadata.namespace=default"}) == [
        "blue-one", "red-two"]
    assert get(**{"listOptions.fieldSelector": "metadata.namespace=elsewhere"}) == []
    assert get(createdAfter="2000-01-01T00:00:00Z") == ["blue-one", "red-one", "red-two"]
    assert get(createdAfter="2999-01-01T00:00:00Z") == []


def test_finished_before_only_lists_finished_workflows(client: httpx.Client) -> None:
    wait_done(client, create(client, manifest("true", name="quick"))["metadata"]["name"])
    create(client, manifest("sleep 30", name="slow"))
    got = names(client.get("/api/v1/workflows/default", params={"finishedBefore": "2999-01-01T00:00:00Z"}))
    assert got == ["quick"]


def test_an_empty_list_has_items_null_as_argo_answers(client: httpx.Client) -> None:
    body = client.get("/api/v1/workflows/empty").json()
    assert body["items"] is None and "continue" not in body["metadata"]


def test_fields_keep_or_drop_paths(client: httpx.Client) -> None:
    name = create(client, manifest("true", name="fields", labels={"a": "b"}))["metadata"]["name"]
    wait_done(client, name)
    listed = client.get("/api/v1/workflows/default", params={
        "fields": "items.metadata.name,items.status.phase,metadata.continue"}).json()
    assert listed == {"metadata": {}, "items": [{"metadata": {"name": "fields"}, "status": {"phase": "Succeeded"}}]}
    dropped = client.get("/api/v1/workflows/default", params={"fields": "-items.status.nodes"}).json()
    assert "nodes" not in dropped["items"][0]["status"] and dropped["items"][0]["spec"]["templates"]
    one = client.get(f"/api/v1/workflows/default/{name}", params={"fields": "metadata.labels,status.phase"}).json()
    assert one["status"] == {"phase": "Succeeded"} and one["metadata"]["labels"]["a"] == "b" and "spec" not in one
    full = client.get(f"/api/v1/workflows/default/{name}", params={"fields": "-status.nodes"}).json()
    assert "nodes" not in full["status"] and full["spec"]


def test_a_whole_workflow_is_answered_as_stored_without_parsing_it(
        client: httpx.Client, live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name = create(client, manifest("echo 'héllo ✓'", name="as-stored", labels={"a": "b"}))["metadata"]["name"]
    wait_done(client, name)
    assert live.service is not None
    store = live.service.store
    stored = store.workflow_json("default", name)

    def unparsed(*_: object, **__: object) -> None:
        raise AssertionError("a GET of the whole workflow parsed it")

    monkeypatch.setattr(store, "find_workflow", unparsed)
    resp = client.get(f"/api/v1/workflows/default/{name}")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    assert resp.content == stored.encode()  # the bytes JSONResponse writes for the parsed object
    assert resp.content == JSONResponse(json.loads(stored)).body
    assert resp.json()["status"]["phase"] == "Succeeded"
    assert client.get("/api/v1/workflows/default/nope").status_code == 404
    monkeypatch.undo()
    assert client.get(f"/api/v1/workflows/default/{name}", params={"fields": "metadata.name"}).json() == {
        "metadata": {"name": name}}


def test_get_by_uid(client: httpx.Client) -> None:
    wf = create(client, manifest("true", name="by-uid"))
    assert client.get("/api/v1/workflows/default/by-uid", params={"uid": wf["metadata"]["uid"]}).status_code == 200
    assert client.get("/api/v1/workflows/default/by-uid", params={"uid": "other"}).status_code == 404


def test_delete_answers_empty_and_removes_even_a_running_workflow(client: httpx.Client) -> None:
    create(client, manifest("sleep 30", name="doomed"))
    resp = client.delete("/api/v1/workflows/default/doomed")
    assert resp.status_code == 200 and resp.json() == {}
    assert client.get("/api/v1/workflows/default/doomed").status_code == 404
    assert names(client.get("/api/v1/workflows/default")) == []


def test_lint_answers_the_normalized_workflow_and_stores_nothing(client: httpx.Client) -> None:
    wf = manifest("true", name="linted")
    wf["spec"]["onExit"] = "main"
    resp = client.post("/api/v1/workflows/default/lint", json={"workflow": wf})
    assert resp.status_code == 200, resp.text
    assert resp.json()["metadata"]["name"] == "linted" and resp.json()["kind"] == "Workflow"
    assert client.get("/api/v1/workflows/default/linted").status_code == 404
