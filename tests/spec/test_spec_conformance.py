"""Every Argo example manifest loads and lints clean, except those listed with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conveyor.spec import InMemoryTemplates, lint, resolve_workflow, validate

from .shared import EXAMPLES

#: (file, manifest name) -> (problem path, message fragment, why conveyor rejects it)
EXPECTED_PROBLEMS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("cron-backfill.yaml", "backfill-v1"): (
        "spec.templates[create-job].resource",
        "needs Kubernetes",
        "creates Workflows with a `resource` template, which needs a Kubernetes API server",
    ),
}


def _name(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata", {})
    return meta.get("name") or meta.get("generateName") or ""


def _cases() -> list[Any]:
    if not EXAMPLES.is_dir():
        return [
            pytest.param(
                "", marks=pytest.mark.skip(reason=f"Argo's examples are not at {EXAMPLES}")
            )
        ]
    files = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.yaml"))
    return [pytest.param(f, id=f) for f in files]


def test_examples_are_present_or_skipped(examples: dict[str, list[dict[str, Any]]]) -> None:
    listed = json.loads((EXAMPLES / "expected.json").read_text())
    assert set(listed) <= set(examples), "every example expected.json lists must be loaded"
    assert len(examples) >= len(listed)


@pytest.mark.parametrize("relpath", _cases())
def test_example_lints_clean(
    relpath: str, examples: dict[str, list[dict[str, Any]]], example_templates: InMemoryTemplates
) -> None:
    docs = examples[relpath]
    assert docs, f"{relpath} holds no manifest"
    for doc in docs:
        expected = EXPECTED_PROBLEMS.get((relpath, _name(doc)))
        problems = lint(doc, templates=example_templates)
        if expected is None:
            assert problems == [], f"{relpath} ({_name(doc)}): {problems}"
            assert lint(doc) == [], "without a lookup, template references are not checked"
        else:
            path, fragment, _why = expected
            assert [(p.path, fragment in p.message) for p in problems] == [(path, True)]


@pytest.mark.parametrize("relpath", _cases())
def test_resolved_example_is_self_contained(
    relpath: str, examples: dict[str, list[dict[str, Any]]], example_templates: InMemoryTemplates
) -> None:
    for doc in examples[relpath]:
        if doc["kind"] != "Workflow" or (relpath, _name(doc)) in EXPECTED_PROBLEMS:
            continue
        resolved = resolve_workflow(validate(doc, templates=example_templates), example_templates)
        assert lint(resolved) == []
        spec = resolved["spec"]
        assert "workflowTemplateRef" not in spec
        names = {t["name"] for t in spec["templates"]}
        assert spec["entrypoint"] in names
        for tmpl in spec["templates"]:
            for holder in _holders(tmpl):
                assert holder.get("template") in names or holder.get("inline"), holder


def _holders(tmpl: dict[str, Any]) -> list[dict[str, Any]]:
    found = [step for group in tmpl.get("steps") or [] for step in group]
    found += (tmpl.get("dag") or {}).get("tasks") or []
    return found
