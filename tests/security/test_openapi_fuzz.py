"""schemathesis over conveyor's own `/openapi.json`: no 5xx, and every answer fits the schema.

A real `conveyor server` (the process executor, an isolated CONVEYOR_HOME) is
fuzzed operation by operation with requests generated from the OpenAPI document
FastAPI serves, both valid ones and ones that break the schema. Each answer must
not be a server error, must be declared for its operation, must have the declared
content type, and its body must validate against the declared response model.

Seed objects named `seed` exist in namespace `default` so that reads and actions
on a name find something some of the time (random names almost never do).

Streams: the workflow-events watch only ends on its `listOptions.timeoutSeconds`
(or the client leaving), so every generated watch gets one of at most 2 seconds;
log streams with `logOptions.follow` end when their workflow does, and every
workflow here ends within seconds. Every request also has a client timeout, so a
stream that does not end fails the test instead of hanging it.

CONVEYOR_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 10: about
700 requests, 30-60 s on two cores); `-m slow` runs test_every_operation_deeply:
60 examples and schemathesis' coverage phase (boundary values, missing fields),
about 4 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the `test` extra")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ROOT, STANDINS, free_port  # noqa: E402

EXAMPLES = int(os.environ.get("CONVEYOR_SCHEMATHESIS_EXAMPLES", "10"))
DEEP_EXAMPLES = 60
#: seconds a single request may take: every stream here ends well before it
REQUEST_TIMEOUT_S = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED = "seed"
NS = "default"
WATCH_TIMEOUT = "listOptions.timeoutSeconds"


def _workflow(kind: str = "Workflow", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": SEED, "namespace": NS, "labels": {"app": SEED}},
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "container": {"image": "busybox", "command": ["echo", "hi"]}}],
            **spec,
        },
    }


class Seeds:
    """Puts the `seed` objects back when a fuzzed request has deleted one."""

    CREATE = {
        "workflow": (f"/api/v1/workflows/{NS}", "workflow", lambda: _workflow()),
        "template": (f"/api/v1/workflow-templates/{NS}", "template", lambda: _workflow("WorkflowTemplate")),
        "cluster": ("/api/v1/cluster-workflow-templates", "template", lambda: _workflow("ClusterWorkflowTemplate")),
        "cron": (
            f"/api/v1/cron-workflows/{NS}",
            "cronWorkflow",
            lambda: {
                **_workflow("CronWorkflow"),
                "spec": {"schedules": ["0 0 1 1 *"], "workflowSpec": _workflow()["spec"]},
            },
        ),
    }
    GET = {
        "workflow": f"/api/v1/workflows/{NS}/{SEED}",
        "template": f"/api/v1/workflow-templates/{NS}/{SEED}",
        "cluster": f"/api/v1/cluster-workflow-templates/{SEED}",
        "cron": f"/api/v1/cron-workflows/{NS}/{SEED}",
    }

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def ensure(self, kind: str) -> None:
        if self.client.get(self.GET[kind]).status_code == 200:
            return
        path, key, body = self.CREATE[kind]
        resp = self.client.post(path, json={key: body()})
        assert resp.status_code in (200, 409), f"cannot seed a {kind}: {resp.status_code} {resp.text[:300]}"


def _kind_of(path: str) -> str | None:
    if "cluster-workflow-templates" in path:
        return "cluster"
    if "workflow-templates" in path:
        return "template"
    if "cron" in path:
        return "cron"
    if "workflows" in path:
        return "workflow"
    return None


class Server:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.log_path = home / "server.log"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CONVEYOR_HOME": str(home / "home"),
            "CONVEYOR_EXECUTOR": "process",
            "PATH": f"{os.environ.get('PATH', '')}:{STANDINS}",
        }
        # A file, not a pipe: the access log of a few thousand requests would fill a pipe and stall the server.
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conveyor", "server", "--port", str(port)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/version", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"conveyor server did not come up:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, lines: int = 60) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def errors(self) -> str:
        """The tracebacks the server logged (every 5xx logs one)."""
        text = self.log_path.read_text(errors="replace")
        return text[text.find("Traceback"):][-4000:] if "Traceback" in text else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("schemathesis"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def seeds(server: Server) -> Iterator[Seeds]:
    with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S) as client:
        found = Seeds(client)
        for kind in Seeds.CREATE:
            found.ensure(kind)
        yield found


def _load_schema(server: Server, *, coverage: bool) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "base-url": server.url,
            "request-timeout": REQUEST_TIMEOUT_S,
            "phases": {
                # The coverage phase sends each operation's boundary and missing-value
                # cases (dozens per operation, whatever max_examples says): the slow run's.
                "coverage": {"enabled": coverage},
                # Stateful runs follow links between operations; conveyor's schema declares none.
                "stateful": {"enabled": False},
            },
        }
    )
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def api_schema(server: Server) -> Any:
    return _load_schema(server, coverage=False)


@pytest.fixture(scope="module")
def api_schema_deep(server: Server) -> Any:
    return _load_schema(server, coverage=True)


@pytest.fixture(scope="module")
def openapi(server: Server) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{server.url}/openapi.json", timeout=REQUEST_TIMEOUT_S).json()
    return document


def _aim_at_seeds(case: Any, seeds: Seeds) -> None:
    """Half the cases that name an object name the seed (chosen from the case itself, so a
    failure replays); the seed is put back first if an earlier request deleted it."""
    params = case.path_parameters
    if not params or "name" not in params:
        return
    if zlib.crc32(repr(sorted(params.items())).encode()) % 2:
        return
    kind = _kind_of(case.operation.path)
    if kind is None:
        return
    params["name"] = SEED
    if "namespace" in params:
        params["namespace"] = NS
    seeds.ensure(kind)


def _bound_streams(case: Any) -> None:
    if case.operation.path.startswith("/api/v1/workflow-events/"):
        query = case.query if isinstance(case.query, dict) else {}
        value = query.get(WATCH_TIMEOUT)
        if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2):
            query[WATCH_TIMEOUT] = 1
        case.query = query


def _is_stream(case: Any) -> bool:
    path = case.operation.path
    return path.endswith("/log") or path.startswith("/api/v1/workflow-events/")


def _checks_for(case: Any, response: Any) -> list[Any]:
    checks = CHECKS
    query = case.query if isinstance(case.query, dict) else {}
    if query.get("fields") not in (None, ""):
        # `fields` asks for a projection (Argo's field mask): the answer holds only the
        # paths named, so it may lack what the full model requires, on Argo too.
        checks = [c for c in checks if c is not response_schema_conformance]
    if _is_stream(case) and response.status_code == 200:
        # A stream is one JSON object per line (grpc-gateway's framing, sent as
        # application/json like Argo's), not one document: _check_stream reads it.
        checks = [c for c in checks if c is not response_schema_conformance]
    return checks


def _check_stream(case: Any, response: Any, openapi: dict[str, Any]) -> None:
    """Every line of a 200 stream is a JSON object that fits the operation's 200 schema."""
    media = openapi["paths"][case.operation.path]["get"]["responses"]["200"]["content"]
    schema = {**media["application/json"]["schema"], "components": openapi["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    for line in response.content.decode("utf-8").splitlines():
        line = line.removeprefix("data: ").strip()
        if not line:
            continue
        obj = json.loads(line)
        errors = [e.message for e in validator.iter_errors(obj)]
        assert not errors, f"a stream line does not fit the schema: {errors[:3]} in {line[:300]}"
        if case.query and case.query.get("fields") not in (None, ""):
            continue
        assert ("result" in obj) != ("error" in obj), f"a stream line holds neither result nor error: {line[:300]}"


def _check(case: Any, server: Server, seeds: Seeds, openapi: dict[str, Any]) -> None:
    _aim_at_seeds(case, seeds)
    _bound_streams(case)
    try:
        response = case.call(timeout=REQUEST_TIMEOUT_S)
        case.validate_response(response, checks=_checks_for(case, response))
        if _is_stream(case) and response.status_code == 200:
            _check_stream(case, response, openapi)
    except BaseException:
        errors = server.errors()
        if errors:
            print(f"--- conveyor server log ---\n{errors}", file=sys.stderr)
        raise


schema = schemathesis.pytest.from_fixture("api_schema")
deep_schema = schemathesis.pytest.from_fixture("api_schema_deep")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation(case: Any, server: Server, seeds: Seeds, openapi: dict[str, Any]) -> None:
    _check(case, server, seeds, openapi)


@pytest.mark.slow
@deep_schema.parametrize()
@settings(max_examples=DEEP_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_deeply(case: Any, server: Server, seeds: Seeds, openapi: dict[str, Any]) -> None:
    _check(case, server, seeds, openapi)
