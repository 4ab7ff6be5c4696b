"""A corpus of broken manifests (tests/spec/broken/), each with the problem it must produce."""

from __future__ import annotations

import pytest

from conveyor.errors import ManifestError, Problem
from conveyor.spec import load_file, validate

from .shared import BROKEN

T = "spec.templates"
#: file -> every (path, message fragment) expected; "" is the path of problems reading the file.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "anchors-bomb.yaml": [("", "alias bomb")],
    "argument-without-dependency.yaml": [
        (f"{T}[main].dag.tasks[B].arguments", "does not depend on it")
    ],
    "bad-depends-syntax.yaml": [(f"{T}[main].dag.tasks[B].depends", "ends with an operator")],
    "bad-retry-policy.yaml": [(f"{T}[main].retryStrategy.retryPolicy", "'OnFail' is not known")],
    "bad-yaml.yaml": [("", "YAML syntax error at line 10, column 9")],
    "container-without-image.yaml": [(f"{T}[main].container.image", "has no container image")],
    "containerset-bad-dependency.yaml": [
        (f"{T}[main].containerSet.containers[b].dependencies[0]", "depends on 'c'")
    ],
    "cron-bad-schedule.yaml": [
        ("spec.schedules[0]", "needs 5 fields"),
        ("spec.timezone", "'Mars/Olympus' is not a known IANA time zone"),
    ],
    "cron-v3-single-schedule.yaml": [("metadata.name", "at most 52")],
    "cycle.yaml": [(f"{T}[main].dag.tasks[A].depends", "cycle: A -> C -> B -> A")],
    "dag-target-unknown.yaml": [(f"{T}[main].dag.target", "target 'Z' is not a task")],
    "deep-nesting.yaml": [("", "nests deeper than 200 levels")],
    "duplicate-key.yaml": [("", "the key 'args' appears twice")],
    "duplicate-step-names.yaml": [(f"{T}[main].steps[1][a].name", "step name 'a' appears twice")],
    "duplicate-task-names.yaml": [(f"{T}[main].dag.tasks[1].name", "task name 'A' appears twice")],
    "duplicate-template-names.yaml": [(f"{T}[1].name", "'echo' is used by more than one template")],
    "entrypoint-unknown.yaml": [("spec.entrypoint", "entrypoint 'mian' names no template")],
    "enum-violation.yaml": [
        ("spec.arguments.parameters[color].value", "'purple', which is not one of its enum values")
    ],
    "http-template.yaml": [
        (f"{T}[fetch].http", "uses `http`, which needs Kubernetes (or Argo's agent)")
    ],
    "invalid-task-name.yaml": [
        (f"{T}[main].dag.tasks[my_task].name", "task name 'my_task' is invalid")
    ],
    "invalid-workflow-name.yaml": [
        ("metadata.name", "'My_Workflow' is not a valid Kubernetes name")
    ],
    "missing-entrypoint.yaml": [("spec.entrypoint", "entrypoint is missing")],
    "missing-name.yaml": [("metadata", "needs metadata.name or metadata.generateName")],
    "missing-required-input.yaml": [
        (f"{T}[main].steps[0][hello].arguments", "does not pass parameter 'message'")
    ],
    "mixed-depends-across-tasks.yaml": [
        (
            f"{T}[main].dag.tasks[C].dependencies",
            "mixes `depends` (task 'B') and `dependencies` (task 'C')",
        )
    ],
    "mixed-depends-one-task.yaml": [
        (f"{T}[main].dag.tasks[B]", "sets both `depends` and `dependencies`; use one of them")
    ],
    "not-a-mapping.yaml": [("", "document 1 (line 1) is a list, not a mapping")],
    "recursive-alias.yaml": [("", "recursive alias")],
    "resource-template.yaml": [
        (
            f"{T}[create].resource",
            "template 'create' uses `resource`, which needs Kubernetes (or Argo's agent); "
            "conveyor runs container, script, dag, steps, suspend and containerSet templates",
        )
    ],
    "self-dependency.yaml": [(f"{T}[main].dag.tasks[A].dependencies[0]", "depends on itself")],
    "sequence-count-and-end.yaml": [
        (f"{T}[main].steps[0][seq].withSequence", "both `count` and `end`")
    ],
    "sequence-too-large.yaml": [(f"{T}[main].steps[0][many].withSequence", "at most 100,000")],
    "step-both-template-and-ref.yaml": [
        (f"{T}[main].steps[0][hello]", "sets template and templateRef")
    ],
    "template-with-two-types.yaml": [(f"{T}[main]", "sets container and script")],
    "template-without-type.yaml": [(f"{T}[main]", "has no type")],
    "two-loop-kinds.yaml": [(f"{T}[main].steps[0][loop]", "sets withItems and withParam")],
    "undeclared-input.yaml": [
        (
            f"{T}[echo].container.args[0]",
            "uses {{inputs.parameters.msg}}, but it declares no input parameter 'msg'",
        )
    ],
    "unknown-dependency.yaml": [
        (f"{T}[main].dag.tasks[B].depends", "depends on 'X', which is not a task")
    ],
    "unknown-kind.yaml": [("kind", "kind is 'Pod'")],
    "unknown-task-result.yaml": [
        (f"{T}[main].dag.tasks[B].depends", "'Success' is not a task result")
    ],
    "unknown-template.yaml": [
        (f"{T}[main].steps[0][hello].template", "refers to template 'missing'")
    ],
    "workflow-ref-with-templates.yaml": [("spec.templates", "cannot define templates of its own")],
    "wrong-api-version.yaml": [("apiVersion", "'argoproj.io/v1'")],
    "wrong-types.yaml": [
        ("spec.parallelism", "expected an integer, got 'abc'"),
        (f"{T}[main].retryStrategy.limit", "expected a string or an integer, got [1, 2]"),
    ],
}


def problems_of(name: str) -> list[Problem]:
    """What loading, then validating, a corpus file reports."""
    try:
        docs = load_file(BROKEN / name)
    except ManifestError as exc:
        return exc.problems
    found: list[Problem] = []
    for doc in docs:
        try:
            validate(doc, source=name)
        except ManifestError as exc:
            found.extend(exc.problems)
    return found


def test_every_corpus_file_has_expectations() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_manifest_reports_expected_problems(name: str) -> None:
    problems = problems_of(name)
    for path, fragment in EXPECTED[name]:
        assert any(p.path == path and fragment in p.message for p in problems), (
            f"{name}: expected {path!r} ~ {fragment!r}; got {[str(p) for p in problems]}"
        )
    # Each file breaks one rule; anything more is an unexpected extra problem.
    assert len(problems) == len(EXPECTED[name]), [str(p) for p in problems]
