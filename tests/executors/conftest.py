"""Fixtures for the executor tests: stand-ins on PATH, spec and executor factories."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from executor_helpers import bwrap_unusable

from conveyor.config import Settings
from conveyor.executors.base import ContainerSpec, TaskSpec
from conveyor.executors.process import ProcessExecutor

STANDINS = Path(__file__).resolve().parents[1] / "standins"


@pytest.fixture(autouse=True)
def standins_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Last on PATH: the stand-ins' `python` only matters where the host has none.
    monkeypatch.setenv("PATH", f"{os.environ.get('PATH', '')}:{STANDINS}")


@pytest.fixture(params=["bwrap", "none"])
def mode(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "bwrap":
        problem = bwrap_unusable(tmp_path_factory.mktemp("probe"))
        if problem:
            pytest.skip(f"bubblewrap is not usable on this machine: {problem}")
    return str(request.param)


@pytest.fixture
def make_executor(tmp_path: Path) -> Callable[..., ProcessExecutor]:
    def make(
        sandbox: str = "auto", log: Callable[[str], None] | None = None, **kw: Any
    ) -> ProcessExecutor:
        return ProcessExecutor(
            Settings(home=tmp_path / "home", sandbox=sandbox, **kw), log=log or (lambda _: None)
        )

    return make


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., TaskSpec]:
    counter = iter(range(1_000_000))

    def make(*containers: ContainerSpec, **kw: Any) -> TaskSpec:
        key = kw.pop("key", f"task-{next(counter)}")
        kw.setdefault("log_dir", tmp_path / "logs" / key)
        kw.setdefault("collect_dir", tmp_path / "collect" / key)
        return TaskSpec(
            key=key,
            workflow="wf",
            namespace="default",
            node_id=key,
            node_name=key,
            containers=containers,
            **kw,
        )

    return make
