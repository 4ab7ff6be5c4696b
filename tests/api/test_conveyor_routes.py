"""conveyor's own read-only routes for its UI: namespaces a caller may see, the
server's configuration (tokens masked) and a CronWorkflow's next run times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conveyor.config import Settings
from conveyor.store import Store
from tests.api.conftest import LiveServer, manifest, wait_done
from tests.api.test_auth import client_for


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store.open(settings.db_path) as s:
        yield s


@pytest.fixture
def server(settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setenv("PIPELINE_TOKEN", "cvy_planted-secret-value-123456")
    live = LiveServer(settings, auth_mode="client")
    live.start()
    yield live
    live.stop()


def test_namespaces_are_those_held_for_a_wide_token_and_its_own_for_a_narrow_one(
        server: LiveServer, store: Store) -> None:
    with client_for(server, store.create_token("root", ["*"], "admin")) as root:
        for ns in ("team-b", "team-a"):
            created = root.post(f"/api/v1/workflows/{ns}", json={"workflow": manifest("true")}).json()
            wait_done(root, created["metadata"]["name"], ns)
        assert root.get("/api/v1/conveyor/namespaces").json() == {"namespaces": ["default", "team-a", "team-b"]}
    with client_for(server, store.create_token("a", ["team-a", "empty"], "read")) as narrow:
        # its own namespaces, held or not, and never another's
        assert narrow.get("/api/v1/conveyor/namespaces").json() == {"namespaces": ["empty", "team-a"]}
    assert httpx.get(f"{server.url}/api/v1/conveyor/namespaces").status_code == 401


def test_config_lists_every_variable_with_tokens_masked(server: LiveServer, store: Store) -> None:
    with client_for(server, store.create_token("r", ["team-a"], "read")) as reader:
        resp = reader.get("/api/v1/conveyor/config")
    assert resp.status_code == 200
    assert "planted-secret" not in resp.text
    rows = {r["name"]: r for r in resp.json()["variables"]}
    assert rows["PIPELINE_TOKEN"]["value"].startswith("cvy_") and "characters" in rows["PIPELINE_TOKEN"]["value"]
    assert rows["PIPELINE_HOST"]["default"] == "http://127.0.0.1:2746"
    assert {"WORKFLOW_NODE_SELECTOR_VALUE_SMALL", "CONVEYOR_EXECUTOR", "REGISTRY_PULL_SECRET"} <= rows.keys()


def test_next_runs_of_a_cron_workflow(server: LiveServer, store: Store) -> None:
    cron = {"metadata": {"name": "nightly"}, "spec": {"schedules": ["30 2 * * *"], "timezone": "UTC", "workflowSpec": {
        "entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox", "command": ["true"]}}]}}}
    with client_for(server, store.create_token("w", ["team-a"], "write")) as writer:
        assert writer.post("/api/v1/cron-workflows/team-a", json={"cronWorkflow": cron}).status_code == 200
        body = writer.get("/api/v1/conveyor/cron-workflows/team-a/nightly/next-runs", params={"count": 3}).json()
        missing = writer.get("/api/v1/conveyor/cron-workflows/team-a/nope/next-runs")
        other = writer.get("/api/v1/conveyor/cron-workflows/team-b/nightly/next-runs")
    times = [datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for t in body["times"]]
    assert len(times) == 3 and all((t.hour, t.minute) == (2, 30) for t in times)
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [timedelta(days=1)] * 2
    assert datetime.now(UTC) < times[0] <= datetime.now(UTC) + timedelta(days=1)
    assert body["suspended"] is False
    assert missing.status_code == 404 and other.status_code == 403
