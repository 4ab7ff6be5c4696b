"""Input limits the spec layer enforces wherever a manifest comes from (a file, an API body).

- NaN and infinity (YAML's `.nan`/`.inf`, Python's JSON `NaN`/`Infinity`, `1e400`) are
  refused with their place: JSON, so Argo's API, cannot carry them.
- Integers beyond int64 are refused where they are numbers (Kubernetes decodes integer
  fields as int64); a parameter value, which Argo reads as text, keeps its digits.
- A `when` that nests deeper than its evaluator goes is refused by lint and submit,
  not left to fail at run time; the lint limit is the evaluator's, checked both ways.
- `conveyor run FILE` applies the server's limits: CONVEYOR_MAX_MANIFEST_BYTES,
  CONVEYOR_MAX_MANIFEST_VALUES, CONVEYOR_MAX_LOOP_ITEMS and CONVEYOR_MAX_NODES.
The API side of each is in corpus.py (test_hostile_input.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.errors import ExpressionError, ManifestError
from conveyor.expr import evaluate_when
from conveyor.spec import lint, load_documents, validate
from conveyor.spec._numbers import INT64_MAX, INT64_MIN
from conveyor.spec._when import MAX_WHEN_NESTING, MAX_WHEN_PREFIXES

HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: n-}\n"


def manifest(spec: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "n-"},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"}}],
                     **(spec or {})}, **extra}


def problems(doc: dict[str, Any]) -> dict[str, str]:
    return {p.path: p.message for p in lint(doc)}


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "!!float .inf", "1.0e+400"])
def test_yaml_nan_and_infinity_are_refused_with_their_line(text: str) -> None:
    source = HEAD + f"spec:\n  entrypoint: main\n  arguments:\n    parameters: [{{name: p, value: {text}}}]\n"
    with pytest.raises(ManifestError) as caught:
        load_documents(source)
    message = str(caught.value)
    assert "line 7" in message and "not a finite number" in message and "quote it" in message, message


def test_quoted_nan_is_text() -> None:
    docs = load_documents(HEAD + "spec:\n  arguments:\n    parameters: [{name: p, value: '.nan'}]\n")
    assert docs[0]["spec"]["arguments"]["parameters"][0]["value"] == ".nan"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_python_would_accept_are_refused(constant: str) -> None:
    text = json.dumps(manifest({"parallelism": 1})).replace('"parallelism": 1', f'"parallelism": {constant}')
    with pytest.raises(ManifestError, match=f"{constant} is not valid JSON"):
        load_documents(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["parallelism", "parameter", "label"])
def test_non_finite_numbers_from_any_source_are_named_by_lint_and_validate(value: float, where: str) -> None:
    # API bodies are decoded by Python's JSON reader, which lets NaN, Infinity and 1e400 through.
    doc = manifest()
    path = {"parallelism": "spec.parallelism", "parameter": "spec.arguments.parameters[p].value",
            "label": "metadata.labels.x"}[where]
    if where == "parallelism":
        doc["spec"]["parallelism"] = value
    elif where == "parameter":
        doc["spec"]["arguments"] = {"parameters": [{"name": "p", "value": value}]}
    else:
        doc["metadata"]["labels"] = {"x": value}
    found = problems(doc)
    assert "is not a number JSON" in found[path], found
    assert len(found) == 1, f"one problem per bad value, not the model's second opinion: {found}"
    with pytest.raises(ManifestError, match="not a number JSON"):
        validate(doc)


@pytest.mark.parametrize("value,ok", [(INT64_MAX, True), (INT64_MIN, True), (INT64_MAX + 1, False),
                                      (INT64_MIN - 1, False), (10**4000, False)])
def test_integers_must_fit_in_64_bits(value: int, ok: bool) -> None:
    found = problems(manifest({"activeDeadlineSeconds": value}))
    if ok:
        assert "spec.activeDeadlineSeconds" not in found, found
    else:
        message = found["spec.activeDeadlineSeconds"]
        assert "outside the 64-bit range" in message and str(INT64_MAX) in message, message
        assert len(message) < 400, "a 4000-digit number is shortened in the message"


def test_a_big_integer_parameter_value_is_text_with_its_digits() -> None:
    doc = validate(manifest({"arguments": {"parameters": [{"name": "p", "value": 10**30}]}}))
    assert doc["spec"]["arguments"]["parameters"][0]["value"] == "1" + "0" * 30


def test_bad_numbers_are_listed_at_most_twenty_times() -> None:
    doc = manifest()
    doc["metadata"]["labels"] = {f"k{i}": float("nan") for i in range(100)}
    assert len([p for p in lint(doc) if "not a number JSON" in p.message]) == 20


def _when_workflow(when: str) -> dict[str, Any]:
    return manifest({"templates": [
        {"name": "main", "steps": [[{"name": "s", "template": "z", "when": when}]]},
        {"name": "z", "container": {"image": "busybox"}}]})


def test_when_nesting_limit_is_the_evaluators() -> None:
    at_limit = "(" * MAX_WHEN_NESTING + "1" + ")" * MAX_WHEN_NESTING + " == 1"
    over = "(" + at_limit.replace(" == 1", "") + ") == 1"
    assert evaluate_when(at_limit) is True
    assert problems(_when_workflow(at_limit)) == {}
    with pytest.raises(ExpressionError, match="nested too deeply"):
        evaluate_when(over)
    message = problems(_when_workflow(over))["spec.templates[main].steps[0][s].when"]
    assert f"nests {MAX_WHEN_NESTING + 1} levels deep" in message and "write it flatter" in message
    with pytest.raises(ManifestError, match="nests 100 levels deep"):
        validate(_when_workflow(over))


def test_when_negation_limit_is_the_evaluators() -> None:
    at_limit = "!" * MAX_WHEN_PREFIXES + "true"
    assert evaluate_when(at_limit) is True  # an even number of `!`
    assert problems(_when_workflow(at_limit)) == {}
    with pytest.raises(ExpressionError, match="in a row"):
        evaluate_when("!" + at_limit)
    assert "in a row" in problems(_when_workflow("! " + at_limit))["spec.templates[main].steps[0][s].when"]
    assert evaluate_when("1 - -1 == 2") is True and problems(_when_workflow("1 - -1 == 2")) == {}


@pytest.mark.parametrize("when", ["'" + "(" * 300 + "' == x", "{{=" + "(" * 300 + "1" + ")" * 300 + "}} == 1",
                                  '"((((" != "))))"'])
def test_parentheses_in_quotes_and_tags_do_not_count(when: str) -> None:
    assert "spec.templates[main].steps[0][s].when" not in problems(_when_workflow(when))


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: dict[str, Any] | str,
         **env: str) -> tuple[int, str]:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "process")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "wf.yaml"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    result = CliRunner().invoke(cli, ["run", "-q", "-o", "name", str(path)], catch_exceptions=False)
    return result.exit_code, result.output


def _loop(count: int) -> dict[str, Any]:
    return manifest({"templates": [
        {"name": "main", "steps": [[{"name": "s", "template": "z", "withItems": list(range(count))}]]},
        {"name": "z", "container": {"image": "busybox", "command": ["true"]}}]})


@pytest.mark.parametrize("limit,env,expect", [
    ("bytes", {"CONVEYOR_MAX_MANIFEST_BYTES": "300"}, "more than the limit of 300 bytes"),
    ("values", {"CONVEYOR_MAX_MANIFEST_VALUES": "60"}, "more than 60 values"),
    ("values-yaml", {"CONVEYOR_MAX_MANIFEST_VALUES": "60"}, "more than 60 values"),
    ("loop items", {"CONVEYOR_MAX_LOOP_ITEMS": "10"}, "CONVEYOR_MAX_LOOP_ITEMS"),
    ("nodes", {"CONVEYOR_MAX_NODES": "10"}, "CONVEYOR_MAX_NODES"),
])
def test_conveyor_run_applies_the_servers_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str,
                                                 env: dict[str, str], expect: str) -> None:
    doc: dict[str, Any] | str = _loop(40)
    if limit == "values-yaml":
        doc = HEAD + "spec:\n  entrypoint: main\n  templates:\n  - {name: main, container: {image: busybox}}\n" + \
            "  arguments: {parameters: [" + ", ".join(f"{{name: p{i}, value: v}}" for i in range(20)) + "]}\n"
    code, output = _run(tmp_path, monkeypatch, doc, **env)
    assert code != 0 and expect in output, output
    assert "Traceback" not in output


def test_conveyor_run_within_the_limits_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = _run(tmp_path, monkeypatch, _loop(3), CONVEYOR_MAX_LOOP_ITEMS="3", CONVEYOR_MAX_NODES="10")
    assert code == 0, output
