"""env[].valueFrom.secretKeyRef resolved from conveyor's secrets, and imagePullSecrets in the TaskSpec."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.config import Settings
from conveyor.runtime.secrets import SecretResolver
from conveyor.runtime.tasks import build_spec
from conveyor.store import SecretKey, Store
from conveyor.store.secrets import DOCKER_CONFIG_KEY, DOCKER_CONFIG_TYPE, docker_config
from tests.conftest import RunWorkflow


def _wf(env: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "env-"},
        "spec": {"entrypoint": "main", **spec, "templates": [{"name": "main", "container": {
            "image": "python:3.11", "command": ["sh", "-c", 'echo "token=$API_TOKEN plain=$PLAIN"'],
            "env": env}}]},
    }


def _put(settings: Settings, name: str, data: dict[str, str], **kw: Any) -> None:
    with Store.open(settings.db_path) as store:
        store.create_secret(SecretKey.load(settings.secret_key_path, create=True), "default", name, data, **kw)


ENV = [{"name": "PLAIN", "value": "p"},
       {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}]


def test_secret_key_ref_reaches_the_task(settings: Settings, run_workflow: RunWorkflow) -> None:
    _put(settings, "api", {"token": "s3cr3t"})
    wf = run_workflow(_wf(ENV))
    assert wf["status"]["phase"] == "Succeeded", wf["status"]
    (node,) = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    assert node["outputs"]["result"] == "token=s3cr3t plain=p"


def test_missing_secret_or_key_is_an_error_node_naming_them(settings: Settings, run_workflow: RunWorkflow) -> None:
    wf = run_workflow(_wf(ENV))
    (node,) = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    assert node["phase"] == "Error"
    assert 'env API_TOKEN: secret "api" not found in namespace "default"' in node["message"]

    _put(settings, "api", {"other": "x"})
    wf = run_workflow(_wf(ENV))
    (node,) = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    assert node["phase"] == "Error" and 'secret "api" has no key "token" (it has: other)' in node["message"]


def test_optional_missing_secret_leaves_the_variable_unset(settings: Settings, run_workflow: RunWorkflow) -> None:
    env = [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token", "optional": True}}}]
    wf = run_workflow(_wf(env))
    assert wf["status"]["phase"] == "Succeeded"


def test_image_pull_secrets_become_pull_auths(settings: Settings) -> None:
    _put(settings, "reg", {DOCKER_CONFIG_KEY: docker_config("https://127.0.0.1:5000/v1/", "alice", "pw")},
         type_=DOCKER_CONFIG_TYPE)
    _put(settings, "plain", {"a": "b"})
    plan = {"template": {"container": {"image": "127.0.0.1:5000/x:1"}}, "workflow": "w", "namespace": "default",
            "node_id": "n", "node_name": "n", "outputs": {"parameters": {}, "artifacts": {}}}
    with Store.open(settings.db_path) as store:
        resolver = SecretResolver(store, settings.secret_key_path, "default")
        spec = build_spec(settings, plan, "k", (), [], secrets=resolver,
                          pull_secrets=[{"name": "reg"}, {"name": "gone"}])
        assert spec.pull_auths == {"127.0.0.1:5000": ("alice", "pw")}
        assert spec.missing_pull_secrets == ("gone",)
        assert "pw" not in repr(spec)
        with pytest.raises(Exception, match='secret "plain" is of type Opaque without a .dockerconfigjson key'):
            build_spec(settings, plan, "k", (), [], secrets=resolver, pull_secrets=[{"name": "plain"}])
