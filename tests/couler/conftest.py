"""Couler tests start from an empty workflow, and every manifest they build must be
valid Argo: conveyor's own lint, and Argo's JSON schema (../shared/argo/schema.json)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import conveyor.couler as couler
from conveyor.couler._state import STATE, Defaults
from conveyor.spec import validate
from tests.conftest import shared_path

_validators: dict[str, Any] = {}


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    """Where `manifest` breaks Argo's JSON schema for its kind."""
    import jsonschema

    kind = manifest["kind"]
    if kind not in _validators:
        schema = json.loads(shared_path("argo", "schema.json").read_text())
        # Kubernetes' IntOrString is a number or a string on the wire; the schema's
        # generator renders it as string only (see tests/conformance).
        schema["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
        ref = {"$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}", "definitions": schema["definitions"]}
        _validators[kind] = jsonschema.validators.validator_for(schema)(ref)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in _validators[kind].iter_errors(manifest)]


def assert_argo_valid(manifest: dict[str, Any]) -> None:
    validate(manifest, source="couler test")
    errors = schema_errors(manifest)
    assert not errors, f"breaks Argo's schema: {errors[:5]}"


@pytest.fixture(autouse=True)
def fresh_workflow() -> Iterator[None]:
    couler._cleanup()
    yield
    couler._cleanup()
    STATE.defaults = Defaults()  # config_defaults outlives _cleanup() by design


@pytest.fixture
def built() -> Callable[[], dict[str, Any]]:
    """built() -> workflow_yaml(), checked to be valid Argo."""

    def build() -> dict[str, Any]:
        wf = couler.workflow_yaml()
        assert_argo_valid(wf)
        return wf

    return build
