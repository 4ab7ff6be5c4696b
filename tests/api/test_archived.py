"""Archived workflows over the REST API: every route, and ttlStrategy removing finished workflows."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import LiveServer, create, manifest, wait_done, wait_for
from tests.api.test_swagger import _swagger, ref, validate

BASE = "/api/v1/archived-workflows"


def archived(client: httpx.Client, uid: str) -> dict[str, Any]:
    """The archived copy of `uid`, once the service has archived it (just after the run ends)."""
    def find() -> dict[str, Any] | None:
        resp = client.get(f"{BASE}/{uid}")
        return resp.json() if resp.status_code == 200 else None
    found: dict[str, Any] = wait_for(find, f"archived workflow {uid}", timeout_s=10)
    return found


def run(client: httpx.Client, command: str, name: str, **kw: Any) -> dict[str, Any]:
    uid = create(client, manifest(command, name=name, **kw))["metadata"]["uid"]
    wait_done(client, name)
    return archived(client, uid)


def names(body: dict[str, Any]) -> list[str]:
    return [wf["metadata"]["name"] for wf in body["items"] or []]


def test_list_get_delete_and_labels(client: httpx.Client) -> None:
    a = run(client, "echo a", "arch-a", labels={"app": "web"})
    b = run(client, "exit 1", "arch-b", labels={"app": "db", "tier": "x"})
    assert (a["status"]["phase"], b["status"]["phase"]) == ("Succeeded", "Failed")
    swagger = _swagger()
    validate(swagger, a, ref("Workflow"))
    listed = client.get(BASE).json()
    validate(swagger, listed, ref("WorkflowList"))
    assert names(listed) == ["arch-b", "arch-a"]
    assert names(client.get(BASE, params={"namespace": "default", "listOptions.labelSelector": "app=web"}).json()) == ["arch-a"]
    assert names(client.get(BASE, params={"namePrefix": "arch-b"}).json()) == ["arch-b"]
    assert client.get(BASE, params={"namespace": "elsewhere"}).json()["items"] is None
    page = client.get(BASE, params={"listOptions.limit": 1}).json()
    assert names(page) == ["arch-b"]
    rest = client.get(BASE, params={"listOptions.limit": 1, "listOptions.continue": page["metadata"]["continue"]}).json()
    assert names(rest) == ["arch-a"] and "continue" not in rest["metadata"]

    keys = client.get(f"{BASE}-label-keys").json()
    validate(swagger, keys, ref("LabelKeys"))
    assert {"app", "tier"} <= set(keys["items"])
    values = client.get(f"{BASE}-label-values", params={"listOptions.labelSelector": "app"}).json()
    validate(swagger, values, ref("LabelValues"))
    assert values["items"] == ["db", "web"]
    bad = client.get(f"{BASE}-label-values", params={"listOptions.labelSelector": "app=web"})
    assert bad.status_code == 400 and "must be one label key" in bad.json()["message"]

    uid = a["metadata"]["uid"]
    assert client.get(f"{BASE}/{uid}", params={"namespace": "elsewhere"}).status_code == 404
    assert client.delete("/api/v1/workflows/default/arch-a").status_code == 200
    assert client.get(f"{BASE}/{uid}").json()["metadata"]["name"] == "arch-a"  # the live delete keeps it
    deleted = client.delete(f"{BASE}/{uid}")
    assert deleted.status_code == 200 and deleted.json() == {}
    missing = client.get(f"{BASE}/{uid}")
    assert missing.status_code == 404 and missing.json()["message"] == f'archived workflow "{uid}" not found'
    assert client.delete(f"{BASE}/{uid}").status_code == 404


def test_resubmit_and_retry(client: httpx.Client) -> None:
    old = run(client, "exit 1", "arch-r", labels={"app": "r"})
    uid = old["metadata"]["uid"]
    new = client.put(f"{BASE}/{uid}/resubmit", json={"uid": uid})
    assert new.status_code == 200, new.text
    meta = new.json()["metadata"]
    assert meta["name"].startswith("arch-r-") and meta["namespace"] == "default"
    assert meta["labels"]["workflows.argoproj.io/resubmitted-from-workflow"] == "arch-r"
    wait_done(client, meta["name"])

    retried = client.put(f"{BASE}/{uid}/retry", json={})  # still live: Service.retry_workflow runs it
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"]["phase"] == "Running"
    wait_done(client, "arch-r")
    assert client.delete("/api/v1/workflows/default/arch-r").status_code == 200
    gone = client.put(f"{BASE}/{uid}/retry", json={})
    assert gone.status_code == 400
    assert "retry works on live workflows only" in gone.json()["message"] and "resubmit" in gone.json()["message"]
    assert client.put(f"{BASE}/nope/retry").status_code == 404
    assert client.put(f"{BASE}/nope/resubmit").status_code == 404


def test_ttl_strategy_deletes_the_live_workflow_but_keeps_it_archived(live: LiveServer, client: httpx.Client) -> None:
    doc = manifest("echo bye > /tmp/p.txt", name="short-lived", ttlStrategy={"secondsAfterCompletion": 1})
    doc["spec"]["templates"][0]["outputs"] = {"artifacts": [{"name": "p", "path": "/tmp/p.txt", "archive": {"none": {}}}]}
    logs = live.settings.logs_dir / "default" / "short-lived"
    artifacts = live.settings.artifact_dir / "short-lived"
    # Seen from the server as the run ends: finishedAt has whole seconds, so the sweep may
    # come within a fraction of a second, before a poll from here could look.
    seen: list[tuple[bool, bool]] = []
    assert live.service is not None
    live.service.listeners.append(lambda kind, wf: seen.append((logs.is_dir(), artifacts.is_dir()))
                                  if (wf.get("status") or {}).get("phase") == "Succeeded" else None)
    uid = create(client, doc)["metadata"]["uid"]
    wait_for(lambda: client.get("/api/v1/workflows/default/short-lived").status_code == 404,
             "the ttlStrategy to delete short-lived", timeout_s=8)
    assert seen and seen[0] == (True, True)
    assert "short-lived" not in names(client.get("/api/v1/workflows/default").json())
    assert archived(client, uid)["status"]["phase"] == "Succeeded"
    assert not logs.exists() and not artifacts.exists()
