"""resolve_workflow(): workflowTemplateRef merged, templateRef targets copied in, defaults applied."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from conveyor.errors import ManifestError
from conveyor.spec import InMemoryTemplates, lint, resolve_workflow, resolved_template_name

Docs = dict[str, list[dict[str, Any]]]
Factory = Callable[..., dict[str, Any]]
WT, CWT = "WorkflowTemplate", "ClusterWorkflowTemplate"


def by_name(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in spec["templates"]}


def first(examples: Docs, relpath: str) -> dict[str, Any]:
    return examples[relpath][0]


def test_names_of_copied_templates() -> None:
    assert resolved_template_name(WT, "lib", "echo") == "wftmpl:lib:echo"
    assert resolved_template_name(CWT, "lib", "echo") == "cwftmpl:lib:echo"


def test_workflow_template_ref_is_merged(
    examples: Docs, example_templates: InMemoryTemplates
) -> None:
    wf = first(examples, "workflow-template/workflow-template-ref.yaml")
    out = resolve_workflow(wf, example_templates)
    spec = out["spec"]
    assert "workflowTemplateRef" not in spec
    assert spec["entrypoint"] == "print-message"
    assert spec["arguments"]["parameters"] == [{"name": "message", "value": "hello world"}]
    assert list(by_name(spec)) == ["print-message"]
    assert out["metadata"]["labels"] == {
        "workflows.argoproj.io/workflow-template": "workflow-template-submittable"
    }


def test_cluster_workflow_template_ref(
    examples: Docs, example_templates: InMemoryTemplates
) -> None:
    wf = first(
        examples, "cluster-workflow-template/workflow-template-ref-with-entrypoint-arg-passing.yaml"
    )
    out = resolve_workflow(wf, example_templates)
    assert out["spec"]["entrypoint"] == "print-message"
    assert out["spec"]["arguments"]["parameters"] == [{"name": "message", "value": "hello world"}]
    label = "workflows.argoproj.io/cluster-workflow-template"
    assert out["metadata"]["labels"][label] == "cluster-workflow-template-print-message"
    assert lint(out) == []


def test_workflow_fields_win_and_parameters_merge_by_name(make_workflow: Factory) -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": WT,
        "metadata": {"name": "lib"},
        "spec": {
            "entrypoint": "main",
            "parallelism": 2,
            "podGC": {"strategy": "OnPodSuccess", "deleteDelayDuration": "5s"},
            "arguments": {
                "parameters": [
                    {"name": "a", "value": "from-template", "enum": ["from-template", "x"]},
                    {"name": "b", "value": "kept"},
                ]
            },
            "templates": [{"name": "main", "container": {"image": "busybox"}}],
        },
    }
    wf = make_workflow(
        None,
        workflowTemplateRef={"name": "lib"},
        parallelism=5,
        podGC={"strategy": "OnWorkflowSuccess"},
        arguments={"parameters": [{"name": "a", "value": "x"}, {"name": "c", "value": "new"}]},
    )
    del wf["spec"]["templates"], wf["spec"]["entrypoint"]
    spec = resolve_workflow(wf, InMemoryTemplates([template]))["spec"]
    assert spec["parallelism"] == 5
    assert spec["podGC"] == {"strategy": "OnWorkflowSuccess", "deleteDelayDuration": "5s"}
    assert spec["arguments"]["parameters"] == [
        {"name": "a", "value": "x", "enum": ["from-template", "x"]},
        {"name": "b", "value": "kept"},
        {"name": "c", "value": "new"},
    ]
    assert spec["entrypoint"] == "main"


def test_template_refs_in_steps_are_copied_transitively(
    examples: Docs, example_templates: InMemoryTemplates
) -> None:
    wf = first(examples, "workflow-template/steps.yaml")
    spec = resolve_workflow(wf, example_templates)["spec"]
    templates = by_name(spec)
    printer = "wftmpl:workflow-template-print-message:print-message"
    inner = "wftmpl:workflow-template-inner-steps:inner-steps"
    inner_printer = "wftmpl:workflow-template-inner-steps:print-message"
    assert set(templates) == {"hello-hello-hello", printer, inner, inner_printer}
    hello1 = templates["hello-hello-hello"]["steps"][0][0]
    assert hello1["template"] == printer
    assert hello1["templateRef"] == {
        "name": "workflow-template-print-message",
        "template": "print-message",
    }
    inner_steps = templates[inner]["steps"]
    assert inner_steps[0][0]["template"] == printer, (
        "a templateRef inside a copy resolves the same way"
    )
    assert inner_steps[1][1]["template"] == inner_printer, (
        "a plain name inside a copy means its own template"
    )
    assert "templateRef" not in inner_steps[1][1]
    assert templates[printer]["container"]["args"] == ["{{inputs.parameters.message}}"]


def test_cluster_template_refs_in_a_dag(
    examples: Docs, example_templates: InMemoryTemplates
) -> None:
    wf = first(examples, "cluster-workflow-template/cluster-wftmpl-dag.yaml")
    spec = resolve_workflow(wf, example_templates)["spec"]
    names = set(by_name(spec))
    assert names == {
        "diamond",
        "cwftmpl:cluster-workflow-template-print-message:print-message",
        "cwftmpl:cluster-workflow-template-inner-dag:inner-diamond",
        "cwftmpl:cluster-workflow-template-inner-dag:print-message",
    }
    inner = by_name(spec)["cwftmpl:cluster-workflow-template-inner-dag:inner-diamond"]
    tasks = {t["name"]: t["template"] for t in inner["dag"]["tasks"]}
    assert tasks["inner-A"] == "cwftmpl:cluster-workflow-template-print-message:print-message"
    assert tasks["inner-B"] == "cwftmpl:cluster-workflow-template-inner-dag:print-message"


def test_mixed_namespaced_and_cluster_refs(
    examples: Docs, example_templates: InMemoryTemplates
) -> None:
    wf = first(examples, "cluster-workflow-template/mixed-cluster-namespaced-wftmpl-steps.yaml")
    names = set(by_name(resolve_workflow(wf, example_templates)["spec"]))
    assert "wftmpl:workflow-template-print-message:print-message" in names
    assert "cwftmpl:cluster-workflow-template-inner-steps:inner-steps" in names


def test_missing_workflow_template_is_reported(make_workflow: Factory) -> None:
    steps = [[{"name": "hello", "templateRef": {"name": "x", "template": "echo"}}]]
    wf = make_workflow([{"name": "main", "steps": steps}])
    with pytest.raises(ManifestError) as err:
        resolve_workflow(wf, InMemoryTemplates())
    [problem] = err.value.problems
    assert problem.path == "spec.templates[main].steps[0][hello].templateRef"
    assert problem.message == (
        "WorkflowTemplate 'x' not found in namespace 'default'; create it with conveyor template create FILE"
    )


def test_missing_cluster_template_and_missing_template_name(make_workflow: Factory) -> None:
    lib = {"kind": WT, "metadata": {"name": "lib", "namespace": "team"}, "spec": {"templates": []}}
    tasks = [
        {"name": "a", "templateRef": {"name": "gone", "template": "t", "clusterScope": True}},
        {"name": "b", "templateRef": {"name": "lib", "template": "nope"}},
    ]
    wf = make_workflow([{"name": "main", "dag": {"tasks": tasks}}])
    wf["metadata"]["namespace"] = "team"
    with pytest.raises(ManifestError) as err:
        resolve_workflow(wf, InMemoryTemplates([lib]))
    messages = {p.path: p.message for p in err.value.problems}
    assert messages == {
        "spec.templates[main].dag.tasks[a].templateRef": "ClusterWorkflowTemplate 'gone' not found; "
        "create it with conveyor cluster-template create FILE",
        "spec.templates[main].dag.tasks[b].templateRef": "WorkflowTemplate 'lib' has no template 'nope'",
    }


def test_missing_workflow_template_ref(make_workflow: Factory) -> None:
    wf = make_workflow(None, workflowTemplateRef={"name": "absent"})
    with pytest.raises(ManifestError) as err:
        resolve_workflow(wf, InMemoryTemplates())
    assert [p.path for p in err.value.problems] == ["spec.workflowTemplateRef"]


def test_recursive_template_is_copied_once(make_workflow: Factory) -> None:
    coin = {
        "kind": WT,
        "metadata": {"name": "coin"},
        "spec": {
            "templates": [
                {
                    "name": "flip",
                    "steps": [[{"name": "again", "template": "flip", "when": "false"}]],
                },
            ]
        },
    }
    wf = make_workflow(
        [
            {
                "name": "main",
                "steps": [[{"name": "go", "templateRef": {"name": "coin", "template": "flip"}}]],
            }
        ]
    )
    spec = resolve_workflow(wf, InMemoryTemplates([coin]))["spec"]
    copied = by_name(spec)["wftmpl:coin:flip"]
    assert copied["steps"][0][0]["template"] == "wftmpl:coin:flip"
    assert len(spec["templates"]) == 2


def test_templated_ref_is_left_for_runtime(make_workflow: Factory) -> None:
    ref = {"name": "{{workflow.parameters.lib}}", "template": "echo"}
    wf = make_workflow([{"name": "main", "steps": [[{"name": "go", "templateRef": ref}]]}])
    out = resolve_workflow(wf, InMemoryTemplates())
    assert out["spec"]["templates"][0]["steps"][0][0] == {"name": "go", "templateRef": ref}


def test_template_defaults(examples: Docs, example_templates: InMemoryTemplates) -> None:
    wf = first(examples, "template-defaults.yaml")
    templates = by_name(resolve_workflow(wf, example_templates)["spec"])
    for name in ("main", "hello-world", "retry-backoff"):
        assert templates[name]["retryStrategy"] == {"limit": "2"}
    assert templates["hello-world"]["timeout"] == "30s"
    assert "timeout" not in templates["main"], "Argo ignores timeout on steps templates"


def test_template_defaults_merge_recursively_and_by_type(make_workflow: Factory) -> None:
    templates = [
        {"name": "main", "steps": [[{"name": "s", "template": "c"}]]},
        {"name": "c", "container": {"image": "own", "env": [{"name": "A", "value": "1"}]}},
        {"name": "s", "script": {"image": "python", "source": "print(1)"}},
    ]
    defaults = {
        "container": {"image": "default", "workingDir": "/w"},
        "metadata": {"labels": {"team": "x"}},
        "parallelism": 3,
    }
    wf = make_workflow(templates, templateDefaults=defaults)
    wf["spec"]["templates"][1]["metadata"] = {"labels": {"own": "y"}}
    out = by_name(resolve_workflow(wf, InMemoryTemplates())["spec"])
    assert out["c"]["container"] == {
        "image": "own",
        "env": [{"name": "A", "value": "1"}],
        "workingDir": "/w",
    }
    assert out["c"]["metadata"] == {"labels": {"team": "x", "own": "y"}}
    assert "container" not in out["main"] and "container" not in out["s"]
    assert out["main"]["parallelism"] == 3 and "parallelism" not in out["c"]


def test_resolve_is_idempotent_and_pure(
    examples: Docs, example_templates: InMemoryTemplates
) -> None:
    wf = first(examples, "workflow-template/dag.yaml")
    before = copy.deepcopy(wf)
    once = resolve_workflow(wf, example_templates)
    assert wf == before
    assert resolve_workflow(once, example_templates) == once
