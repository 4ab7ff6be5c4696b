"""Every `{{=...}}`, `expression:`, `when:` and `depends:` in Argo's own examples is understood.

The examples live beside the project, in ../shared/conformance/argo-examples;
without them these tests are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.expr import compile_depends, dependencies_to_depends, evaluate_when
from conveyor.expr._parser import parse
from conveyor.expr.template import _segments

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "argo-examples"
_SIMPLE_TAG = re.compile(r"\{\{(?!=)[^}]*\}\}")

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"Argo examples not found at {EXAMPLES}"
)


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), v
            yield from _walk(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)


def _fields() -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    if not EXAMPLES.is_dir():
        return found
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            for key, value in _walk(document):
                if key in ("when", "depends", "expression", "dependencies") or (
                    isinstance(value, str) and "{{=" in value
                ):
                    found.append((path.name, key, value))
    return found


FIELDS = _fields()


def test_the_examples_were_found() -> None:
    kinds = {key for _, key, _ in FIELDS}
    assert {"when", "depends", "expression"} <= kinds


@pytest.mark.parametrize(("source", "key", "value"), FIELDS, ids=[f"{s}:{k}" for s, k, _ in FIELDS])
def test_example_field_is_understood(source: str, key: str, value: Any) -> None:
    if key == "dependencies":
        compile_depends(dependencies_to_depends(value))
    elif key == "depends":
        assert compile_depends(str(value)).task_names
    elif key == "when":
        # Stand-ins for what the engine substitutes: any word, and an expression's boolean.
        text = re.sub(r"\{\{=.*?\}\}", "true", _SIMPLE_TAG.sub("word", str(value)))
        assert evaluate_when(text) in (True, False)
    if isinstance(value, str) and "{{=" in value:
        for segment in _segments(value):
            if not isinstance(segment, str) and hasattr(segment, "source"):
                parse(segment.source)
    if key == "expression" and isinstance(value, str):
        parse(_SIMPLE_TAG.sub("true", value))
