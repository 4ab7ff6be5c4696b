"""A planted secret never shows up in anything conveyor writes or answers.

Four unique values are planted: a registry password (used by `conveyor registry login`,
`conveyor image push` and a `docker-registry` secret whose workflow pulls its image
from a registry that wants that login), a wrong registry password (a second such secret,
whose pull is refused), a Kubernetes-style secret's value (read by tasks through
`env[].valueFrom.secretKeyRef`) and an API token (`--auth-mode client`). Then workflows
use them: one that succeeds and echoes something else (the value's length), one that
fails, one whose secretKeyRef names a missing key, one whose pull is refused.

Everything is then searched for each value, raw and base64-encoded (as a Docker
config's `auth` field holds it): the server's log file; the output of every CLI
command used (`secret create`, `secret list`, `registry login`, `image push`,
`token list`, `config`, `list`, `get`, `logs`); the API's answers (workflow get, list,
watch events, logs, archived list and get, the Kubernetes-style paths, the UI's config
route and error replies); the UI's page and every asset; and every file under
CONVEYOR_HOME but one, `secret.key`, the key that encrypts secrets (it holds the key,
not the values: the values are in the database, encrypted, so the database is searched
too). Two outputs hold a value by design and are not searched for it: `token create`'s
stdout (the token, shown once) and the registry tool's own login file (REGISTRY_AUTH_FILE,
where `registry login` is asked to keep it).

The rule for task output: a task that prints its secret gets it in its own log, as in
Argo; conveyor adds it nowhere. These tasks never print one, so any hit is conveyor's.
CI: one run (4 workflows, about 20 s with podman); skipped without podman, the stand-in
image or the registry tools.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.ui import ASSETS
from tests.cli.test_cli_image import SOURCE
from tests.cli.test_cli_image import _skip as IMAGE_TESTS_SKIP
from tests.conftest import ROOT, STANDINS, start_server
from tests.registry import serve_registry

NS = "team-s"
USER = "robot"
# podman, the stand-in image and a registry with a login, as the image tests need them
_skip = IMAGE_TESTS_SKIP
pytestmark = pytest.mark.skipif(_skip is not None, reason=_skip or "")


class World:
    """The planted values, and every output gathered: (where, text)."""

    def __init__(self, tmp: Path) -> None:
        tag = uuid.uuid4().hex
        self.planted = {"registry password": f"regpw-{tag}", "wrong registry password": f"badpw-{tag}",
                        "secret value": f"envval-{tag}", "token": ""}
        self.home = tmp / "home"
        self.auth_file = tmp / "registry-auth.json"  # the CLI's registry login store
        self.outputs: list[tuple[str, str]] = []
        self.env = {**os.environ, "CONVEYOR_HOME": str(self.home), "CONVEYOR_EXECUTOR": "podman",
                    "PATH": f"{os.environ.get('PATH', '')}:{STANDINS}", "REGISTRY_AUTH_FILE": str(self.auth_file)}
        for name in ("CONVEYOR_HOST", "PIPELINE_HOST", "CONVEYOR_TOKEN", "PIPELINE_TOKEN"):
            self.env.pop(name, None)

    def cli(self, *args: str, stdin: str | None = None, keep_stdout: bool = True, ok: bool = True,
            **env: str) -> str:
        done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=ROOT, env={**self.env, **env},
                              input=stdin, capture_output=True, text=True, timeout=300)
        assert not ok or done.returncode == 0, f"conveyor {' '.join(args)}: {done.stdout}{done.stderr}"
        self.outputs.append((f"conveyor {' '.join(args)} (stderr)", done.stderr))
        if keep_stdout:
            self.outputs.append((f"conveyor {' '.join(args)}", done.stdout))
        return done.stdout

    def keep(self, where: str, resp: httpx.Response) -> httpx.Response:
        self.outputs.append((where, resp.text))
        return resp

    def forms(self) -> dict[str, str]:
        """What to search for: each value raw, base64, and as a Docker config's user:password."""
        out: dict[str, str] = {}
        for what, value in self.planted.items():
            out[what] = value
            out[f"{what} (base64)"] = base64.b64encode(value.encode()).decode()
            out[f"{what} (base64 of user:password)"] = base64.b64encode(f"{USER}:{value}".encode()).decode()
        return out


def _workflow(name: str, command: str, *, image: str = "busybox", pull_secret: str | None = None,
              key: str = "password") -> dict[str, Any]:
    container: dict[str, Any] = {
        "image": image, "command": ["sh", "-c", command],
        "env": [{"name": "APP_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app", "key": key}}}]}
    spec: dict[str, Any] = {"entrypoint": "main", "templates": [{"name": "main", "container": container}]}
    if pull_secret:
        container["imagePullPolicy"] = "Always"
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return {"metadata": {"name": name, "namespace": NS}, "spec": spec}


def _events(client: httpx.Client, world: World, name: str) -> None:
    """The watch stream's first events for one workflow (a watch never ends by itself)."""
    params = {"listOptions.fieldSelector": f"metadata.name={name}"}
    got = ""
    with client.stream("GET", f"/api/v1/workflow-events/{NS}", params=params) as resp:
        assert resp.status_code == 200
        deadline = time.monotonic() + 5
        for line in resp.iter_lines():
            got += line + "\n"
            if line.strip() and time.monotonic() < deadline:
                break
    world.outputs.append((f"watch {name}", got))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("planted")
    world = World(tmp)
    world.home.mkdir()
    world.auth_file.write_text('{"auths": {}}')
    pw, bad, value = (world.planted[k] for k in ("registry password", "wrong registry password", "secret value"))
    with serve_registry(tmp / "registry", login=(USER, pw)) as host:
        image = f"{host}/planted/busybox:1"
        # the image reaches the registry through conveyor's own login and push
        subprocess.run(["podman", "tag", SOURCE, image], check=True, capture_output=True)
        world.cli("registry", "login", host, "-u", USER, "--password-stdin", stdin=pw + "\n")
        world.cli("image", "push", image)
        subprocess.run(["podman", "rmi", image], check=True, capture_output=True)  # the pull must be real
        world.cli("secret", "create", "docker-registry", "regcred", "--server", host, "-u", USER,
                  "--password-stdin", "-n", NS, stdin=pw + "\n")
        world.cli("secret", "create", "docker-registry", "badcred", "--server", host, "-u", USER,
                  "--password-stdin", "-n", NS, stdin=bad + "\n")
        world.cli("secret", "create", "generic", "app", "--from-literal", f"password={value}", "-n", NS)
        world.cli("secret", "list")
        world.cli("secret", "list", "-o", "json")
        world.planted["token"] = world.cli("token", "create", "-n", NS, "--role", "write", "--name", "planted",
                                           keep_stdout=False).strip()
        world.cli("token", "list")
        log = tmp / "server.log"
        with pytest.MonkeyPatch.context() as mp:
            # the server's own registry logins are empty: only the pull secret can open the registry
            (tmp / "server-auth.json").write_text('{"auths": {}}')
            for k, v in {**world.env, "REGISTRY_AUTH_FILE": str(tmp / "server-auth.json")}.items():
                mp.setenv(k, v)
            proc, url = start_server("--auth-mode", "client", log_path=log)
        try:
            _exercise(world, url, image)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            subprocess.run(["podman", "rmi", "--force", image], capture_output=True)  # what the workflow pulled
        world.outputs.append(("the server's log", log.read_text()))
    yield world


def _exercise(world: World, url: str, image: str) -> None:
    headers = {"Authorization": f"Bearer {world.planted['token']}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        runs = {
            "uses": (_workflow("uses", 'test -n "$APP_PASSWORD" && echo "length ${#APP_PASSWORD}"',
                               image=image, pull_secret="regcred"), "Succeeded"),
            "fails": (_workflow("fails", 'echo "something else" >&2; exit 3'), "Failed"),
            "missing-key": (_workflow("missing-key", "true", key="nope"), "Error"),
            "refused-pull": (_workflow("refused-pull", "true", image=image, pull_secret="badcred"), "Error"),
        }
        for name, (wf, _) in runs.items():
            world.keep(f"create {name}", client.post(f"/api/v1/workflows/{NS}", json={"workflow": wf}))
        for name, (_, phase) in runs.items():
            deadline = time.monotonic() + 120
            while (got := client.get(f"/api/v1/workflows/{NS}/{name}").json()).get(
                    "status", {}).get("phase") not in ("Succeeded", "Failed", "Error"):
                assert time.monotonic() < deadline, f"{name} did not finish: {got.get('status')}"
                time.sleep(0.2)
            assert got["status"]["phase"] == phase, (name, got["status"])
            world.keep(f"get {name}", client.get(f"/api/v1/workflows/{NS}/{name}"))
            world.keep(f"log {name}", client.get(f"/api/v1/workflows/{NS}/{name}/log",
                                                 params={"logOptions.container": "main"}))
            world.keep(f"kube get {name}", client.get(f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows/{name}"))
            _events(client, world, name)
        uses = json.loads(dict(world.outputs)["get uses"])
        node = next(n for n in uses["status"]["nodes"].values() if n["type"] == "Pod")
        length = len(world.planted["secret value"])
        assert f"length {length}" in json.dumps(node), f"the task saw its secret ({length} characters): {node}"
        world.keep("list", client.get(f"/api/v1/workflows/{NS}"))
        world.keep("kube list", client.get(f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows"))
        archived = world.keep("archived list", client.get("/api/v1/archived-workflows", params={"namespace": NS}))
        for item in archived.json().get("items") or []:
            world.keep("archived get", client.get(f"/api/v1/archived-workflows/{item['metadata']['uid']}",
                                                  params={"namespace": NS}))
        world.keep("UI config", client.get("/api/v1/conveyor/config"))
        # error replies: a missing workflow, a duplicate, a refused manifest, a denied namespace
        world.keep("error: missing", client.get(f"/api/v1/workflows/{NS}/nope"))
        world.keep("error: duplicate", client.post(f"/api/v1/workflows/{NS}", json={"workflow": runs["uses"][0]}))
        world.keep("error: invalid", client.post(f"/api/v1/workflows/{NS}", json={"workflow": {"spec": {}}}))
        world.keep("error: other namespace", client.get("/api/v1/workflows/elsewhere"))
        world.keep("error: no token", httpx.get(f"{url}/api/v1/workflows/{NS}"))
        for path in ["/", *(f"/ui/{p.relative_to(ASSETS)}" for p in ASSETS.rglob("*") if p.is_file())]:
            world.keep(f"UI {path}", httpx.get(f"{url}{path}"))
    client_env = {"CONVEYOR_HOST": url, "CONVEYOR_TOKEN": world.planted["token"], "CONVEYOR_NAMESPACE": NS}
    world.cli("list", **client_env)
    for name in runs:
        world.cli("get", name, **client_env)
        world.cli("logs", name, ok=False, **client_env)
    world.cli("config", **client_env)


def test_the_workflows_ran_and_outputs_were_gathered(world: World) -> None:
    gathered = dict(world.outputs)
    assert all(world.planted.values()) and len(world.outputs) > 40
    refused = json.loads(gathered["get refused-pull"])["status"]
    assert "unauthorized" in json.dumps(refused).lower() or "refused" in json.dumps(refused), refused
    assert "regcred" in gathered["conveyor secret list"] and "app" in gathered["conveyor secret list"]
    assert "CONVEYOR_TOKEN" in gathered["conveyor config"]
    # the search finds what is there: the login file `registry login` was asked to keep holds it
    forms = world.forms()
    assert forms["registry password (base64 of user:password)"] in world.auth_file.read_text()


def test_no_output_holds_a_planted_secret(world: World) -> None:
    leaks = [f"{what} in {where}" for where, text in world.outputs
             for what, form in world.forms().items() if form in text]
    assert leaks == []


def test_no_file_conveyor_wrote_holds_a_planted_secret(world: World) -> None:
    key_file = world.home / "secret.key"
    assert key_file.exists() and (world.home / "conveyor.db").exists()
    files = [p for p in world.home.rglob("*") if p.is_file() and p != key_file]
    assert len(files) >= 3 and any(p.suffix == ".log" for p in files), files
    forms = {what: form.encode() for what, form in world.forms().items()}
    leaks = [f"{what} in {p.relative_to(world.home)}" for p in files
             for what, form in forms.items() if form in p.read_bytes()]
    assert leaks == []
