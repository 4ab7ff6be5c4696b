"""Every route the app serves, against every kind of caller, in --auth-mode client.

The routes are walked from the app itself, as `conveyor server` builds it (the web UI
mounted too), so a route added without an entry in RULES fails here: give it `Auth`
and `require(...)`, then its rule. Public without a token: the version and info
routes, the OpenAPI document and its pages, and the UI's static shell (`/` and every
file under `/ui/`, which hold no data: the page asks the API, with the token, for
everything it shows). A token for another namespace gets the same 403 whether or
not the named object exists there.
Each request is built from the route (path parameters filled in, a body with
the required fields), so a denial is the route's own check, not a 400 for a
bad body; allowed requests end in 200, 400 (for the placeholder manifests)
or 404 (for the placeholder names), never in 401 or 403.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from conveyor.api.auth import TOKEN_REQUIRED
from conveyor.config import Settings
from conveyor.store import Store
from conveyor.ui import ASSETS
from tests.api.conftest import LiveServer

NS, OTHER = "team-a", "team-b"
#: (method, path) -> (scope, kind). Scope: "open" needs no token, "any" any live token,
#: "ns" the namespace in the path, "cluster" a cluster-scoped object, "all" every namespace
#: at once (a '*' token). Kind: read or write.
RULES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/openapi.json"): ("open", "read"),
    ("GET", "/docs"): ("open", "read"),
    ("GET", "/docs/oauth2-redirect"): ("open", "read"),
    ("GET", "/redoc"): ("open", "read"),
    # The web UI's static shell (conveyor.ui): the page and its assets, no data.
    ("GET", "/"): ("open", "read"),
    ("GET", "/ui/{path}"): ("open", "read"),
    ("GET", "/api/v1/version"): ("open", "read"),
    ("GET", "/api/v1/info"): ("open", "read"),
    ("GET", "/api/v1/userinfo"): ("any", "read"),
    ("GET", "/api/v1/conveyor/namespaces"): ("any", "read"),
    ("GET", "/api/v1/conveyor/config"): ("cluster", "read"),
    ("GET", "/api/v1/conveyor/cron-workflows/{namespace}/{name}/next-runs"): ("ns", "read"),
    ("POST", "/api/v1/workflows/{namespace}"): ("ns", "write"),
    ("GET", "/api/v1/workflows/{namespace}"): ("ns", "read"),
    ("POST", "/api/v1/workflows/{namespace}/lint"): ("ns", "read"),
    ("GET", "/api/v1/workflows/{namespace}/{name}"): ("ns", "read"),
    ("DELETE", "/api/v1/workflows/{namespace}/{name}"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/stop"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/terminate"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/resume"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/suspend"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/set"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/retry"): ("ns", "write"),
    ("PUT", "/api/v1/workflows/{namespace}/{name}/resubmit"): ("ns", "write"),
    ("POST", "/api/v1/workflows/{namespace}/submit"): ("ns", "write"),
    ("GET", "/api/v1/workflows/{namespace}/{name}/log"): ("ns", "read"),
    ("GET", "/api/v1/workflows/{namespace}/{name}/{podName}/log"): ("ns", "read"),
    ("GET", "/api/v1/workflow-events/{namespace}"): ("ns", "read"),
    ("POST", "/api/v1/workflow-templates/{namespace}"): ("ns", "write"),
    ("GET", "/api/v1/workflow-templates/{namespace}"): ("ns", "read"),
    ("POST", "/api/v1/workflow-templates/{namespace}/lint"): ("ns", "read"),
    ("GET", "/api/v1/workflow-templates/{namespace}/{name}"): ("ns", "read"),
    ("PUT", "/api/v1/workflow-templates/{namespace}/{name}"): ("ns", "write"),
    ("DELETE", "/api/v1/workflow-templates/{namespace}/{name}"): ("ns", "write"),
    ("POST", "/api/v1/cluster-workflow-templates"): ("cluster", "write"),
    ("GET", "/api/v1/cluster-workflow-templates"): ("cluster", "read"),
    ("POST", "/api/v1/cluster-workflow-templates/lint"): ("cluster", "read"),
    ("GET", "/api/v1/cluster-workflow-templates/{name}"): ("cluster", "read"),
    ("PUT", "/api/v1/cluster-workflow-templates/{name}"): ("cluster", "write"),
    ("DELETE", "/api/v1/cluster-workflow-templates/{name}"): ("cluster", "write"),
    ("POST", "/api/v1/cron-workflows/{namespace}"): ("ns", "write"),
    ("GET", "/api/v1/cron-workflows/{namespace}"): ("ns", "read"),
    ("POST", "/api/v1/cron-workflows/{namespace}/lint"): ("ns", "read"),
    ("GET", "/api/v1/cron-workflows/{namespace}/{name}"): ("ns", "read"),
    ("PUT", "/api/v1/cron-workflows/{namespace}/{name}"): ("ns", "write"),
    ("DELETE", "/api/v1/cron-workflows/{namespace}/{name}"): ("ns", "write"),
    ("PUT", "/api/v1/cron-workflows/{namespace}/{name}/suspend"): ("ns", "write"),
    ("PUT", "/api/v1/cron-workflows/{namespace}/{name}/resume"): ("ns", "write"),
    # Archived workflows name no namespace in the path: `call` passes it as ?namespace=.
    ("GET", "/api/v1/archived-workflows"): ("ns", "read"),
    ("GET", "/api/v1/archived-workflows/{uid}"): ("ns", "read"),
    ("DELETE", "/api/v1/archived-workflows/{uid}"): ("ns", "write"),
    ("PUT", "/api/v1/archived-workflows/{uid}/resubmit"): ("ns", "write"),
    ("PUT", "/api/v1/archived-workflows/{uid}/retry"): ("ns", "write"),
    ("GET", "/api/v1/archived-workflows-label-keys"): ("ns", "read"),
    ("GET", "/api/v1/archived-workflows-label-values"): ("ns", "read"),
    # Kubernetes-style paths (routes_kube): the same actions as their /api/v1 twins.
    ("GET", "/version"): ("open", "read"),
    ("GET", "/apis"): ("any", "read"),
    ("GET", "/apis/argoproj.io"): ("any", "read"),
    ("GET", "/apis/argoproj.io/v1alpha1"): ("any", "read"),
    ("POST", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows"): ("ns", "write"),
    ("GET", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows"): ("ns", "read"),
    ("GET", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows/{name}"): ("ns", "read"),
    ("DELETE", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/workflows/{name}"): ("ns", "write"),
    ("GET", "/apis/argoproj.io/v1alpha1/workflows"): ("all", "read"),
    ("POST", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/cronworkflows"): ("ns", "write"),
    ("GET", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/cronworkflows"): ("ns", "read"),
    ("GET", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/cronworkflows/{name}"): ("ns", "read"),
    ("PUT", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/cronworkflows/{name}"): ("ns", "write"),
    ("DELETE", "/apis/argoproj.io/v1alpha1/namespaces/{namespace}/cronworkflows/{name}"): ("ns", "write"),
    ("GET", "/apis/argoproj.io/v1alpha1/cronworkflows"): ("all", "read"),
}
#: the reason a Kubernetes Status gives for each HTTP status these tests expect
KUBE_REASONS = {401: "Unauthorized", 403: "Forbidden"}


def walk(routes: list[Any]) -> Iterator[Route | Mount]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # newer FastAPI keeps included routers nested
        if inner is not None:
            yield from walk(inner.routes)
        elif isinstance(route, (Route, Mount)):
            yield route
        else:
            raise AssertionError(f"a route of a kind this test does not know: {route!r}; teach walk() it")


def served(live: LiveServer) -> dict[tuple[str, str], Route | Mount]:
    """(method, path) -> route; a mount of static files is ("GET", "/prefix/{path}")."""
    assert live.server is not None
    app = live.server.config.app
    out: dict[tuple[str, str], Route | Mount] = {}
    for r in walk(app.routes):
        if isinstance(r, Mount):
            assert isinstance(r.app, StaticFiles), f"{r.path}: only static files may be mounted, not {r.app!r}"
            out["GET", r.path + "/{path}"] = r
        else:
            out.update(((m, r.path), r) for m in r.methods or () if m != "HEAD")
    return out


def assets() -> list[str]:
    """Every file the UI mount serves, as its path under /ui/."""
    return sorted(str(p.relative_to(ASSETS)) for p in ASSETS.rglob("*") if p.is_file())


def _model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next((m for a in typing.get_args(annotation) if (m := _model(a)) is not None), None)
    return None


def body_for(route: Route | Mount) -> dict[str, Any] | None:
    """The route's request body with its required fields: a named placeholder manifest, or "x"."""
    params = getattr(getattr(route, "dependant", None), "body_params", [])
    if not params or not params[0].field_info.is_required():
        return None
    if typing.get_origin(params[0].field_info.annotation) is dict:  # a Kubernetes route: the object itself
        return {"metadata": {"name": "x"}}
    model = _model(params[0].field_info.annotation)
    assert model is not None, f"{route.path}: cannot build a body for {params[0].field_info.annotation}"
    return {name: ({"metadata": {"name": "x"}} if field.annotation is not str else "x")
            for name, field in model.model_fields.items() if field.is_required()}


def call(client: httpx.Client, method: str, path: str, route: Route | Mount, namespace: str,
         header: str | None, name: str = "x") -> httpx.Response:
    url = (path.replace("{namespace}", namespace).replace("{name}", name).replace("{podName}", "p")
           .replace("{uid}", "x").replace("{path}", "index.html"))
    headers = {"Authorization": header} if header is not None else {}
    body, params = body_for(route), None
    if path.startswith("/api/v1/archived-workflows"):  # the namespace goes in the body of a PUT
        body, params = ({"namespace": namespace}, None) if method == "PUT" else (body, {"namespace": namespace})
    # Streamed, and closed once the status line is in: watches would otherwise never end.
    with client.stream(method, url, json=body, headers=headers, params=params) as resp:
        if resp.status_code != 200:
            resp.read()
        return resp


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    settings = Settings.from_env({"CONVEYOR_HOME": str(tmp_path_factory.mktemp("auth") / "home")})
    Path(settings.home).mkdir(parents=True)
    with Store.open(settings.db_path) as store:
        tokens = {
            "read": store.create_token("read-a", [NS], "read"),
            "write": store.create_token("write-a", [NS], "write"),
            "admin": store.create_token("admin-a", [NS, "team-c"], "admin"),
            "admin-all": store.create_token("admin-all", ["*"], "admin"),
            "other": store.create_token("admin-b", [OTHER], "admin"),
            "revoked": store.create_token("gone", [NS], "admin"),
        }
        store.revoke_token("gone")
    live = LiveServer(settings, auth_mode="client", ui=True)
    live.start()
    yield live, tokens
    live.stop()


@pytest.fixture(scope="module")
def client(server: tuple[LiveServer, dict[str, str]]) -> Iterator[httpx.Client]:
    # A fresh connection per request: on a reused one, the server's separate header and
    # body writes meet the client's delayed ACK, and each request waits ~40 ms.
    with httpx.Client(base_url=server[0].url, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)) as c:
        yield c


def test_every_route_has_a_rule(server: tuple[LiveServer, dict[str, str]]) -> None:
    routes = served(server[0])
    assert len(routes) >= 59
    missing = sorted(f"{m} {p}" for m, p in routes if (m, p) not in RULES)
    assert missing == [], "routes without an auth rule here: give them Auth and require(), then a rule"
    stale = sorted(f"{m} {p}" for m, p in RULES if (m, p) not in routes)
    assert stale == [], "rules for routes the app no longer serves"


def _expect_error(resp: httpx.Response, status: int, code: int, where: str) -> str:
    """The message of an error reply: a gRPC-gateway body, or on Kubernetes paths a Status."""
    assert resp.status_code == status, f"{where}: {resp.status_code} {resp.text[:300]}"
    body = resp.json()
    if resp.url.path.startswith("/apis"):
        assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure", body
        assert body["code"] == status and body["reason"] == KUBE_REASONS[status], f"{where}: {body}"
    else:
        assert body["code"] == code and body["details"] == [], f"{where}: {body}"
    message: str = body["message"]
    return message


def _expect_allowed(resp: httpx.Response, where: str) -> None:
    # 201: a Kubernetes create; 422: a Kubernetes route found the placeholder manifest Invalid.
    assert resp.status_code in (200, 201, 400, 404, 422), f"{where}: {resp.status_code} {resp.text[:300]}"
    if resp.status_code == 400:  # the route ran: a placeholder manifest, not a malformed request
        assert not resp.json()["message"].startswith("invalid request:"), f"{where}: {resp.text[:300]}"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Token cvy_abc", "Basic dXNlcjpwYXNz", "cvy_abc",
                                    "Bearer two words", "Bearer cvy_abc!"])
def test_no_or_garbled_header_is_401_token_required(server: tuple[LiveServer, dict[str, str]],
                                                    client: httpx.Client, header: str | None) -> None:
    for (method, path), route in served(server[0]).items():
        resp = call(client, method, path, route, NS, header)
        where = f"{method} {path} with {header!r}"
        if RULES[method, path][0] == "open":
            assert resp.status_code == 200, where
            continue
        assert _expect_error(resp, 401, 16, where) == TOKEN_REQUIRED
        assert resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("case", ["unknown", "revoked"])
def test_unknown_and_revoked_tokens_are_401(server: tuple[LiveServer, dict[str, str]], client: httpx.Client,
                                            case: str) -> None:
    token = "cvy_" + "A" * 43 if case == "unknown" else server[1]["revoked"]
    for (method, path), route in served(server[0]).items():
        resp = call(client, method, path, route, NS, f"Bearer {token}")
        where = f"{method} {path} with an {case} token"
        if RULES[method, path][0] == "open":
            assert resp.status_code == 200, where
            continue
        assert _expect_error(resp, 401, 16, where).startswith("unknown or revoked token")


#: caller -> (namespaced read, namespaced write, cluster read, cluster write, every-namespace read)
#: in namespace NS
ALLOWED = {
    "read": (True, False, True, False, False),
    "write": (True, True, True, False, False),
    "admin": (True, True, True, False, False),  # an admin of some namespaces only: not cluster-scoped writes
    "admin-all": (True, True, True, True, True),
    "other": (False, False, True, False, False),  # a token for another namespace
}


@pytest.mark.parametrize("caller", sorted(ALLOWED))
def test_roles_and_namespaces(server: tuple[LiveServer, dict[str, str]], client: httpx.Client, caller: str) -> None:
    live, tokens = server
    ns_read, ns_write, cl_read, cl_write, all_read = ALLOWED[caller]
    allowed = {("ns", "read"): ns_read, ("ns", "write"): ns_write, ("cluster", "read"): cl_read,
               ("cluster", "write"): cl_write, ("all", "read"): all_read, ("any", "read"): True,
               ("open", "read"): True}
    for (method, path), route in served(live).items():
        resp = call(client, method, path, route, NS, f"Bearer {tokens[caller]}")
        scope, kind = RULES[method, path]
        where = f"{method} {path} as {caller}"
        if allowed[scope, kind]:
            _expect_allowed(resp, where)
            continue
        message = _expect_error(resp, 403, 7, where)
        assert message.startswith('token "'), message
        if scope == "all":
            assert "of every namespace" in message and "/namespaces/NAMESPACE/" in message, message
        elif scope == "ns" and caller == "other":
            assert f'in namespace "{NS}"' in message and "not one of the token's namespaces" in message
        elif scope == "ns":
            assert "role read" in message and f"may not {route.name.split('_')[0]} " in message, message
        else:
            assert "cluster-scoped" in message and "--role admin --namespace '*'" in message, message


def test_a_token_works_in_each_of_its_namespaces(server: tuple[LiveServer, dict[str, str]],
                                                 client: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {server[1]['admin']}"}
    for ns, status in ((NS, 200), ("team-c", 200), (OTHER, 403)):
        assert client.get(f"/api/v1/workflow-templates/{ns}", headers=headers).status_code == status


@pytest.mark.parametrize("path", ["/api/v1/archived-workflows", "/api/v1/archived-workflows-label-keys"])
def test_listing_archived_workflows_of_every_namespace_takes_a_star_token(
        server: tuple[LiveServer, dict[str, str]], client: httpx.Client, path: str) -> None:
    tokens = server[1]
    resp = client.get(path, headers={"Authorization": f"Bearer {tokens['admin']}"})
    message = _expect_error(resp, 403, 7, path)
    assert "of every namespace" in message and "?namespace=NS" in message
    assert client.get(path, headers={"Authorization": f"Bearer {tokens['admin-all']}"}).status_code == 200
    assert client.get(path, params={"namespace": NS},
                      headers={"Authorization": f"Bearer {tokens['read']}"}).status_code == 200


def test_kubernetes_paths_deny_with_a_status_naming_the_resource(server: tuple[LiveServer, dict[str, str]],
                                                                 client: httpx.Client) -> None:
    tokens = server[1]
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/cronworkflows"
    resp = client.post(path, json={"metadata": {"name": "c"}}, headers={"Authorization": f"Bearer {tokens['read']}"})
    message = _expect_error(resp, 403, 7, path)
    assert "may not create cronworkflows" in message and "role read" in message
    assert resp.json()["details"] == {"group": "argoproj.io", "kind": "cronworkflows"}
    resp = client.get(f"{path}/c", headers={"Authorization": f"Bearer {tokens['other']}"})
    assert f'may not get cronworkflows in namespace "{NS}"' in _expect_error(resp, 403, 7, path)
    assert resp.json()["details"] == {"name": "c", "group": "argoproj.io", "kind": "cronworkflows"}
    assert _expect_error(client.get("/apis"), 401, 16, "/apis") == TOKEN_REQUIRED


def test_the_ui_shell_is_public_and_holds_no_data(server: tuple[LiveServer, dict[str, str]],
                                                 client: httpx.Client) -> None:
    files = assets()
    assert "index.html" in files and len(files) >= 10
    for path, file in [("/", "index.html"), *((f"/ui/{f}", f) for f in files)]:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.content == (ASSETS / file).read_bytes(), f"{path} is not the shipped file as it is"
        assert not [t for t in server[1].values() if t in resp.text], path
    # nothing outside the assets folder, however the path is spelled
    for path in ("/ui/../conveyor.db", "/ui/%2e%2e/%2e%2e/__init__.py", "/ui//etc/passwd", "/ui/..%2f__init__.py"):
        resp = client.get(path)
        assert resp.status_code == 404, f"{path}: {resp.status_code} {resp.text[:200]}"


@pytest.fixture(scope="module")
def seeded(server: tuple[LiveServer, dict[str, str]], client: httpx.Client) -> str:
    """A namespace holding a workflow, a WorkflowTemplate and a CronWorkflow named "x"."""
    ns = "team-d"
    headers = {"Authorization": f"Bearer {server[1]['admin-all']}"}
    spec = {"entrypoint": "main", "templates": [{"name": "main", "suspend": {}}]}
    for path, body in ((f"/api/v1/workflows/{ns}", {"workflow": {"metadata": {"name": "x"}, "spec": spec}}),
                       (f"/api/v1/workflow-templates/{ns}", {"template": {"metadata": {"name": "x"}, "spec": spec}}),
                       (f"/api/v1/cron-workflows/{ns}", {"cronWorkflow": {"metadata": {"name": "x"}, "spec": {
                           "schedules": ["0 0 1 1 *"], "suspend": True, "workflowSpec": spec}}})):
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code == 200, resp.text
    return ns


@pytest.mark.parametrize("caller", ["other", "read"])
def test_a_denied_caller_learns_nothing_about_what_exists(server: tuple[LiveServer, dict[str, str]],
                                                          client: httpx.Client, seeded: str, caller: str) -> None:
    """Another namespace's token (every route) and a read token (writes) get the same answer
    for a name that exists as for one that does not."""
    tokens = server[1]
    if caller == "read":  # a read token of the seeded namespace, for its writes
        with Store.open(server[0].settings.db_path) as store:
            token = store.create_token("read-d", [seeded], "read")
    else:
        token = tokens["other"]
    checked = 0
    for (method, path), route in served(server[0]).items():
        scope, kind = RULES[method, path]
        if scope != "ns" or "{name}" not in path or (caller == "read" and kind == "read"):
            continue
        answers = []
        for name in ("x", "missing"):
            resp = call(client, method, path, route, seeded, f"Bearer {token}", name=name)
            answers.append((resp.status_code, resp.text.replace(f'"{name}"', '"NAME"')))
        assert answers[0] == answers[1], f"{method} {path} as {caller}: {answers}"
        assert answers[0][0] == 403, f"{method} {path} as {caller}: {answers[0]}"
        checked += 1
    assert checked >= (20 if caller == "other" else 10), "the walk found fewer named routes than it should"
