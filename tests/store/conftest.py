"""Fixtures for the store tests: an open Store and a workflow factory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.store import ArtifactRepo, Store

WorkflowFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "home" / "conveyor.db")
    yield s
    s.close()


@pytest.fixture
def make_wf() -> WorkflowFactory:
    """Factory for minimal Workflow objects; each call gets a fresh uid and a later timestamp."""
    counter = itertools.count()

    def make(
        name: str,
        namespace: str = "default",
        *,
        labels: dict[str, str] | None = None,
        phase: str | None = None,
        created: str | None = None,
    ) -> dict[str, Any]:
        n = next(counter)
        wf: dict[str, Any] = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {
                "namespace": namespace,
                "name": name,
                "uid": f"uid-{name}-{n}",
                "creationTimestamp": created or f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
            },
            "spec": {"entrypoint": "main", "templates": [{"name": "main"}]},
        }
        if labels is not None:
            wf["metadata"]["labels"] = labels
        if phase is not None:
            wf["status"] = {"phase": phase}
        return wf

    return make


@pytest.fixture
def repo(tmp_path: Path) -> ArtifactRepo:
    return ArtifactRepo(tmp_path / "artifacts")
