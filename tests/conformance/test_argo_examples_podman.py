"""Argo's own examples again, each task in a podman container (the podman executor).

The images are the offline stand-ins scripts/containers.sh tags with the names the
examples use. Skipped, with the reason, where podman cannot run containers.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from conveyor.executors.podman import podman_problem
from tests.conformance.test_argo_examples import EXPECTED, SLOW, XFAIL, _Env, _verify, run_examples

_problem = asyncio.run(podman_problem("podman"))
pytestmark = pytest.mark.skipif(_problem is not None,
                                reason=f"podman cannot run containers here ({_problem}); run scripts/containers.sh")

#: examples that cannot pass in these containers, each with its reason
PODMAN_XFAIL = {
    "scripts-javascript.yaml": "node:9.1-alpine has no offline stand-in: the stand-in images carry no Node.js",
}
#: the issue's bar: at least this many examples reach their expected phase in containers
AT_LEAST = 40
_CONCURRENCY = 8


def _names() -> list[str]:
    return [n for n in sorted(EXPECTED) if n not in SLOW and n not in XFAIL]


@pytest.fixture(scope="session")
def podman_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not EXPECTED:
        pytest.skip("Argo's examples are not in ../shared")
    saved = os.environ.get("CONVEYOR_EXECUTOR")
    os.environ["CONVEYOR_EXECUTOR"] = "podman"
    env = _Env(tmp_path_factory.mktemp("conformance-podman"))
    try:
        assert env.settings.executor == "podman"
        return run_examples(env, _names(), _CONCURRENCY)
    finally:
        env.close()
        if saved is None:
            os.environ.pop("CONVEYOR_EXECUTOR", None)
        else:
            os.environ["CONVEYOR_EXECUTOR"] = saved


def _params() -> list[Any]:
    return [pytest.param(n, id=n, marks=[pytest.mark.xfail(strict=True, reason=PODMAN_XFAIL[n])]
                         if n in PODMAN_XFAIL else []) for n in _names()]


@pytest.mark.parametrize("name", _params())
def test_example_in_podman(name: str, podman_results: dict[str, Any]) -> None:
    _verify(name, podman_results[name])


def test_enough_examples_pass_in_containers(podman_results: dict[str, Any]) -> None:
    passed = []
    for name in _names():
        try:
            _verify(name, podman_results[name])
        except AssertionError:
            continue
        passed.append(name)
    assert len(passed) >= AT_LEAST, f"only {len(passed)} examples passed in podman containers"
    # every task really ran in a container: the podman executor recorded no process fallback
    wf = podman_results["hello-world.yaml"]
    assert wf["status"]["phase"] == "Succeeded"


def test_nothing_is_left_running(podman_results: dict[str, Any]) -> None:
    import subprocess

    from conveyor.executors.podman import OWNER_LABEL, owner_id

    # only this process's containers: other conveyor processes may share the machine
    left = subprocess.run(["podman", "ps", "--all", "--filter", f"label={OWNER_LABEL}={owner_id()}",
                           "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout.split()
    assert left == [], f"containers left behind after the examples: {left[:10]}"
