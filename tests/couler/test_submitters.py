"""run(submitter=...): ArgoSubmitter's requests (against a stub server), and
LocalSubmitter running a workflow in this process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import conveyor.couler as couler
from conveyor.errors import AlreadyExists, InvalidInput, ManifestError


class StubServer:
    """Records requests; answers like an Argo Server that creates what it is given."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"code": 6, "message": "already exists"})
        body = json.loads(request.content)
        obj = body.get("workflow") or body.get("cronWorkflow")
        return httpx.Response(200, json={**obj, "metadata": {**obj["metadata"], "uid": "u-1"}})

    def body(self, i: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[i].content)  # type: ignore[no-any-return]


def hello() -> list[couler.Output]:
    return couler.run_container(image="alpine", command=["echo", "hello"])


@pytest.fixture
def server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVEYOR_HOST", raising=False)
    monkeypatch.delenv("CONVEYOR_TOKEN", raising=False)
    monkeypatch.setenv("PIPELINE_HOST", "http://pipelines.example:2746")
    monkeypatch.setenv("PIPELINE_TOKEN", "t0ken")


@pytest.mark.usefixtures("server_env")
def test_argo_submitter_posts_to_the_argo_rest_api() -> None:
    stub = StubServer()
    couler.config_workflow(name="hello")
    hello()
    sent = couler.workflow_yaml()
    created = couler.run(submitter=couler.ArgoSubmitter(namespace="team", transport=httpx.MockTransport(stub)))
    [request] = stub.requests
    assert str(request.url) == "http://pipelines.example:2746/api/v1/workflows/team"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert stub.body() == {"workflow": sent}
    assert created["metadata"]["uid"] == "u-1"
    assert couler.workflow_yaml()["spec"]["templates"][1:] == []  # run() starts a fresh workflow


@pytest.mark.usefixtures("server_env")
def test_a_cron_workflow_goes_to_the_cron_route() -> None:
    stub = StubServer()
    couler.config_workflow(name="nightly", cron_config={"schedule": "0 2 * * *"})
    hello()
    couler.run(submitter=couler.ArgoSubmitter(namespace="team", transport=httpx.MockTransport(stub)))
    assert stub.requests[0].url.path == "/api/v1/cron-workflows/team"
    assert stub.body()["cronWorkflow"]["kind"] == "CronWorkflow"


@pytest.mark.usefixtures("server_env")
def test_server_errors_are_conveyor_errors_and_keep_the_workflow() -> None:
    hello()
    with pytest.raises(AlreadyExists):
        couler.run(submitter=couler.ArgoSubmitter(transport=httpx.MockTransport(StubServer(409))))
    assert len(couler.workflow_yaml()["spec"]["templates"]) == 2  # kept, so the script can retry


@pytest.mark.usefixtures("server_env")
def test_secrets_the_rest_api_cannot_create_are_refused_before_submitting() -> None:
    stub = StubServer()
    couler.run_container(image="alpine", command=["env"], secret=couler.create_secret({"k": "v"}, name="mine"))
    with pytest.raises(InvalidInput, match="kubectl create secret generic"):
        couler.run(submitter=couler.ArgoSubmitter(transport=httpx.MockTransport(stub)))
    assert stub.requests == []
    couler._cleanup()
    couler.run_container(image="alpine", command=["env"], secret=couler.obtain_secret(["k"], name="theirs"))
    couler.run(submitter=couler.ArgoSubmitter(transport=httpx.MockTransport(stub)))
    assert len(stub.requests) == 1


def test_run_needs_a_submitter_and_a_valid_workflow() -> None:
    hello()
    with pytest.raises(InvalidInput, match="needs a submitter"):
        couler.run()
    couler._cleanup()

    class Recorder:
        seen: list[dict[str, Any]] = []

        def submit(self, workflow_yaml: dict[str, Any], secrets: Any = None) -> str:
            self.seen.append(workflow_yaml)
            return "ok"

    with pytest.raises(InvalidInput, match="no steps"):
        couler.run(submitter=Recorder())
    hello()
    couler.config_defaults(name_salter=lambda n: n)
    couler.config_workflow(name="Not_A_Kubernetes_Name")
    with pytest.raises(ManifestError, match="not a valid Kubernetes name"):  # conveyor's lint, before submitting
        couler.run(submitter=Recorder())
    couler._cleanup()
    hello()
    couler.set_default_submitter(Recorder())
    assert couler.run() == "ok"
    hello()
    assert couler.run(submitter=Recorder) == "ok"  # a class is made with no arguments, as in Couler
    assert len(Recorder.seen) == 2


def scorer() -> None:
    print("heads")


def echo_first_argument() -> None:
    import sys

    print(sys.argv[1])


def test_local_submitter_runs_a_dag_with_a_condition_and_a_map(conveyor_home: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "process")

    def flip() -> list[couler.Output]:
        return couler.run_script(image="python:3.11", source=scorer, step_name="flip")

    def side(name: str) -> list[couler.Output]:
        return couler.run_container(image="alpine", command=["echo", f"it was {name}"], step_name=name)

    def shout(word: str) -> list[couler.Output]:
        return couler.run_script(image="python:3.11", source=echo_first_argument, args=[word])

    couler.config_workflow(name="local")
    result = couler.set_dependencies(lambda: flip(), dependencies=None)
    couler.set_dependencies(lambda: couler.when(couler.equal(result, "heads"), lambda: side("heads")),
                            dependencies=["flip"])
    couler.set_dependencies(lambda: couler.when(couler.equal(result, "tails"), lambda: side("tails")),
                            dependencies=["flip"])
    couler.set_dependencies(lambda: couler.map(lambda w: shout(w), ["a", "b", "c"]), dependencies=["heads"])
    final = couler.run(submitter=couler.LocalSubmitter(timeout_s=60))
    assert final["status"]["phase"] == "Succeeded", final["status"].get("message")
    nodes = {n["displayName"]: n for n in final["status"]["nodes"].values()}
    assert nodes["flip"]["outputs"]["result"] == "heads"
    assert nodes["heads"]["phase"] == "Succeeded" and nodes["tails"]["phase"] == "Skipped"
    shouted = sorted(n["outputs"]["result"] for n in nodes.values()
                     if n["type"] == "Pod" and n["displayName"].startswith("shout("))
    assert shouted == ["a", "b", "c"]
