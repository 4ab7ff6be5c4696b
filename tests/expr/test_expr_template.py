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
        ("{{inputs.parameters.count}} {{inputs.parameters.ratio}} {{inputs.parameters.flag}}", "3 2 false"),
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
        ("{{=\"{{x}}\"}}", "{{x}}"),
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
    env = build_env({"workflow.labels.app.kubernetes.io/name": "demo", "workflow.annotations.a.b": "c"})
    assert env == {"workflow": {"labels": {"app.kubernetes.io/name": "demo"}, "annotations": {"a.b": "c"}}}


def test_build_env_accepts_any_mapping() -> None:
    from collections import ChainMap

    assert build_env(ChainMap({"a.b": 1}, {"a.c": 2})) == {"a": {"b": 1, "c": 2}}
    assert build_env({}) == {}


def test_substitute_many_tasks_is_fast_enough() -> None:
    import time

    scope = {f"tasks.t{i}.outputs.result": str(i) for i in range(2000)} | SCOPE
    template = {"args": ["{{inputs.parameters.message}}", "--n={{=asInt(tasks.t5.outputs.result) + 1}}"], "x": "no tags"}
    start = time.perf_counter()
    for _ in range(200):
        assert substitute(template, scope)["args"][1] == "--n=6"
    assert time.perf_counter() - start < 5
