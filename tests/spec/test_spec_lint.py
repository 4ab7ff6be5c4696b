"""lint() and validate(): specific problems at precise paths, never an exception."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.errors import ManifestError, Problem
from conveyor.spec import InMemoryTemplates, lint, validate
from conveyor.spec._depends import Dependency, parse_depends

Factory = Callable[..., dict[str, Any]]
ECHO = {"name": "echo", "container": {"image": "busybox", "command": ["echo", "hi"]}}


def found(problems: list[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems}


def dag(*tasks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "main", "dag": {"tasks": list(tasks), **extra}}


def task(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "template": "echo", **fields}


# --- validate -------------------------------------------------------------------------------


def test_validate_returns_the_normalized_manifest(make_workflow: Factory) -> None:
    wf = make_workflow(synchronization={"mutex": {"name": "m"}})
    assert validate(wf)["spec"]["synchronization"] == {"mutexes": [{"name": "m"}]}


def test_validate_raises_every_problem_with_its_source(make_workflow: Factory) -> None:
    wf = make_workflow([dag(task("A", depends="B"), task("B", depends="A")), ECHO], parallelism="x")
    with pytest.raises(ManifestError) as err:
        validate(wf, source="wf.yaml")
    assert str(err.value).startswith("wf.yaml: 2 problem(s):")
    assert {p.path for p in err.value.problems} == {
        "spec.parallelism",
        "spec.templates[main].dag.tasks[A].depends",
    }


# --- never raises ----------------------------------------------------------------------------

_keys = st.sampled_from(
    ["apiVersion", "kind", "metadata", "spec", "templates", "name", "dag", "tasks", "steps", "depends",
     "dependencies", "template", "templateRef", "inline", "container", "image", "inputs", "parameters",
     "value", "entrypoint", "withItems", "withSequence", "count", "hooks", "exit", "arguments", "enum",
     "synchronization", "mutex", "schedule", "workflowSpec", "target", "onExit", "outputs", "valueFrom",
     "templateDefaults", "workflowTemplateRef", "containerSet", "containers", "x"]
)  # fmt: skip
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.sampled_from(["A", "main", "{{"]),
)
_json = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(
        ["Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate"]
    ),
    spec=_json,
)
def test_lint_never_raises_on_any_shape(kind: str, spec: Any) -> None:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x"},
        "spec": spec,
    }
    problems = lint(manifest, templates=InMemoryTemplates())
    assert all(isinstance(p, Problem) for p in problems)
    assert not [p for p in problems if "internal error" in p.message], problems


def test_lint_of_a_non_mapping() -> None:
    assert lint(["a"]) == [Problem("", "the manifest is a list, not a mapping")]  # type: ignore[arg-type]


def test_unexpected_errors_become_problems(make_workflow: Factory) -> None:
    class Broken:
        def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
            raise RuntimeError("store is down")

    wf = make_workflow(
        [
            {
                "name": "main",
                "steps": [[{"name": "s", "templateRef": {"name": "a", "template": "b"}}]],
            }
        ]
    )
    [problem] = lint(wf, templates=Broken())
    assert "internal error" in problem.message and "store is down" in problem.message


# --- structure (Hera's models) -----------------------------------------------------------------


def test_structural_errors_use_argo_names_and_task_names(make_workflow: Factory) -> None:
    wf = make_workflow(
        [dag(task("A"), {"template": "echo"}, task("C", withItems="nope")), ECHO],
        activeDeadlineSeconds="soon",
    )
    problems = found(lint(wf))
    assert (
        problems["spec.templates[main].dag.tasks[1].name"]
        == "`name` is required but missing; add it"
    )
    assert problems["spec.templates[main].dag.tasks[C].withItems"] == "expected a list, got 'nope'"
    assert problems["spec.activeDeadlineSeconds"] == "expected an integer, got 'soon'"


def test_wrong_type_for_a_whole_section(make_workflow: Factory) -> None:
    assert found(lint(make_workflow("oops")))["spec.templates"] == "expected a list, got 'oops'"


# --- manifest level ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "path", "fragment"),
    [
        ({"name": "a" * 64}, "metadata.name", "64 characters long; Argo allows at most 63"),
        ({"generateName": "Bad_"}, "metadata.generateName", "not a valid name prefix"),
        (
            {"name": "ok", "namespace": "Team A"},
            "metadata.namespace",
            "namespace 'Team A' is not valid",
        ),
    ],
)
def test_metadata_rules(
    make_workflow: Factory, metadata: dict[str, Any], path: str, fragment: str
) -> None:
    wf = make_workflow()
    wf["metadata"] = metadata
    assert fragment in found(lint(wf))[path]


def test_workflow_template_needs_a_name_but_no_entrypoint() -> None:
    wt = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"generateName": "lib-"},
        "spec": {
            "templates": [
                {
                    "name": "t",
                    "inputs": {"parameters": [{"name": "p"}]},
                    "container": {"image": "x"},
                }
            ]
        },
    }
    assert found(lint(wt)) == {
        "metadata.name": "a WorkflowTemplate needs metadata.name; other manifests refer to it by that name"
    }


def test_entrypoint_inputs_must_be_given(make_workflow: Factory) -> None:
    main = {
        "name": "main",
        "inputs": {"parameters": [{"name": "who"}]},
        "container": {"image": "x"},
    }
    problems = found(lint(make_workflow([main])))
    assert "pass -p who=VALUE" in problems["spec.arguments"]
    assert lint(make_workflow([main], arguments={"parameters": [{"name": "who"}]})) == []


def test_workflow_level_checks(make_workflow: Factory) -> None:
    wf = make_workflow(
        [ECHO | {"name": "main"}],
        onExit="cleanup",
        podGC={"strategy": "Sometimes"},
        hooks={"running": {"template": "main"}, "exit": {"template": "nope"}},
        arguments={"parameters": [{"name": "a", "enum": []}, {"name": "a", "value": "1"}]},
    )
    problems = found(lint(wf))
    assert "onExit names template 'cleanup'" in problems["spec.onExit"]
    assert "'Sometimes' is not known" in problems["spec.podGC.strategy"]
    assert "has no `expression`" in problems["spec.hooks.running"]
    assert "template 'nope'" in problems["spec.hooks.exit.template"]
    assert "empty enum" in problems["spec.arguments.parameters[0].enum"]
    assert "declared twice" in problems["spec.arguments.parameters[1].name"]


# --- templates ---------------------------------------------------------------------------------


def test_template_field_rules(make_workflow: Factory) -> None:
    templates = [
        {"name": "main", "timeout": "5m", "steps": [[{"name": "s", "template": "c"}]]},
        {"name": "c", "parallelism": 2, "timeout": "30", "container": {"image": "x"}},
        {"name": "d", "data": {"source": {}}},
        {"name": "e", "plugin": {"hello": {}}},
    ]
    problems = found(lint(make_workflow(templates)))
    assert "`timeout` only applies" in problems["spec.templates[main].timeout"]
    assert "`parallelism` only applies" in problems["spec.templates[c].parallelism"]
    assert "has no unit" in problems["spec.templates[c].timeout"]
    assert "uses `data`" in problems["spec.templates[d].data"]
    assert "uses `plugin`" in problems["spec.templates[e].plugin"]


def test_image_may_come_from_template_defaults(make_workflow: Factory) -> None:
    templates = [{"name": "main", "container": {"command": ["true"]}}]
    assert (
        lint(make_workflow(templates, templateDefaults={"container": {"image": "busybox"}})) == []
    )


def test_inline_templates_are_checked_as_templates(make_workflow: Factory) -> None:
    inline = {"inputs": {"parameters": [{"name": "n"}]}, "resource": {"action": "get"}}
    problems = found(lint(make_workflow([dag({"name": "a", "inline": inline})])))
    assert "uses `resource`" in problems["spec.templates[main].dag.tasks[a].inline.resource"]
    assert "does not pass parameter 'n'" in problems["spec.templates[main].dag.tasks[a].arguments"]


def test_inputs_used_in_expressions(make_workflow: Factory) -> None:
    main: dict[str, Any] = {
        "name": "main",
        "inputs": {"parameters": [{"name": "flag", "value": "x"}]},
        "steps": [
            [{"name": "s", "template": "echo", "when": "{{= inputs.parameters['flag'] == 'x' }}"}]
        ],
    }
    assert lint(make_workflow([main, ECHO])) == []
    main["steps"][0][0]["when"] = '{{= inputs.parameters["other"] == "x" }}'
    problems = found(lint(make_workflow([main, ECHO])))
    assert (
        "declares no input parameter 'other'" in problems["spec.templates[main].steps[0][s].when"]
    )


def test_step_arguments_need_values_and_outputs_need_sources(make_workflow: Factory) -> None:
    templates = [
        {
            "name": "main",
            "steps": [
                [{"name": "s", "template": "c", "arguments": {"parameters": [{"name": "p"}]}}]
            ],
        },
        {
            "name": "c",
            "inputs": {"parameters": [{"name": "p"}]},
            "outputs": {
                "parameters": [
                    {"name": "a"},
                    {"name": "b", "valueFrom": {"parameter": "x"}},
                    {"name": "c", "value": "1", "valueFrom": {"path": "/x"}},
                ]
            },
            "container": {"image": "x"},
        },
    ]
    problems = found(lint(make_workflow(templates)))
    assert "has no value" in problems["spec.templates[main].steps[0][s].arguments.parameters[p]"]
    assert "neither `value` nor `valueFrom`" in problems["spec.templates[c].outputs.parameters[a]"]
    assert "use valueFrom.path" in problems["spec.templates[c].outputs.parameters[b].valueFrom"]
    assert "both `value` and `valueFrom`" in problems["spec.templates[c].outputs.parameters[c]"]


# --- DAGs --------------------------------------------------------------------------------------


def test_dag_rules_argo_enforces(make_workflow: Factory) -> None:
    tasks = [
        task("1st"),
        task("B", depends="1st.AnySucceeded", continueOn={"failed": True}),
        task("C", depends="(B"),
    ]
    problems = found(lint(make_workflow([dag(*tasks), ECHO])))
    assert "starts with a digit" in problems["spec.templates[main].dag.tasks[1st].name"]
    assert (
        "only applies to a task that loops" in problems["spec.templates[main].dag.tasks[B].depends"]
    )
    assert "continueOn" in problems["spec.templates[main].dag.tasks[B].continueOn"]
    assert "is never closed" in problems["spec.templates[main].dag.tasks[C].depends"]


def test_templated_target_and_item_results_on_loops(make_workflow: Factory) -> None:
    tasks = [task("A", withItems=[1, 2]), task("B", depends="A.AllFailed || A.Succeeded")]
    assert lint(make_workflow([dag(*tasks, target="{{workflow.parameters.t}}"), ECHO])) == []


def test_dag_without_tasks(make_workflow: Factory) -> None:
    assert "has no tasks" in found(lint(make_workflow([dag()])))["spec.templates[main].dag.tasks"]


def test_two_independent_cycles_are_both_reported(make_workflow: Factory) -> None:
    tasks = [
        task("A", depends="B"),
        task("B", depends="A"),
        task("C", depends="D"),
        task("D", depends="C"),
    ]
    problems = lint(make_workflow([dag(*tasks), ECHO]))
    assert sorted(p.message.split(":")[1].split("(")[0].strip() for p in problems) == [
        "A -> B -> A",
        "C -> D -> C",
    ]


def test_a_transitive_dependency_is_enough_for_arguments(make_workflow: Factory) -> None:
    args = {"parameters": [{"name": "x", "value": "{{tasks.A.outputs.result}}"}]}
    tasks = [task("A"), task("B", depends="A"), task("C", depends="B", arguments=args)]
    assert lint(make_workflow([dag(*tasks), ECHO])) == []


def test_large_dag_lints_fast(make_workflow: Factory) -> None:
    tasks = [task("t0", arguments={"parameters": [{"name": "m", "value": "0"}]})]
    tasks += [
        task(
            f"t{i}",
            depends=f"t{i - 1} && t{max(0, i - 2)}",
            arguments={"parameters": [{"name": "m", "value": str(i)}]},
        )
        for i in range(1, 10_000)
    ]
    echo = {
        "name": "echo",
        "inputs": {"parameters": [{"name": "m"}]},
        "container": {"image": "b", "args": ["{{inputs.parameters.m}}"]},
    }
    wf = make_workflow([dag(*tasks), echo])
    started = time.perf_counter()
    assert lint(wf) == []
    # About 0.35 s on a laptop; the margin keeps a busy CI machine from failing it.
    assert time.perf_counter() - started < 2.0


# --- template references (checked only with a lookup) ---------------------------------------------


def _lib() -> InMemoryTemplates:
    return InMemoryTemplates(
        [
            {
                "kind": "WorkflowTemplate",
                "metadata": {"name": "lib"},
                "spec": {"entrypoint": "echo", "templates": [ECHO]},
            },
            {
                "kind": "ClusterWorkflowTemplate",
                "metadata": {"name": "shared"},
                "spec": {"templates": [ECHO]},
            },
        ]
    )


def test_template_refs_with_a_lookup(make_workflow: Factory) -> None:
    steps = [
        [{"name": "ok", "templateRef": {"name": "lib", "template": "echo"}}],
        [
            {
                "name": "cluster",
                "templateRef": {"name": "shared", "template": "echo", "clusterScope": True},
            }
        ],
        [{"name": "gone", "templateRef": {"name": "absent", "template": "echo"}}],
        [{"name": "typo", "templateRef": {"name": "lib", "template": "ecko"}}],
        [{"name": "scope", "templateRef": {"name": "shared", "template": "echo"}}],
    ]
    wf = make_workflow([{"name": "main", "steps": steps}])
    assert lint(wf) == [], "without a lookup, references are not checked"
    problems = found(lint(wf, templates=_lib()))
    base = "spec.templates[main].steps"
    assert set(problems) == {
        f"{base}[2][gone].templateRef",
        f"{base}[3][typo].templateRef.template",
        f"{base}[4][scope].templateRef",
    }
    assert (
        "WorkflowTemplate 'absent' not found in namespace 'default'"
        in problems[f"{base}[2][gone].templateRef"]
    )
    assert (
        "has no template 'ecko' (it has: echo)" in problems[f"{base}[3][typo].templateRef.template"]
    )


def test_workflow_template_ref_with_a_lookup(make_workflow: Factory) -> None:
    wf = make_workflow(None, workflowTemplateRef={"name": "lib"})
    del wf["spec"]["templates"], wf["spec"]["entrypoint"]
    assert lint(wf, templates=_lib()) == []
    wf["spec"]["entrypoint"] = "nope"
    assert (
        "entrypoint 'nope' names no template"
        in found(lint(wf, templates=_lib()))["spec.entrypoint"]
    )
    wf["spec"]["workflowTemplateRef"] = {"name": "missing"}
    assert "not found" in found(lint(wf, templates=_lib()))["spec.workflowTemplateRef"]


# --- depends parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "deps", "error"),
    [
        ("A", [("A", None)], None),
        ("A && B-2", [("A", None), ("B-2", None)], None),
        (
            "A && (C.Succeeded || !C.Failed)",
            [("A", None), ("C", "Succeeded"), ("C", "Failed")],
            None,
        ),
        ("A B", [("A", None)], "missing `&&` or `||` before 'B'"),
        ("A)", [("A", None)], "unexpected ')' at position 2"),
        ("|| A", [], "'||' at position 1 has nothing on its left"),
        ("A $ B", [("A", None)], "unexpected character '$' at position 3"),
        ("", [], None),
    ],
)
def test_parse_depends(clause: str, deps: list[tuple[str, str | None]], error: str | None) -> None:
    assert parse_depends(clause) == ([Dependency(t, r) for t, r in deps], error)
