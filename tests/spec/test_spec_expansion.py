"""Expansion limits in lint: endless recursion, sure fan-out past CONVEYOR_MAX_NODES, loops
past CONVEYOR_MAX_LOOP_ITEMS, and nesting; never a workflow that could have run."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import ManifestError
from conveyor.spec import MAX_DEPTH, Limits, lint, nesting_problem, validate

Z = {"name": "z", "container": {"image": "busybox", "command": ["true"]}}


def wf(*templates: dict[str, Any], entrypoint: str = "main") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "x"},
        "spec": {"entrypoint": entrypoint, "templates": [*templates, Z]},
    }


def steps(name: str, *groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "steps": list(groups)}


def messages(manifest: dict[str, Any], limits: Limits | None = None) -> list[str]:
    try:
        validate(manifest, limits=limits or Limits())
    except ManifestError as exc:
        return [f"{p.path}: {p.message}" for p in exc.problems]
    return []


@pytest.mark.parametrize(
    "main",
    [
        # Each of these may end: a `when`, a step after one that can fail, a dependency,
        # a loop over items known only at run time, a memoized template, a DAG target.
        steps("main", [{"name": "again", "template": "main", "when": "{{inputs.parameters.n}} > 0"}]),
        steps("main", [{"name": "work", "template": "z"}], [{"name": "again", "template": "main"}]),
        {"name": "main", "dag": {"tasks": [{"name": "a", "template": "z"}, {"name": "b", "template": "main", "depends": "a"}]}},
        steps("main", [{"name": "again", "template": "main", "withParam": "{{workflow.parameters.list}}"}]),
        steps("main", [{"name": "again", "template": "main", "withItems": []}]),
        {**steps("main", [{"name": "again", "template": "main"}]),
         "memoize": {"key": "k", "cache": {"configMap": {"name": "c"}}}},
        {"name": "main", "dag": {"target": "a", "tasks": [{"name": "a", "template": "z"}, {"name": "b", "template": "main"}]}},
    ],
)
def test_recursion_that_can_end_is_accepted(main: dict[str, Any]) -> None:
    assert not [m for m in messages(wf(main)) if "no end" in m]


@pytest.mark.parametrize(
    ("templates", "where", "cycle"),
    [
        ([steps("main", [{"name": "again", "template": "main"}])], "spec.templates[main].steps[0][again]", "main -> main"),
        ([{"name": "main", "dag": {"tasks": [{"name": "t", "template": "b"}]}}, steps("b", [{"name": "s", "template": "main"}])],
         "spec.templates[b].steps[0][s]", "main -> b -> main"),
        ([steps("main", [{"name": "s", "template": "main", "withSequence": {"count": "2"}}])],
         "spec.templates[main].steps[0][s]", "main -> main"),
    ],
)
def test_recursion_that_cannot_end_is_refused(templates: list[dict[str, Any]], where: str, cycle: str) -> None:
    found = messages(wf(*templates))
    assert len(found) == 1 and found[0].startswith(f"{where}: ") and cycle in found[0], found


def test_a_cycle_is_reported_once_with_every_template_that_reaches_it_spared() -> None:
    found = messages(wf(steps("main", [{"name": "s", "template": "a"}]), steps("a", [{"name": "s", "template": "a"}])))
    assert len(found) == 1 and "a -> a" in found[0], found


def test_fan_out_is_measured_against_the_node_limit() -> None:
    inner = steps("inner", [{"name": "each", "template": "z", "withItems": list(range(30))}])
    outer = steps("main", [{"name": "outer", "template": "inner", "withSequence": {"count": "30"}}])
    assert messages(wf(outer, inner)) == []  # 931 nodes: fine under the default limit
    found = messages(wf(outer, inner), Limits(max_nodes=900))
    assert found == [
        "spec.templates[main].steps[0][outer]: step 'outer' runs template 'inner' 30 times, so template 'main' "
        "surely creates 931 nodes; a workflow may have at most 900 (CONVEYOR_MAX_NODES). Loop over batches, "
        "split the work into several workflows, or raise the limit"
    ]
    # Only what surely runs counts: behind a `when` or in a later step group it may not.
    guarded = steps("main", [{"name": "outer", "template": "inner", "withSequence": {"count": "30"}, "when": "a == b"}])
    later = steps("main", [{"name": "first", "template": "z"}], [{"name": "outer", "template": "inner", "withSequence": {"count": "30"}}])
    assert messages(wf(guarded, inner), Limits(max_nodes=900)) == []
    assert messages(wf(later, inner), Limits(max_nodes=900)) == []


def test_a_long_chain_of_small_loops_is_reported_once_at_its_innermost_culprit() -> None:
    chain = [steps(f"t{i}", [{"name": "s", "template": f"t{i + 1}", "withItems": [1, 2]}]) for i in range(60)]
    found = messages(wf(*chain, {"name": "t60", "container": {"image": "a", "command": ["true"]}}, entrypoint="t0"))
    assert len(found) == 1 and "spec.templates[t43].steps[0][s]" in found[0] and "262,143 nodes" in found[0], found


@pytest.mark.parametrize(
    ("loop", "field"),
    [
        ({"withItems": list(range(11))}, "withItems"),
        ({"withParam": "[" + ",".join("1" * 11) + "]"}, "withParam"),
        ({"withSequence": {"start": "1", "end": "11"}}, "withSequence"),
        ({"withSequence": {"count": 11}}, "withSequence"),
    ],
)
def test_loops_are_measured_against_the_item_limit(loop: dict[str, Any], field: str) -> None:
    manifest = wf(steps("main", [{"name": "s", "template": "z", **loop}]))
    assert messages(manifest, Limits(max_loop_items=11)) == []
    found = messages(manifest, Limits(max_loop_items=10))
    assert found == [f"spec.templates[main].steps[0][s].{field}: the {field} of step 's' makes 11 items; conveyor "
                     "expands at most 10 per loop (CONVEYOR_MAX_LOOP_ITEMS), so split the work or loop over batches"]


def test_nesting_is_bounded_before_anything_recurses() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"a": deep}
    manifest = wf({**Z, "name": "main", "podSpecPatch": deep})
    found = messages(manifest)
    assert found == [f": the manifest nests deeper than {MAX_DEPTH} levels; no Argo manifest needs that, so it is "
                     "refused (flatten the data, or pass deep data as a JSON string parameter)"]
    level: Any = []
    for _ in range(MAX_DEPTH - 1):
        level = [level]
    assert nesting_problem(level) is None and nesting_problem([level]) is not None
    assert lint(wf(steps("main", [{"name": "s", "template": "z"}]))) == []


def test_labels_and_annotations_follow_kubernetes_syntax() -> None:
    manifest = wf(steps("main", [{"name": "s", "template": "z"}]))
    manifest["metadata"]["labels"] = {"app.kubernetes.io/name": "ok", "x": "", "Team_1.a": "v-1.2_3"}
    manifest["metadata"]["annotations"] = {"note": "any text at all, with spaces: fine"}
    assert messages(manifest) == []
    manifest["metadata"]["labels"] = {"bad key": "v", "UPPER/x": "v", "k": "-starts-with-dash"}
    manifest["metadata"]["annotations"] = {"a" * 64: "v"}
    found = messages(manifest)
    assert len(found) == 4 and all(f.startswith(("metadata.labels: ", "metadata.annotations: ")) for f in found), found
