"""The `kubernetes` package's CustomObjectsApi, and kubectl, against a live `conveyor server`.

Both are pointed at the server by a kubeconfig, as a user would point them
at a cluster: the server's URL, and in --auth-mode client a token from
`conveyor token create` as the user's `token:`. Workflows run for real,
as local processes (busybox `echo` runs the host's echo).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import config
from kubernetes.client import CustomObjectsApi
from kubernetes.client.exceptions import ApiException

from tests.cli.test_cli import invoke
from tests.conftest import start_server

GROUP, VERSION, NS = "argoproj.io", "v1alpha1", "default"
SPEC = {"entrypoint": "main",
        "templates": [{"name": "main", "container": {"image": "busybox", "command": ["echo", "hello"]}}]}
#: api(url, token=None) -> a CustomObjectsApi; Any, as its calls are typed to return `object`
Api = Callable[..., Any]


def workflow(name: str | None = None, **meta: Any) -> dict[str, Any]:
    meta = {**meta, **({"name": name} if name else {"generateName": "kube-"})}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": meta, "spec": SPEC}


def cron(name: str, schedule: str = "0 0 1 1 *") -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CronWorkflow", "metadata": {"name": name},
            "spec": {"schedules": [schedule], "workflowSpec": SPEC}}


def write_kubeconfig(path: Path, url: str, token: str | None = None) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "conveyor",
        "clusters": [{"name": "conveyor", "cluster": {"server": url}}],
        "users": [{"name": "me", "user": {"token": token} if token else {}}],
        "contexts": [{"name": "conveyor", "context": {"cluster": "conveyor", "user": "me", "namespace": NS}}],
    }))
    return path


def status_of(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    """The Kubernetes Status an ApiException carries, checked for the fields every Status has."""
    body: dict[str, Any] = json.loads(exc.value.body or "null")
    assert body["kind"] == "Status" and body["apiVersion"] == "v1" and body["status"] == "Failure", body
    assert body["code"] == exc.value.status, body
    return body


@pytest.fixture
def server(conveyor_home: Path) -> Iterator[Callable[..., str]]:
    """start(*server args) -> URL; every server started is stopped after the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        proc, url = start_server(*args)
        procs.append(proc)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def api(tmp_path: Path) -> Api:
    """api(url, token=None): a CustomObjectsApi configured by a kubeconfig file, as users configure it."""

    def make(url: str, token: str | None = None) -> Any:
        path = write_kubeconfig(tmp_path / f"kubeconfig-{time.monotonic_ns()}", url, token)
        return CustomObjectsApi(config.new_client_from_config(config_file=str(path)))

    return make


def wait_succeeded(objects: Any, name: str, timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        wf: dict[str, Any] = objects.get_namespaced_custom_object(GROUP, VERSION, NS, "workflows", name)
        phase = (wf.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed", "Error"):
            assert phase == "Succeeded", wf["status"]
            return wf
        assert time.monotonic() < deadline, f"{name} did not finish: {wf.get('status')}"
        time.sleep(0.1)


def test_workflows_create_run_list_get_delete(server: Callable[..., str], api: Api) -> None:
    objects = api(server())
    created, code, _ = objects.create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, NS, "workflows", workflow(labels={"team": "geo"}))
    assert code == 201 and created["kind"] == "Workflow"
    name = created["metadata"]["name"]
    assert name.startswith("kube-") and len(name) == len("kube-") + 5 and created["metadata"]["uid"]

    done = wait_succeeded(objects, name)
    outputs = [n.get("outputs", {}).get("result") for n in done["status"]["nodes"].values()]
    assert "hello" in outputs

    listed = objects.list_namespaced_custom_object(GROUP, VERSION, NS, "workflows", label_selector="team=geo")
    assert listed["kind"] == "WorkflowList" and listed["apiVersion"] == f"{GROUP}/{VERSION}"
    assert listed["metadata"]["resourceVersion"] and [i["metadata"]["name"] for i in listed["items"]] == [name]
    assert objects.list_namespaced_custom_object(GROUP, VERSION, NS, "workflows",
                                                 label_selector="team=other")["items"] == []
    by_name = objects.list_namespaced_custom_object(GROUP, VERSION, NS, "workflows",
                                                    field_selector=f"metadata.name={name}")
    assert [i["metadata"]["name"] for i in by_name["items"]] == [name]
    assert objects.list_cluster_custom_object(GROUP, VERSION, "workflows")["items"][0]["metadata"]["name"] == name

    # A dry run validates and answers, and stores nothing.
    dry = objects.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", workflow("dry"), dry_run="All")
    assert dry["metadata"]["name"] == "dry"

    deleted = objects.delete_namespaced_custom_object(GROUP, VERSION, NS, "workflows", name)
    assert deleted["kind"] == "Status" and deleted["status"] == "Success"
    assert deleted["details"] == {"name": name, "group": GROUP, "kind": "workflows", "uid": created["metadata"]["uid"]}
    assert objects.list_namespaced_custom_object(GROUP, VERSION, NS, "workflows")["items"] == []


def test_errors_are_kubernetes_statuses(server: Callable[..., str], api: Api) -> None:
    objects = api(server())
    objects.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", workflow("twice"))
    with pytest.raises(ApiException) as exc:
        objects.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", workflow("twice"))
    body = status_of(exc)
    assert exc.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'workflows.argoproj.io "twice" already exists'
    assert body["details"] == {"name": "twice", "group": GROUP, "kind": "workflows"}

    for call in (objects.get_namespaced_custom_object, objects.delete_namespaced_custom_object):
        with pytest.raises(ApiException) as exc:
            call(GROUP, VERSION, NS, "workflows", "missing")
        body = status_of(exc)
        assert exc.value.status == 404 and body["reason"] == "NotFound"
        assert body["message"] == 'workflows.argoproj.io "missing" not found'

    broken = {**workflow("broken"), "spec": {"templates": []}}
    with pytest.raises(ApiException) as exc:
        objects.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", broken)
    body = status_of(exc)
    assert exc.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Workflow.argoproj.io "broken" is invalid: ')
    assert "spec.entrypoint" in [c["field"] for c in body["details"]["causes"]]

    with pytest.raises(ApiException) as exc:
        objects.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", cron("wrong-kind"))
    assert exc.value.status == 400 and status_of(exc)["reason"] == "BadRequest"
    with pytest.raises(ApiException) as exc:
        objects.list_namespaced_custom_object(GROUP, VERSION, NS, "workflowtemplates")
    assert exc.value.status == 404 and status_of(exc)["reason"] == "NotFound"


def test_cron_workflows_create_list_get_replace_delete(server: Callable[..., str], api: Api) -> None:
    objects = api(server())
    created, code, _ = objects.create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, NS, "cronworkflows", cron("nightly"))
    assert code == 201 and created["kind"] == "CronWorkflow" and created["metadata"]["uid"]
    listed = objects.list_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows")
    assert listed["kind"] == "CronWorkflowList" and [i["metadata"]["name"] for i in listed["items"]] == ["nightly"]
    got = objects.get_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", "nightly")
    assert got["spec"]["schedules"] == ["0 0 1 1 *"]

    got["spec"]["schedules"] = ["0 12 1 1 *"]
    replaced = objects.replace_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", "nightly", got)
    assert replaced["spec"]["schedules"] == ["0 12 1 1 *"]
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]

    with pytest.raises(ApiException) as exc:
        objects.create_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", cron("nightly"))
    body = status_of(exc)
    assert exc.value.status == 409 and body["message"] == 'cronworkflows.argoproj.io "nightly" already exists'

    # generateName, as Kubernetes names any object; then two pages of one.
    named = objects.create_namespaced_custom_object(
        GROUP, VERSION, NS, "cronworkflows", {**cron(""), "metadata": {"generateName": "weekly-"}})["metadata"]["name"]
    assert named.startswith("weekly-") and len(named) == len("weekly-") + 5
    first = objects.list_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", limit=1)
    second = objects.list_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", limit=1,
                                                   _continue=first["metadata"]["continue"])
    assert [i["metadata"]["name"] for i in first["items"] + second["items"]] == ["nightly", named]
    assert "continue" not in second["metadata"]

    deleted = objects.delete_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", "nightly")
    assert deleted["status"] == "Success"
    with pytest.raises(ApiException) as exc:
        objects.get_namespaced_custom_object(GROUP, VERSION, NS, "cronworkflows", "nightly")
    assert exc.value.status == 404 and status_of(exc)["reason"] == "NotFound"


def test_client_auth_mode_takes_a_kubeconfig_token(server: Callable[..., str], api: Api) -> None:
    tokens = {}
    for role, ns in (("write", NS), ("read", NS), ("write", "team-b")):
        code, out, err = invoke("token", "create", "--namespace", ns, "--role", role, "--name", f"{role}-{ns}")
        assert code == 0, err
        tokens[role, ns] = out.strip()
    url = server("--auth-mode", "client")

    writer = api(url, tokens["write", NS])
    writer.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", workflow("authed"))
    wait_succeeded(writer, "authed")
    reader = api(url, tokens["read", NS])
    assert [i["metadata"]["name"] for i in
            reader.list_namespaced_custom_object(GROUP, VERSION, NS, "workflows")["items"]] == ["authed"]

    denied = [
        (api(url), 401, "Unauthorized"),  # no token at all
        (api(url, "cvy_" + "A" * 43), 401, "Unauthorized"),  # not a token the server issued
        (api(url, tokens["write", "team-b"]), 403, "Forbidden"),  # a token of another namespace
    ]
    for objects, status, reason in denied:
        with pytest.raises(ApiException) as exc:
            objects.get_namespaced_custom_object(GROUP, VERSION, NS, "workflows", "authed")
        assert exc.value.status == status and status_of(exc)["reason"] == reason
    with pytest.raises(ApiException) as exc:
        reader.create_namespaced_custom_object(GROUP, VERSION, NS, "workflows", workflow("nope"))
    body = status_of(exc)
    assert exc.value.status == 403 and "role read" in body["message"]
    assert body["details"] == {"group": GROUP, "kind": "workflows"}
    # Every namespace at once is for a '*' token, as cluster-wide lists take cluster-wide rights.
    with pytest.raises(ApiException) as exc:
        writer.list_cluster_custom_object(GROUP, VERSION, "workflows")
    assert exc.value.status == 403 and "of every namespace" in status_of(exc)["message"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed here")
def test_kubectl_create_get_delete(server: Callable[..., str], tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", server()))}

    def kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", *args], env=env, input=stdin, capture_output=True, text=True, timeout=30)

    # conveyor serves no OpenAPI schemas for kubectl's own validation; the server validates.
    made = kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps(workflow("kubectl-made")))
    assert made.returncode == 0 and "workflow.argoproj.io/kubectl-made created" in made.stdout, made.stderr
    got = kubectl("get", "wf", "kubectl-made", "-o", "json")  # a short name, from discovery
    assert got.returncode == 0 and json.loads(got.stdout)["metadata"]["name"] == "kubectl-made", got.stderr
    again = kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps(workflow("kubectl-made")))
    assert again.returncode == 1 and "(AlreadyExists)" in again.stderr and "already exists" in again.stderr
    assert kubectl("delete", "workflows", "kubectl-made").returncode == 0
    missing = kubectl("get", "cronworkflows", "nope")
    assert 'Error from server (NotFound): cronworkflows.argoproj.io "nope" not found' in missing.stderr
