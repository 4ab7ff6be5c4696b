"""User values reach neither a shell nor a path of conveyor's own.

- Every route that takes a namespace, a name, a pod name or a uid is sent `..`,
  `%2e%2e`, `%2F`-encoded separators and a NUL, raw (http.client sends the path as
  written): each answer is a 4xx naming the problem (or a redirect to the same path
  without a trailing slash, for `%2F`), never a 2xx or a 500, and files
  beside CONVEYOR_HOME survive (deleting workflow `../..` must not remove folders).
  Names become paths only after the store has found them, and stored names are
  Kubernetes names (no `/`, no `..`).
- Container and volume names, which name log files and folders, are DNS labels: `../x`
  and `a/b` are refused at submit, and by the runtime for a manifest that skipped it.
- A parameter full of shell syntax reaches the task's argv as one literal argument:
  conveyor passes argument lists, never a command line of its own through a shell.
- An artifact key from a manifest (`s3.key: ../../x`, an absolute one) fails its node,
  for an output and for an input, and nothing lands outside the repository. The
  repository's own checks (keys, sub-paths, archive members: `../`, absolute paths,
  links leaving the target, devices) are in tests/store/test_store_artifact_security.py.
CI: 9 hostile segments x every route with a path parameter (about 450 raw requests
against one in-process server), 16 refused submits, and seven small workflows; about 5 s.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conveyor.config import Settings
from conveyor.errors import ConveyorError
from conveyor.runtime.tasks import containers_of
from tests.api.conftest import LiveServer
from tests.api.test_auth_matrix import body_for, served

SEGMENTS = ["..", "%2e%2e", ".%2E", "..%2F..", "%2F", "..%5C..", "%00", "a%00b", "%2e%2e%2f%2e%2e%2fetc"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("paths")
    settings = Settings.from_env({"CONVEYOR_HOME": str(root / "home"), "CONVEYOR_EXECUTOR": "process"})
    settings.home.mkdir(parents=True)
    (root / "beside").mkdir()
    (root / "beside" / "keep.txt").write_text("keep")
    live = LiveServer(settings, ui=True)  # server mode: nothing stops a request before its route
    live.start()
    yield live
    live.stop()


def _raw(url: str, method: str, path: str, body: bytes | None) -> tuple[int, str, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace"), resp.getheader("location") or ""
    finally:
        conn.close()


@pytest.mark.parametrize("segment", SEGMENTS)
def test_hostile_path_segments_are_refused(server: LiveServer, segment: str) -> None:
    beside = server.settings.home.parent / "beside" / "keep.txt"
    checked = 0
    for (method, path), route in served(server).items():
        if not any(p in path for p in ("{namespace}", "{name}", "{podName}", "{uid}")):
            continue
        url = (path.replace("{namespace}", segment).replace("{name}", segment).replace("{podName}", segment)
               .replace("{uid}", segment))
        body = body_for(route)
        status, text, location = _raw(server.url, method, url, json.dumps(body).encode() if body is not None else None)
        where = f"{method} {url}: {status} {location} {text[:300]}"
        if status in (307, 308):  # `%2F` read as a trailing slash: Starlette points at the path without it
            assert location.startswith(server.url + "/") and ".." not in location, where
            continue
        assert 400 <= status < 500, where
        if text.startswith("{"):
            assert "internal error" not in text and "Traceback" not in text, where
        checked += 1
    assert checked >= 40
    assert beside.read_text() == "keep" and server.settings.home.is_dir()


def _finish(client: httpx.Client, wf: dict[str, Any]) -> dict[str, Any]:
    created = client.post("/api/v1/workflows/default", json={"workflow": wf})
    assert created.status_code == 200, created.text
    name = created.json()["metadata"]["name"]
    deadline = time.monotonic() + 60
    while (got := client.get(f"/api/v1/workflows/default/{name}").json())["status"].get("phase") not in (
            "Succeeded", "Failed", "Error"):
        assert time.monotonic() < deadline, got["status"]
        time.sleep(0.1)
    result: dict[str, Any] = got
    return result


@pytest.mark.parametrize("key", ["../../escaped", "/tmp/conveyor-escaped", "a/../../../escaped"])
def test_artifact_keys_from_a_manifest_stay_in_the_repository(server: LiveServer, key: str) -> None:
    """A task's output artifact with a hostile s3.key fails its node, naming the key; an input
    artifact with one is refused the same way; nothing is written outside the repository."""
    out = {"name": "out", "path": "/tmp/out.txt", "s3": {"key": key}}
    producer = {"name": "make", "outputs": {"artifacts": [out]}, "container": {
        "image": "busybox", "command": ["sh", "-c", "echo data > /tmp/out.txt"]}}
    consumer = {"name": "take", "inputs": {"artifacts": [{"name": "in", "path": "/tmp/in.txt", "s3": {"key": key}}]},
                "container": {"image": "busybox", "command": ["cat", "/tmp/in.txt"]}}
    root = server.settings.artifact_dir
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for tmpl in (producer, consumer):
            wf = _finish(client, {"metadata": {"generateName": "key-"},
                                  "spec": {"entrypoint": tmpl["name"], "templates": [tmpl]}})
            assert wf["status"]["phase"] in ("Failed", "Error"), wf["status"]
            (node,) = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
            assert repr(key) in node["message"] or key in node["message"], node["message"]
    for place in (root.parent / "escaped", root.parent.parent / "escaped", Path("/tmp/conveyor-escaped")):
        assert not place.exists(), place


NAMED = {
    "sidecar": ("spec.templates[main].sidecars[{n}].name", {"sidecars": [{"name": "{n}", "image": "busybox"}]}),
    "init container": ("spec.templates[main].initContainers[{n}].name",
                       {"initContainers": [{"name": "{n}", "image": "busybox"}]}),
    "volume mount": ("spec.templates[main].container.volumeMounts[{n}].name",
                     {"container": {"image": "busybox", "volumeMounts": [{"name": "{n}", "mountPath": "/v"}]}}),
    "template volume": ("spec.templates[main].volumes[{n}].name", {"volumes": [{"name": "{n}", "emptyDir": {}}]}),
}


@pytest.mark.parametrize("what", sorted(NAMED))
@pytest.mark.parametrize("name", ["../../../evil", "a/b", "..", "Upper_Case"])
def test_container_and_volume_names_that_would_be_paths_are_refused_at_submit(
        server: LiveServer, what: str, name: str) -> None:
    """Containers' log files and volumes' folders are named after them: only DNS labels get that far."""
    path, extra = NAMED[what]
    tmpl = json.loads(json.dumps({"name": "main", "container": {"image": "busybox"}, **extra}).replace("{n}", name))
    wf = {"metadata": {"generateName": "n-"}, "spec": {"entrypoint": "main", "templates": [tmpl]}}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        resp = client.post("/api/v1/workflows/default", json={"workflow": wf})
    assert resp.status_code == 400, resp.text
    message = resp.json()["message"]
    assert path.replace("{n}", name) in message and f"name {name!r} is not valid" in message, message


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "nul\x00"])
def test_the_runtime_refuses_such_a_container_name_too(name: str) -> None:
    """For a manifest that never went through submit (a stored one from an older conveyor)."""
    with pytest.raises(ConveyorError, match="cannot name a file"):
        containers_of({"name": "t", "sidecars": [{"name": name, "image": "busybox"}], "container": {"image": "b"}})


def test_a_parameter_full_of_shell_syntax_is_one_literal_argument(server: LiveServer) -> None:
    hostile = "x'; echo INJECTED; $(echo SUBST) `echo BACKTICK` && echo AND | cat > /tmp/out; * ~ \"\\"
    wf = {"metadata": {"generateName": "shell-"}, "spec": {
        "entrypoint": "main", "arguments": {"parameters": [{"name": "p", "value": hostile}]},
        "templates": [{"name": "main", "inputs": {"parameters": [{"name": "p"}]}, "container": {
            "image": "python:3.11", "command": ["python3", "-c", "import sys, json; print(json.dumps(sys.argv[1:]))"],
            "args": ["{{inputs.parameters.p}}", "second"]}}]}}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        got = _finish(client, wf)
    assert got["status"]["phase"] == "Succeeded", got["status"]
    (node,) = [n for n in got["status"]["nodes"].values() if n["type"] == "Pod"]
    assert json.loads(node["outputs"]["result"]) == [hostile, "second"]

