"""The container executors' conformance runs (podman, docker), built once for both.

`suite(executor, xfail, ...)` gives a module its session fixture (every example run once
in that executor, eight at a time) and its tests: each example reaches its expected
phase, enough of them do, and no container of this process is left behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.conformance.test_argo_examples import EXPECTED, SLOW, XFAIL, _Env, _verify, run_examples

#: the issue's bar: at least this many examples reach their expected phase in containers
AT_LEAST = 40
_CONCURRENCY = 8
Test = Callable[..., None]


def names() -> list[str]:
    return [n for n in sorted(EXPECTED) if n not in SLOW and n not in XFAIL]


def suite(executor: str, xfail: dict[str, str], problem: Callable[[], str | None],
          leftovers: Callable[[], list[str]]) -> tuple[Any, Test, Test, Test]:
    """(fixture `container_results`, test_example, test_enough_examples_pass, test_nothing_is_left_running).

    `xfail`: examples that cannot pass in these containers, each with its reason (strict).
    `problem`: why the runtime cannot run containers here (the tests skip with it), or None.
    `leftovers`: the names of the containers this process's owner label still marks.
    """
    # one name in each module: a module's fixture serves only that module's tests
    @pytest.fixture(scope="session", name="container_results")
    def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        if not EXPECTED:
            pytest.skip("Argo's examples are not in ../shared")
        why = problem()
        if why is not None:
            pytest.skip(why)
        saved = os.environ.get("CONVEYOR_EXECUTOR")
        os.environ["CONVEYOR_EXECUTOR"] = executor
        env = _Env(tmp_path_factory.mktemp(f"conformance-{executor}"))
        try:
            assert env.settings.executor == executor
            return run_examples(env, names(), _CONCURRENCY)
        finally:
            env.close()
            if saved is None:
                os.environ.pop("CONVEYOR_EXECUTOR", None)
            else:
                os.environ["CONVEYOR_EXECUTOR"] = saved

    params = [pytest.param(n, id=n, marks=[pytest.mark.xfail(strict=True, reason=xfail[n])] if n in xfail else [])
              for n in names()]

    @pytest.mark.parametrize("name", params)
    def test_example(name: str, container_results: dict[str, Any]) -> None:
        _verify(name, container_results[name])

    def test_enough_examples_pass(container_results: dict[str, Any]) -> None:
        passed = []
        for name in names():
            try:
                _verify(name, container_results[name])
            except AssertionError:
                continue
            passed.append(name)
        assert len(passed) >= AT_LEAST, f"only {len(passed)} examples passed in {executor} containers"
        assert container_results["hello-world.yaml"]["status"]["phase"] == "Succeeded"

    def test_nothing_is_left_running(container_results: dict[str, Any]) -> None:
        # only this process's containers: other conveyor processes may share the runtime
        left = leftovers()
        assert left == [], f"containers left behind after the examples: {left[:10]}"

    return results, test_example, test_enough_examples_pass, test_nothing_is_left_running
