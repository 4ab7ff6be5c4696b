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

from tests.conformance.test_argo_examples import (
    EXPECTED,
    LONGEST,
    SLOW,
    XFAIL,
    _Env,
    _verify,
    run_examples,
)

#: the issue's bar: at least this many examples reach their expected phase in containers
AT_LEAST = 40
_CONCURRENCY = 8
Test = Callable[..., None]
#: the examples that sleep 40 s or more on end: what they test (parallelism limits,
#: semaphores, a long log) is the engine's, which the process executor's conformance run
#: checks in every default run, so in containers they run with `-m slow` only (each would
#: hold the module's run for 40-100 s)
LONG = set(LONGEST)


def names() -> list[str]:
    return [n for n in sorted(EXPECTED) if n not in SLOW and n not in XFAIL]


def suite(executor: str, xfail: dict[str, str], problem: Callable[[], str | None],
          leftovers: Callable[[], list[str]], *, default_share: int = 1) -> tuple[Any, Test, Test, Test]:
    """(fixture `container_results`, test_example, test_enough_examples_pass, test_nothing_is_left_running).

    `xfail`: examples that cannot pass in these containers, each with its reason (strict).
    `problem`: why the runtime cannot run containers here (the tests skip with it), or None.
    `leftovers`: the names of the containers this process's owner label still marks.
    `default_share`: 1 runs every example in the default run; N runs every Nth (and
    hello-world) there and marks the others `slow`, for an executor that another
    module already runs every example in (the suite's time budget).
    The fixture runs only the examples whose tests were selected.
    """
    everything = names()
    in_default = ({n for i, n in enumerate(everything) if i % default_share == 0} | {"hello-world.yaml"}) - LONG
    # one name in each module: a module's fixture serves only that module's tests
    @pytest.fixture(scope="session", name="container_results")
    def results(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
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
            selected = {item.callspec.params["name"] for item in request.session.items
                        if getattr(item, "function", None) is test_example and hasattr(item, "callspec")}
            return run_examples(env, [n for n in everything if n in selected] or everything, _CONCURRENCY)
        finally:
            env.close()
            if saved is None:
                os.environ.pop("CONVEYOR_EXECUTOR", None)
            else:
                os.environ["CONVEYOR_EXECUTOR"] = saved

    params = [pytest.param(n, id=n, marks=[*([pytest.mark.xfail(strict=True, reason=xfail[n])] if n in xfail else []),
                                           *([] if n in in_default else [pytest.mark.slow])])
              for n in everything]

    @pytest.mark.parametrize("name", params)
    def test_example(name: str, container_results: dict[str, Any]) -> None:
        _verify(name, container_results[name])

    def test_enough_examples_pass(container_results: dict[str, Any]) -> None:
        ran = [n for n in everything if n in container_results]
        passed = []
        for name in ran:
            try:
                _verify(name, container_results[name])
            except AssertionError:
                continue
            passed.append(name)
        # the bar is for every example; a default run of a share of them meets its share of it
        bar = -(-AT_LEAST * len(ran) // len(everything))
        assert len(passed) >= bar, f"only {len(passed)} of {len(ran)} examples passed in {executor} containers"
        assert container_results["hello-world.yaml"]["status"]["phase"] == "Succeeded"

    def test_nothing_is_left_running(container_results: dict[str, Any]) -> None:
        # only this process's containers: other conveyor processes may share the runtime
        left = leftovers()
        assert left == [], f"containers left behind after the examples: {left[:10]}"

    return results, test_example, test_enough_examples_pass, test_nothing_is_left_running
