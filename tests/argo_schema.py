"""Argo's JSON schema (../shared/argo/schema.json) as a check the tests share: where a manifest
of any kind breaks it."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import shared_path

__all__ = ["schema_errors"]

_validators: dict[tuple[str, bool], Any] = {}


def _closed(definitions: dict[str, Any]) -> dict[str, Any]:
    """The definitions with every object that lists its properties closed to others: `argo lint`
    (Go's strict decoding) refuses a field Argo does not know, the schema alone lets it through."""
    out = {}
    for name, definition in definitions.items():
        if isinstance(definition.get("properties"), dict) and "additionalProperties" not in definition:
            definition = {**definition, "additionalProperties": False}
        out[name] = definition
    return out


def schema_errors(manifest: dict[str, Any], *, strict: bool = False) -> list[str]:
    """`path: message` for every place `manifest` breaks Argo's schema for its kind; `strict`:
    unknown fields too. Skips the test when ../shared is absent."""
    import jsonschema

    kind = manifest.get("kind")
    if (kind, strict) not in _validators:
        schema = json.loads(shared_path("argo", "schema.json").read_text())
        name = f"io.argoproj.workflow.v1alpha1.{kind}"
        if not isinstance(kind, str) or name not in schema["definitions"]:
            return [f"kind: {kind!r} is not an Argo kind"]
        definitions = schema["definitions"]
        # Kubernetes' IntOrString is a number or a string on the wire (Argo writes
        # `activeDeadlineSeconds: 10` back as a number); the schema's generator says string only.
        definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["string", "integer"]}
        ref = {"$ref": f"#/definitions/{name}", "definitions": _closed(definitions) if strict else definitions}
        _validators[(kind, strict)] = jsonschema.validators.validator_for(schema)(ref)
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
            for e in _validators[(kind, strict)].iter_errors(manifest)]
