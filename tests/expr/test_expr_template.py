"""`substitute` of `{{...}}` tags and `build_env` nesting of the flat scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import NOW_KEY, build_env, substitute

SCOPE: dict[str, Any] = {
    "inputs.parameters.message": "hi",
    "inputs.parameters.should-print": "true",
    "inputs.parameters.count": 3,
    "inputs.parameters.ratio": 2.0,
    "inputs.parameters.flag": False,
    "inputs.parameters.nothing": None,
    "steps.flip-coin.outputs.result": "heads",
    "steps.heads.outputs.result": "it was heads",
    "steps.tails.outputs.result": "it was tails",
    "item": {"image": "alpine", "tag": "3.19"},
    "workflow.name": "wf-x",
    "workflow.parameters.json": '[{"value": "true"}]',
    "workflow.parameters.list": ["a", "b"],
    "workflow.labels.app.kubernetes.io/name": "demo",
    NOW_KEY: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain text", "plain text"),
        ("{{inputs.parameters.message}}", "hi"),
        ("say {{ inputs.parameters.message }}!", "say hi!"),
        ("{{workflow.name}}-{{inputs.parameters.message}}", "wf-x-hi"),
        (
            "{{inputs.parameters.count}} {{inputs.parameters.ratio}} {{inputs.parameters.flag}}",
            "3 2 false",
        ),
        ("{{inputs.parameters.nothing}}", "null"),
        ("{{workflow.parameters.list}}", '["a","b"]'),
        ("{{item}}", '{"image":"alpine","tag":"3.19"}'),
        ("{{item.image}}:{{item.tag}}", "alpine:3.19"),
        ("{{item.missing}}", "{{item.missing}}"),
        ("{{steps.nope.outputs.result}}", "{{steps.nope.outputs.result}}"),
        ("{{}}", "{{}}"),
        ("{{ unclosed", "{{ unclosed"),
        ("{{{inputs.parameters.message}}}", "{hi}"),
        ("{{=inputs.parameters.message}}", "hi"),
        ("{{= inputs.parameters[\"should-print\"] == 'true'}}", "true"),
        ("{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}", "true"),
        (
            "{{=steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result}}",
            "it was heads",
        ),
        ("{{=tasks.producer.outputs.parameters.msg ?? 'expr-fallback'}}", "expr-fallback"),
        ("{{=inputs.parameters.count * 2}}", "6"),
        ("{{=3.0}}", "3"),
        ("{{=1 / 4}}", "0.25"),
        ("{{=1e21}}", "1e+21"),
        ("{{=2 ** 40}}", "1099511627776"),
        ("{{=nil}}", "null"),
        ("{{=[1, 'a']}}", '[1,"a"]'),
        ("{{={b: 2.5, a: {c: nil}}}}", '{"a":{"c":null},"b":2.5}'),
        ("{{= sprig.trim(' }} ') }}", "}}"),
        ('{{="{{x}}"}}', "{{x}}"),
        ("{{='a\\'}}b'}}", "a'}}b"),
        ("{{=`}}`}}", "}}"),
        ("{{=toJson(map([1, 2], {# * 2}))}}", "[2,4]"),
        ("{{=now().Hour()}}:{{=now().Minute()}}", "7:8"),
        ("{{=workflow.labels['app.kubernetes.io/name']}}", "demo"),
        ("{{workflow.labels.app.kubernetes.io/name}}", "demo"),
        ("a {{=1}} b {{inputs.parameters.message}} c {{=2}}", "a 1 b hi c 2"),
    ],
)
def test_substitute_string(template: str, expected: str) -> None:
    assert substitute(template, SCOPE) == expected


def test_substitute_walks_structures_and_keeps_keys() -> None:
    manifest = {
        "{{workflow.name}}": ["{{inputs.parameters.message}}", 1, None, True, {"n": "{{=1 + 1}}"}],
        "args": ("{{workflow.name}}",),
        "count": 7,
    }
    assert substitute(manifest, SCOPE) == {
        "{{workflow.name}}": ["hi", 1, None, True, {"n": "2"}],
        "args": ("wf-x",),
        "count": 7,
    }


def test_substitute_returns_new_containers() -> None:
    original = {"a": ["{{workflow.name}}"]}
    result = substitute(original, SCOPE)
    assert original == {"a": ["{{workflow.name}}"]}
    assert result is not original and result["a"] is not original["a"]


def test_a_lone_expression_tag_still_gives_text() -> None:
    assert substitute("{{=1 + 1}}", {}) == "2"
    assert substitute("{{=[1]}}", {}) == "[1]"


def test_strings_without_tags_are_returned_as_is() -> None:
    text = "no tags here"
    assert substitute(text, SCOPE) is text


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{=1 +}}", "cannot substitute '{{=1 +}}': unexpected end of expression"),
        ("{{=}}", "empty expression"),
        ("x {{= 'unterminated }}", "unterminated expression tag"),
        ("{{=nothing.x}}", "cannot fetch 'x' from nil"),
        ("{{=now()}}", "now() has no clock"),
    ],
)
def test_substitute_errors(template: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        substitute(template, {})
    assert message in str(caught.value)


def test_build_env_nests_dotted_names() -> None:
    env = build_env(
        {
            "inputs.parameters.message": "hi",
            "inputs.parameters.should-print": "true",
            "steps.flip-coin.outputs.result": "heads",
            "workflow.name": "wf",
        }
    )
    assert env == {
        "inputs": {"parameters": {"message": "hi", "should-print": "true"}},
        "steps": {"flip-coin": {"outputs": {"result": "heads"}}},
        "workflow": {"name": "wf"},
    }


def test_build_env_prefers_nested_keys_over_a_leaf() -> None:
    env = build_env({"item": '{"a":1}', "item.a": "1"})
    assert env == {"item": {"a": "1"}}


def test_build_env_keeps_a_json_string_without_nested_keys() -> None:
    assert build_env({"item": '{"a":1}'}) == {"item": '{"a":1}'}


def test_build_env_merges_a_map_item_with_nested_keys() -> None:
    env = build_env({"item": {"a": 1, "b": 2}, "item.a": "one"})
    assert env == {"item": {"a": "one", "b": 2}}


def test_build_env_keeps_label_keys_whole() -> None:
    env = build_env(
        {"workflow.labels.app.kubernetes.io/name": "demo", "workflow.annotations.a.b": "c"}
    )
    assert env == {
        "workflow": {"labels": {"app.kubernetes.io/name": "demo"}, "annotations": {"a.b": "c"}}
    }


def test_build_env_accepts_any_mapping() -> None:
    from collections import ChainMap

    assert build_env(ChainMap({"a.b": 1}, {"a.c": 2})) == {"a": {"b": 1, "c": 2}}
    assert build_env({}) == {}


def test_substitute_many_tasks_is_fast_enough() -> None:
    import time

    scope = {f"tasks.t{i}.outputs.result": str(i) for i in range(2000)} | SCOPE
    template = {
        "args": ["{{inputs.parameters.message}}", "--n={{=asInt(tasks.t5.outputs.result) + 1}}"],
        "x": "no tags",
    }
    start = time.perf_counter()
    for _ in range(200):
        assert substitute(template, scope)["args"][1] == "--n=6"
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        ("inputs.parameters.message", {("inputs", "parameters", "message")}),
        ("steps['flip-coin'].outputs.result == 'x'", {("steps", "flip-coin", "outputs", "result")}),
        ("a?.b ?? c.d", {("a", "b"), ("c", "d")}),
        ("steps[name].outputs", {("steps",), ("name",)}),
        ("xs[0] + len(m)", {("xs",), ("m",)}),
        ("filter(people, .age > limit)", {("people",), ("limit",)}),
        ("let x = inputs; x.a", {("inputs",)}),
        ("sprig.trim(s)", {("sprig",), ("s",)}),
        ("1 + 2", set()),
        ("$env['a.b']", None),
    ],
)
def test_referenced_paths(expression: str, paths: set[tuple[str, ...]] | None) -> None:
    from conveyor.expr._refs import referenced_paths

    found = referenced_paths(expression)
    assert (None if found is None else set(found)) == paths


ENGINE_SCOPE: dict[str, Any] = {
    # the shapes the engine produces, including names that are both a value and a prefix
    "inputs.parameters": '[{"name":"a","value":"1"}]',
    "inputs.parameters.a": "1",
    "inputs.artifacts.art": {"name": "art", "path": "/tmp/a"},
    "inputs.artifacts.art.path": "/tmp/a",
    "tasks.gen.outputs.parameters": '{"msg":"hello"}',
    "tasks.gen.outputs.parameters.msg": "hello",
    "tasks.gen.outputs.result": "out",
    "tasks.gen.status": "Succeeded",
    "tasks.other.status": "Failed",
    "item": {"x": 1},
    "item.x": "1",
    "workflow.labels.app.kubernetes.io/name": "demo",
    "workflow.name": "wf",
    NOW_KEY: datetime(2024, 1, 1, tzinfo=UTC),
}


@pytest.mark.parametrize(
    "expression",
    [
        "inputs.parameters",
        "inputs.parameters.a",
        "inputs.parameters['a'] + 'x'",
        "inputs.artifacts.art",
        "inputs.artifacts.art.path",
        "tasks.gen.outputs.parameters",
        "tasks.gen.outputs.parameters.msg",
        "tasks.gen.outputs",
        "tasks",
        "keys(tasks)",
        "tasks['gen'].status",
        "tasks.missing.outputs.result ?? 'fallback'",
        "tasks.gen.outputs.parameters.nope ?? 'fallback'",
        "item",
        "item.x",
        "workflow.labels['app.kubernetes.io/name']",
        "workflow",
        "now().Year()",
        "nothing",
        "$env.workflow.name",
        "let t = tasks; t.gen.status",
        "map(['gen', 'other'], tasks[#].status)",
    ],
)
def test_evaluate_in_scope_matches_a_full_environment(expression: str) -> None:
    from conveyor.expr import evaluate, evaluate_in_scope

    assert evaluate_in_scope(expression, ENGINE_SCOPE) == evaluate(
        expression, build_env(ENGINE_SCOPE)
    )


def test_evaluate_in_scope_errors_like_evaluate() -> None:
    from conveyor.expr import evaluate_in_scope

    with pytest.raises(ExpressionError, match="cannot fetch 'x' from nil"):
        evaluate_in_scope("nothing.x", ENGINE_SCOPE)
    with pytest.raises(ExpressionError, match="must be a string"):
        evaluate_in_scope(None, ENGINE_SCOPE)  # type: ignore[arg-type]
