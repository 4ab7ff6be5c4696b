"""Authentication end to end: lists confined to a token's namespaces, roles on real
workflows, revoking a token while the server runs, userinfo, and server mode.

`test_auth_matrix.py` checks every route against every kind of caller; these
check that what is allowed does what it should.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hera.exceptions import Forbidden as HeraForbidden
from hera.exceptions import Unauthorized
from hera.workflows import WorkflowsService

from conveyor.api.auth import AuthContext, require
from conveyor.config import Settings
from conveyor.errors import Forbidden
from conveyor.store import Store, TokenInfo
from tests.api.conftest import LiveServer, manifest, stream_lines, wait_done, wait_for

NAMESPACES = ("team-a", "team-b", "team-c")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store.open(settings.db_path) as s:
        yield s


@pytest.fixture
def server(settings: Settings, store: Store) -> Iterator[LiveServer]:
    live = LiveServer(settings, auth_mode="client")
    live.start()
    yield live
    live.stop()


def client_for(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=20, headers={"Authorization": f"Bearer {token}"},
                        limits=httpx.Limits(max_keepalive_connections=0))


def names(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return sorted(item["metadata"]["name"] for item in resp.json()["items"] or [])


def template(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "container": {"image": "busybox", "command": ["true"]}}]}}


def test_lists_and_watches_show_only_the_tokens_namespaces(server: LiveServer, store: Store) -> None:
    with client_for(server, store.create_token("root", ["*"], "admin")) as root:
        for ns in NAMESPACES:
            for kind, body in (("workflow-templates", {"template": template(f"wt-{ns}")}),
                               ("cron-workflows", {"cronWorkflow": {**template(f"cron-{ns}"), "spec": {
                                   "schedules": ["0 0 1 1 *"], "workflowSpec": template("x")["spec"]}}}),
                               ("workflows", {"workflow": manifest("true", name=f"wf-{ns}")})):
                resp = root.post(f"/api/v1/{kind}/{ns}", json=body)
                assert resp.status_code == 200, resp.text
            wait_done(root, f"wf-{ns}", ns)
        assert root.post("/api/v1/cluster-workflow-templates", json={"template": template("shared")}).status_code == 200
    with client_for(server, store.create_token("reader", ["team-a", "team-b"], "read")) as reader:
        for ns in ("team-a", "team-b"):
            assert names(reader.get(f"/api/v1/workflows/{ns}")) == [f"wf-{ns}"]
            assert names(reader.get(f"/api/v1/workflow-templates/{ns}")) == [f"wt-{ns}"]
            assert names(reader.get(f"/api/v1/cron-workflows/{ns}")) == [f"cron-{ns}"]
            # a selector naming another namespace cannot widen the list
            field = {"listOptions.fieldSelector": "metadata.namespace=team-c"}
            assert names(reader.get(f"/api/v1/workflows/{ns}", params=field)) == []
        for kind in ("workflows", "workflow-templates", "cron-workflows", "workflow-events"):
            resp = reader.get(f"/api/v1/{kind}/team-c")
            assert resp.status_code == 403 and resp.json()["code"] == 7, resp.text
        # cluster-scoped templates are shared by every namespace: any token reads them
        assert names(reader.get("/api/v1/cluster-workflow-templates")) == ["shared"]
        params = {"listOptions.timeoutSeconds": "1"}
        with reader.stream("GET", "/api/v1/workflow-events/team-b", params=params) as resp:
            seen = [line["result"]["object"]["metadata"]["name"] for line in stream_lines(resp)]
        assert seen == ["wf-team-b"]


def test_read_tokens_read_logs_but_only_write_tokens_control_workflows(server: LiveServer, store: Store) -> None:
    with client_for(server, store.create_token("ci", ["team-a"], "write")) as writer, \
            client_for(server, store.create_token("viewer", ["team-a"], "read")) as reader:
        resp = writer.post("/api/v1/workflows/team-a", json={"workflow": manifest("echo started; sleep 30", name="long")})
        assert resp.status_code == 200, resp.text
        wait_for(lambda: any(line["result"]["content"] == "started" for line in stream_lines(
            reader.get("/api/v1/workflows/team-a/long/log"))), "the task's first log line")
        for action in ("stop", "terminate", "suspend"):
            resp = reader.put(f"/api/v1/workflows/team-a/long/{action}")
            assert resp.status_code == 403, resp.text
            assert resp.json() == {"code": 7, "details": [], "message": (
                f'token "viewer" (role read, namespaces team-a) may not {action} workflows: role read may '
                "only get, list, watch, read logs and lint; use a token with role write or admin")}
        assert reader.delete("/api/v1/workflows/team-a/long").status_code == 403
        assert writer.put("/api/v1/workflows/team-a/long/terminate").status_code == 200
        assert wait_done(reader, "long", "team-a")["status"]["phase"] == "Failed"
        assert writer.delete("/api/v1/workflows/team-a/long").status_code == 200


def test_a_revoked_token_is_refused_from_its_next_request(server: LiveServer, store: Store) -> None:
    with client_for(server, store.create_token("temp", ["team-a"], "read")) as c:
        assert c.get("/api/v1/workflows/team-a").status_code == 200
        assert store.list_tokens()[0].last_used_at is not None
        store.revoke_token("temp")
        resp = c.get("/api/v1/workflows/team-a")
    assert resp.status_code == 401
    assert resp.json()["code"] == 16 and resp.json()["message"].startswith("unknown or revoked token")


def test_userinfo_describes_the_token(server: LiveServer, store: Store) -> None:
    with client_for(server, store.create_token("me", ["team-b", "team-a"], "write")) as c:
        info = c.get("/api/v1/userinfo").json()
    assert info == {"issuer": "conveyor", "subject": "me", "name": "me", "namespaces": ["team-b", "team-a"],
                    "role": "write"}


def test_version_info_and_openapi_need_no_token(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as c:
        for path in ("/api/v1/version", "/api/v1/info", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        doc = c.get("/openapi.json").json()
    # declared as Argo Server's swagger declares it, so /docs can send a token
    assert doc["components"]["securitySchemes"]["BearerToken"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": doc["components"]["securitySchemes"]["BearerToken"]["description"]}


def test_server_mode_asks_for_nothing(client: httpx.Client) -> None:
    assert client.get("/api/v1/userinfo").json() == {}
    assert client.get("/api/v1/workflows/any-namespace").status_code == 200
    assert client.post("/api/v1/cluster-workflow-templates", json={"template": template("t")}).status_code == 200
    # a token sent anyway is not looked at, as in Argo's server mode
    resp = client.get("/api/v1/workflows/x", headers={"Authorization": "Bearer cvy_nonsense"})
    assert resp.status_code == 200


ADMIN_ALL = TokenInfo("a", ("*",), "admin", "")
ADMIN_A = TokenInfo("b", ("team-a",), "admin", "")
READ_A = TokenInfo("c", ("team-a",), "read", "")


@pytest.mark.parametrize(("token", "namespace", "action", "allowed"), [
    (ADMIN_ALL, "anything", "delete", True),
    (ADMIN_ALL, None, "create", True),
    (ADMIN_A, "team-a", "resubmit", True),
    (ADMIN_A, "team-b", "get", False),
    (ADMIN_A, None, "get", True),
    (ADMIN_A, None, "update", False),
    (READ_A, "team-a", "lint", True),
    (READ_A, "team-a", "logs", True),
    (READ_A, "team-a", "retry", False),
    (READ_A, "team-a", "some-future-action", False),  # unknown actions count as writes
    (READ_A, None, "list", True),
    (None, "anything", "delete", True),  # server mode
])
def test_require(token: TokenInfo | None, namespace: str | None, action: str, allowed: bool) -> None:
    ctx = AuthContext(token, "workflows")
    if allowed:
        require(ctx, namespace, action)
    else:
        with pytest.raises(Forbidden):
            require(ctx, namespace, action)


def test_hera_sends_its_token(server: LiveServer, store: Store) -> None:
    token = store.create_token("hera", ["team-a"], "write")
    assert WorkflowsService(host=server.url, token=token).get_user_info().subject == "hera"
    with pytest.raises(Unauthorized, match="token required"):
        WorkflowsService(host=server.url).list_workflows(namespace="team-a")
    with pytest.raises(HeraForbidden, match="not one of the token's namespaces"):
        WorkflowsService(host=server.url, token=token).list_workflows(namespace="team-b")
