"""Argo's own examples again, each task in a Docker Engine container (the docker executor).

tests/docker_engine.py provides the engine: the one at DOCKER_HOST / the default socket,
or a dockerd it starts (and stops at the end of the session), with the offline stand-in
images copied in from podman. Skipped, with the reason, where neither can be had.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conformance.test_argo_examples import EXPECTED, SLOW, XFAIL, _Env, _verify, run_examples
from tests.docker_engine import engine

#: examples that cannot pass in these containers, each with its reason
DOCKER_XFAIL = {
    "scripts-javascript.yaml": "node:9.1-alpine has no offline stand-in: the stand-in images carry no Node.js",
}
#: the issue's bar: at least this many examples reach their expected phase in containers
AT_LEAST = 40
_CONCURRENCY = 8


def _names() -> list[str]:
    return [n for n in sorted(EXPECTED) if n not in SLOW and n not in XFAIL]


@pytest.fixture(scope="session")
def docker_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not EXPECTED:
        pytest.skip("Argo's examples are not in ../shared")
    found = engine()
    if found.host is None:
        pytest.skip(f"no Docker Engine for the docker executor: {found.problem}")
    saved = os.environ.get("CONVEYOR_EXECUTOR")
    os.environ["CONVEYOR_EXECUTOR"] = "docker"
    env = _Env(tmp_path_factory.mktemp("conformance-docker"))
    try:
        assert env.settings.executor == "docker"
        return run_examples(env, _names(), _CONCURRENCY)
    finally:
        env.close()
        if saved is None:
            os.environ.pop("CONVEYOR_EXECUTOR", None)
        else:
            os.environ["CONVEYOR_EXECUTOR"] = saved


def _params() -> list[Any]:
    return [pytest.param(n, id=n, marks=[pytest.mark.xfail(strict=True, reason=DOCKER_XFAIL[n])]
                         if n in DOCKER_XFAIL else []) for n in _names()]


@pytest.mark.parametrize("name", _params())
def test_example_in_docker(name: str, docker_results: dict[str, Any]) -> None:
    _verify(name, docker_results[name])


def test_enough_examples_pass_in_docker(docker_results: dict[str, Any]) -> None:
    passed = []
    for name in _names():
        try:
            _verify(name, docker_results[name])
        except AssertionError:
            continue
        passed.append(name)
    assert len(passed) >= AT_LEAST, f"only {len(passed)} examples passed in docker containers"


def test_nothing_is_left_running(docker_results: dict[str, Any]) -> None:
    import docker

    from conveyor.executors.podman import OWNER_LABEL, owner_id

    host = engine().host
    client = docker.DockerClient(base_url=host)
    try:
        # only this process's containers: other conveyor processes may share the engine
        left = [c.name for c in client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner_id()}"})]
    finally:
        client.close()
    assert left == [], f"containers left behind after the examples: {left[:10]}"
