"""Fixtures for conveyor.spec tests: Argo's examples (from ../shared) and manifest factories."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conveyor.spec import InMemoryTemplates, load_file

from .shared import EXAMPLES, SCHEMA


@pytest.fixture(scope="session")
def argo_schema() -> dict[str, Any]:
    """Argo's JSON schema (v4), read from ../shared; never copied into the project."""
    if not SCHEMA.is_file():
        pytest.skip(f"Argo's schema is not at {SCHEMA} (../shared is absent here)")
    return json.loads(SCHEMA.read_text())


@pytest.fixture(scope="session")
def examples() -> dict[str, list[dict[str, Any]]]:
    """Every Argo example manifest, by path relative to the examples folder."""
    if not EXAMPLES.is_dir():
        pytest.skip(f"Argo's examples are not at {EXAMPLES} (../shared is absent here)")
    return {str(p.relative_to(EXAMPLES)): load_file(p) for p in sorted(EXAMPLES.rglob("*.yaml"))}


@pytest.fixture(scope="session")
def example_templates(examples: dict[str, list[dict[str, Any]]]) -> InMemoryTemplates:
    """A TemplateLookup holding every WorkflowTemplate and ClusterWorkflowTemplate of the examples."""
    return InMemoryTemplates(doc for docs in examples.values() for doc in docs)


@pytest.fixture
def make_workflow() -> Callable[..., dict[str, Any]]:
    """Factory: a minimal valid Workflow whose spec fields can be overridden."""

    def make(templates: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "entrypoint": "main",
            "templates": templates
            if templates is not None
            else [{"name": "main", "container": {"image": "busybox", "command": ["echo", "hi"]}}],
        }
        body.update(spec)
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": "test-"},
            "spec": body,
        }

    return make
