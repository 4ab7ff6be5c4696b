"""expr-lang evaluation: literals, operators, member access and error messages."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import build_env, evaluate

ENV = build_env(
    {
        "inputs.parameters.message": "hi",
        "inputs.parameters.should-print": "true",
        "inputs.parameters.x": "41",
        "steps.flip-coin.outputs.result": "heads",
        "steps.heads.outputs.result": "it was heads",
        "steps.tails.outputs.result": "it was tails",
        "tasks.flip-coin.outputs.result": "tails",
        "tasks.heads.outputs.result": "H",
        "tasks.tails.outputs.result": "T",
        "lastRetry.exitCode": "2",
        "lastRetry.status": "Failed",
        "lastRetry.duration": "30",
        "lastRetry.message": "pod deleted",
        "nums": [1, 2, 3, 4],
        "people": [{"name": "ann", "age": 31}, {"name": "bob", "age": 17}],
        "m": {"a": 1, "b": None},
        "empty": None,
    }
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # literals
        ("42", 42),
        ("0x2A", 42),
        ("0b101010", 42),
        ("1_000", 1000),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("'single'", "single"),
        ('"double"', "double"),
        (r'"tab\there"', "tab\there"),
        (r"'it\'s'", "it's"),
        (r'"\u00e9\x41\101"', "éAA"),
        ("`raw\\n`", "raw\\n"),
        ("true", True),
        ("false", False),
        ("nil", None),
        ("[1, 'a', nil]", [1, "a", None]),
        ("[1, 2,]", [1, 2]),
        ("{a: 1, 'b': 2, \"c d\": 3, (1 + 1): 4}", {"a": 1, "b": 2, "c d": 3, 2: 4}),
        ("{}", {}),
        ("1 /* comment */ + 1 // trailing", 2),
        # arithmetic with Go semantics
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("2 ** 10", 1024.0),
        ("2 ^ 3", 8.0),
        ("2 ** 3 ** 2", 512.0),
        ("-2 ** 2", -4.0),
        ("-(1 + 2)", -3),
        ("+3", 3),
        ("1 + 2.5", 3.5),
        ("'a' + 'b'", "ab"),
        ("[1] + [2]", [1, 2]),
        # comparisons
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("true == 1", False),
        ("nil == nil", True),
        ("nil != 0", True),
        ("[1, 2] == [1, 2]", True),
        ("{a: 1} == {a: 1}", True),
        ("'a' < 'b'", True),
        ("2 >= 2", True),
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("1 < 5 <= 5", True),
        # logic
        ("true && false", False),
        ("true and true", True),
        ("false || true", True),
        ("false or false", False),
        ("!true", False),
        ("not false", True),
        ("!(1 == 2)", True),
        ("false && nil", False),  # short-circuit: the right side is never checked
        ("true || nil", True),
        # membership and strings
        ("2 in [1, 2]", True),
        ("'a' in {a: 1}", True),
        ("3 not in [1, 2]", True),
        ("'x' in nil", False),
        ("'hello' contains 'ell'", True),
        ("'hello' startsWith 'he'", True),
        ("'hello' endsWith 'lo'", True),
        ("'hello' not contains 'z'", True),
        ("'pod deleted' matches 'imminent node shutdown|pod deleted'", True),
        ("'abc' not matches '^b'", True),
        # ranges, slices, indexes
        ("1..3", [1, 2, 3]),
        ("3..1", []),
        ("nums[0]", 1),
        ("nums[-1]", 4),
        ("nums[1:3]", [2, 3]),
        ("nums[:2]", [1, 2]),
        ("nums[2:]", [3, 4]),
        ("nums[:]", [1, 2, 3, 4]),
        ("nums[1:-1]", [2, 3]),
        ("nums[3:1]", []),
        ("nums[-10:10]", [1, 2, 3, 4]),
        ("'hello'[1:3]", "el"),
        ("'hello'[0]", "h"),
        # conditionals and nil handling
        ("1 < 2 ? 'yes' : 'no'", "yes"),
        ("false ? 1 : true ? 2 : 3", 2),
        ("true ?: false", True),
        ("m.b ?? 'fallback'", "fallback"),
        ("m.a ?? 'fallback'", 1),
        ("m.missing", None),
        ("nothing", None),
        ("nothing?.deeper", None),
        ("nothing?.deeper.deepest", None),
        ("nothing?.[0]", None),
        ("nothing.a.b.c ?? 'deep fallback'", "deep fallback"),
        ("empty ?? 'e'", "e"),
        ("'' ?? 'not nil'", ""),
        # let and pipes
        ("let x = 2; let y = x * 3; x + y", 8),
        ("'A B' | lower() | split(' ')", ["a", "b"]),
        ("nums | filter(# > 2) | map(# * 10)", [30, 40]),
        ("nums | count(# > 1)", 3),
        ("$env.m.a", 1),
        ("'m' in $env", True),
    ],
)
def test_evaluate(expression: str, expected: Any) -> None:
    result = evaluate(expression, ENV)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # from examples/conditional-parameters.yaml and dag-conditional-parameters.yaml
        (
            "steps['flip-coin'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result",
            "it was heads",
        ),
        (
            "tasks['flip-coin'].outputs.result == 'heads' ? tasks.heads.outputs.result : tasks.tails.outputs.result",
            "T",
        ),
        # examples/skipped-output-defaults/expression-fallback.yaml: the producer never ran
        ("tasks.producer.outputs.parameters.msg ?? 'expr-fallback'", "expr-fallback"),
        # examples/conditionals.yaml
        ("inputs.parameters[\"should-print\"] == 'true'", True),
        # examples/retry-conditional.yaml after the {{...}} pass
        (
            'asInt(lastRetry.exitCode) > 1 && lastRetry.status != "Error" && asInt(lastRetry.duration) < 120 '
            "&& (false == true || lastRetry.message matches 'imminent node shutdown|pod deleted')",
            True,
        ),
        ("asInt(inputs.parameters.x) + 1", 42),
        ("map(people, .name)", ["ann", "bob"]),
        ("filter(people, .age >= 18)[0].name", "ann"),
        ("map(filter(people, {.age < 18}), {upper(#.name)})", ["BOB"]),
    ],
)
def test_argo_example_expressions(expression: str, expected: Any) -> None:
    assert evaluate(expression, ENV) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty expression"),
        ("1 +", "unexpected end of expression at column 4"),
        ("(1", "expected ')' but found end of expression"),
        ("1 2", "unexpected 2 at column 3"),
        ("'abc", "unterminated string at column 1"),
        (r"'\d'", "invalid escape \\d"),
        ("a ! b", "unexpected '!'"),
        ("a not b", "unexpected 'b' after 'not'"),
        ("foo(1)", "unknown function foo() at column 1"),
        ("#", "only be used inside a predicate"),
        ("filter(nums)", "filter() needs a predicate"),
        ("filter(nums, #bogus)", "unknown pointer '#bogus'"),
        ("1 | 2", "the right side of '|' must be a function call"),
        ("{a 1}", "expected ':'"),
        ("99999999999999999999999", "integer literal is too large"),
        ("1e999", "float literal is too large"),
        ("@", "unexpected character '@'"),
        ("x = 1", "unexpected '='"),
        ("(" * 200 + "1" + ")" * 200, "nested too deeply"),
        # runtime errors name the column of the failing node
        ("nothing.x", "cannot fetch 'x' from nil at column 9"),
        ("m.a.b", "cannot fetch 'b' from int"),
        ("nums[10]", "index out of range: 10 (length is 4)"),
        ("nums['a']", "an index must be an int"),
        ("1 + 'a'", "invalid operation: int + string at column 3"),
        ("'a' < 1", "invalid operation: string < int"),
        ("1 / 0", "division by zero"),
        ("1 % 0", "integer divide by zero"),
        ("1.5 % 1", "% needs two ints"),
        ("1 && true", "operator '&&' needs a bool, got int"),
        ("!'x'", "operator '!' needs a bool, got string"),
        ("nil ? 1 : 2", "the condition of '?:' needs a bool, got nil"),
        ("-'x'", "invalid operation: -string"),
        ("1 in 'abc'", "operator 'in' needs an array or a map"),
        ("'a' matches '('", "invalid regular expression '('"),
        ("1 contains 'a'", "needs two strings"),
        ("1..'a'", "a range needs two ints"),
        ("0..10000000", "too large"),
        ("9223372036854775807 + 1", "integer overflow"),
        ("10.0 ** 400", "out of range"),
        ("{[1]: 2}", "a map key must be a name, a string, a number or (expression)"),
        ("{([1]): 2}", "cannot use array as a map key"),
        ("sprig.trim", "sprig.trim is a function"),
        ("m.keys()", "map has no method keys()"),
        ("nothing.x()", "cannot call x() on nil"),
        ("filter(nums, # + 1)", "the predicate of filter() needs a bool, got int"),
        ("reduce([], #acc + #)", "reduce() of an empty array needs an initial value"),
    ],
)
def test_errors_name_the_problem(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, ENV)
    assert message in str(caught.value)


def test_error_message_names_the_expression() -> None:
    with pytest.raises(ExpressionError, match=r"in expression 'nums\[10\]'"):
        evaluate("nums[10]", ENV)


def test_long_expressions_are_shortened_in_messages() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate("1 + " + "1 + " * 500 + "'x'", {})
    assert len(str(caught.value)) < 400


def test_non_string_expression_is_rejected() -> None:
    with pytest.raises(ExpressionError, match="must be a string"):
        evaluate(42, {})  # type: ignore[arg-type]


def test_very_long_chains_fail_cleanly() -> None:
    with pytest.raises(ExpressionError, match="too deeply"):
        evaluate(" + ".join(["1"] * 20000), {})


def test_env_may_be_any_mapping() -> None:
    from collections import ChainMap

    env = ChainMap({"a": 1}, {"b": 2})
    assert evaluate("a + b", env) == 3


def test_unknown_identifier_is_nil_and_sprig_is_a_namespace() -> None:
    assert evaluate("unknown == nil", {}) is True
    assert evaluate("sprig.upper('x')", {}) == "X"


def test_parsed_expressions_are_cached() -> None:
    from conveyor.expr._parser import parse

    assert parse("1 + 2") is parse("1 + 2")
