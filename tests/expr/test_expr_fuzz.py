"""Property tests: any input to a parser or evaluator fails with ExpressionError or not at all."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.errors import ExpressionError
from conveyor.expr import (
    NOW_KEY,
    build_env,
    compile_depends,
    evaluate,
    evaluate_in_scope,
    evaluate_when,
    substitute,
)
from conveyor.expr._builtins import FUNCTIONS
from conveyor.expr._sprig import FUNCS as SPRIG_FUNCS

# CONVEYOR_FUZZ_EXAMPLES=5000 runs a deeper search than the default, quick one.
FUZZ = settings(
    max_examples=int(os.environ.get("CONVEYOR_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ENV: dict[str, Any] = {
    NOW_KEY: datetime(2024, 1, 1, tzinfo=UTC),
    "a": 1,
    "b": 2.5,
    "s": "text",
    "t": True,
    "xs": [1, 2, 3],
    "m": {"k": "v", "n": None, "inner": {"x": [1, {"y": 2}]}},
    "people": [{"name": "ann", "age": 3}, {"name": "bob", "age": 4}],
    "j": '{"a": [1, 2, {"b": "c"}]}',
    "when": datetime(2023, 1, 1, tzinfo=UTC),
    "d": timedelta(seconds=90),
}

EXPR_TOKENS = [
    *"a b s t xs m people j when d nil true false sprig".split(),
    *"1 0 -1 2.5 1e3 0x1F 'x' \"y\" `z` '' '\\n'".split(),
    *"+ - * / % ** ^ == != < <= > >= && || ! ? : ?? ?. . .. , ( ) [ ] { } | # #index #acc $env ; =".split(),
    *"and or not in matches contains startsWith endsWith let".split(),
    *"len( int( float( string( upper( trim( split( join( filter( map( all( any( count( reduce( sum(".split(),
    *"jsonpath( toJSON( toJson( fromJSON( keys( values( now() duration( date( max( min( abs( asInt(".split(),
    *"sprig.trim( sprig.int( sprig.add( sprig.seq( sprig.dict( sprig.regexFind( .Seconds() .Year()".split(),
    *"'$.a[0]' '$..b' '$[?(@.x>1)]' '^a' '(' [1,2] {k:1}".split(),
]
expr_soup = st.lists(st.sampled_from(EXPR_TOKENS), max_size=14)


def _only_expression_errors(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except ExpressionError:
        pass


@FUZZ
@given(st.text(max_size=60))
def test_evaluate_random_text(text: str) -> None:
    _only_expression_errors(evaluate, text, ENV)


@FUZZ
@given(expr_soup, st.sampled_from([" ", ""]))
def test_evaluate_token_soup(tokens: list[str], sep: str) -> None:
    _only_expression_errors(evaluate, sep.join(tokens), ENV)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            ["{{", "}}", "{{=", "=", "'", '"', "`", "{", "}", "a", "xs[0]", " ", "1+", "s"]
        ),
        max_size=16,
    )
)
def test_substitute_random_templates(parts: list[str]) -> None:
    scope = {"a": "1", "s": "text", "xs": [1, 2], NOW_KEY: ENV[NOW_KEY]}
    _only_expression_errors(substitute, {"k": ["".join(parts)]}, scope)


@FUZZ
@given(st.text(max_size=60))
def test_substitute_random_text(text: str) -> None:
    _only_expression_errors(substitute, text, {"a": "1"})


WHEN_TOKENS = [
    *"heads tails Succeeded true false 1 2.5 0x10 1.2.3 'a' \"b\" [x-y] a\\-b".split(),
    *"== != < <= > >= =~ !~ && || ! + - * / % ** ( ) , ? : ?? in = { }".split(),
]


@FUZZ
@given(st.lists(st.sampled_from(WHEN_TOKENS), max_size=12))
def test_when_token_soup(tokens: list[str]) -> None:
    _only_expression_errors(evaluate_when, " ".join(tokens))


@FUZZ
@given(st.text(max_size=40))
def test_when_random_text(text: str) -> None:
    _only_expression_errors(evaluate_when, text)


DEPENDS_TOKENS = [
    "A",
    "B",
    "task-2",
    "A.Succeeded",
    "B.Failed",
    "C.AnySucceeded",
    "X.Bogus",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "&",
    ".",
]


@FUZZ
@given(st.lists(st.sampled_from(DEPENDS_TOKENS), max_size=12), st.sampled_from([" ", ""]))
def test_depends_token_soup(tokens: list[str], sep: str) -> None:
    try:
        depends = compile_depends(sep.join(tokens))
    except ExpressionError:
        return
    assert isinstance(depends.evaluate(lambda task, result: task in depends.task_names), bool)


@FUZZ
@given(st.text(max_size=40))
def test_depends_random_text(text: str) -> None:
    _only_expression_errors(compile_depends, text)


JSONPATH_TOKENS = [
    *"$ . .. * [ ] ( ) ?( @ , : - 0 1 -1 a b 'a' \"b\" length == != < > && || ! =~ /a/ + true null".split()
]


@FUZZ
@given(st.lists(st.sampled_from(JSONPATH_TOKENS), max_size=12))
def test_jsonpath_token_soup(tokens: list[str]) -> None:
    env = {"doc": '{"a": [1, {"b": 2}], "b": {"a": "x"}}', "p": "".join(tokens)}
    _only_expression_errors(evaluate, "jsonpath(doc, p)", env)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=8,
)
any_value = json_values | st.datetimes(timezones=st.just(UTC)) | st.timedeltas()


@FUZZ
@given(st.sampled_from(FUNCTIONS.names()), st.lists(any_value, max_size=4))
def test_builtins_with_random_arguments(name: str, args: list[Any]) -> None:
    env = {f"v{i}": v for i, v in enumerate(args)} | {NOW_KEY: ENV[NOW_KEY]}
    _only_expression_errors(evaluate, f"{name}({', '.join(env_names(args))})", env)


@FUZZ
@given(st.sampled_from(SPRIG_FUNCS.names()), st.lists(any_value, max_size=4))
def test_sprig_with_random_arguments(name: str, args: list[Any]) -> None:
    env = {f"v{i}": v for i, v in enumerate(args)}
    _only_expression_errors(evaluate, f"sprig.{name}({', '.join(env_names(args))})", env)


def env_names(args: list[Any]) -> list[str]:
    return [f"v{i}" for i in range(len(args))]


@FUZZ
@given(json_values)
def test_json_round_trip(value: Any) -> None:
    try:
        text = evaluate("toJson(v)", {"v": value})
    except ExpressionError:
        return  # NaN and infinities have no JSON form
    assert evaluate("toJson(fromJSON(s))", {"s": text}) == text


@FUZZ
@given(
    st.sampled_from(["+", "-", "*", "/", "%", "**", "==", "<", "in", ".."]), any_value, any_value
)
def test_binary_operators_with_random_operands(op: str, left: Any, right: Any) -> None:
    _only_expression_errors(evaluate, f"l {op} r", {"l": left, "r": right})


names = st.sampled_from(["a", "b", "c-d", "item", "inputs", "parameters", "x"])
scopes = st.dictionaries(
    st.lists(names, min_size=1, max_size=3).map(".".join), st.text(max_size=3), max_size=8
)


@FUZZ
@given(scopes, st.lists(names, min_size=1, max_size=4))
def test_narrowed_scope_gives_the_same_answer(scope: dict[str, str], path: list[str]) -> None:
    # Plain values that are also prefixes of other names are the one case where
    # narrowing takes the value as is; Argo's own scopes never contain them.
    if any(other.startswith(name + ".") for name in scope for other in scope):
        return
    expression = path[0] + "".join(f"[{p!r}]" for p in path[1:])
    try:
        expected = evaluate(expression, build_env(scope))
    except ExpressionError:
        try:
            evaluate_in_scope(expression, scope)
        except ExpressionError:
            return
        raise AssertionError("narrowing hid an error") from None
    assert evaluate_in_scope(expression, scope) == expected
