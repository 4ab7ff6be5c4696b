"""`when:` conditions after substitution (govaluate rules, bare words are strings)."""

from __future__ import annotations

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import evaluate_when, substitute


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # the shapes Argo's examples produce after {{...}} substitution
        ("heads == heads", True),
        ("tails == heads", False),
        ("tails != heads", True),
        ("Succeeded == Succeeded", True),
        ("Failed != Succeeded", True),
        ("YES == YES", True),
        ("even == even", True),
        ("true == true", True),
        ("5 < 10", True),
        ("10 < 9", False),
        ("3 < 10", True),  # numbers, not strings: "3" > "10" as text
        ("5 == 5.0", True),
        ("'5' == 5", False),
        ('"a" == "a"', True),
        ("'a b' == 'a b'", True),
        ("true", True),
        ("false", False),
        (" true ", True),
        ("(true)", True),
        ("!false", True),
        ("!(1 > 2)", True),
        ("1 < 2 && 2 < 3", True),
        ("1 > 2 || 2 < 3", True),
        ("false && (1 / 0 > 1)", False),  # short-circuit
        ("a == a && (b == c || d != e)", True),
        ("v1.2 == v1.2", True),
        ("some_word == some_word", True),
        ("héllo == héllo", True),
        ("[foo-bar] == 'foo-bar'", True),
        ("foo\\-bar == 'foo-bar'", True),
        ("abc =~ '^a'", True),
        ("abc !~ '^b'", True),
        ("'pod deleted' =~ 'imminent node shutdown|pod deleted'", True),
        ("heads in (heads, tails)", True),
        ("3 in (1, 2)", False),
        ("x in (x)", True),
        ("1 + 2 == 3", True),
        ("2 * 3 - 1 == 5", True),
        ("7 % 4 == 3", True),
        ("2 ** 3 == 8", True),
        ("-1 < 0", True),
        ("a + b == ab", True),
        ("'x' + 1 == x1", True),
        ("0x10 == 16", True),
        ("b > a", True),
        ("true ? true : false", True),
        ("1 > 2 ? true : false", False),
    ],
)
def test_evaluate_when(condition: str, expected: bool) -> None:
    assert evaluate_when(condition) is expected


@pytest.mark.parametrize(
    ("template", "scope", "expected"),
    [
        (
            "{{steps.flip-coin.outputs.result}} == heads",
            {"steps.flip-coin.outputs.result": "heads"},
            True,
        ),
        (
            "{{tasks.flip-coin.outputs.result}} == tails",
            {"tasks.flip-coin.outputs.result": "heads"},
            False,
        ),
        ("{{workflow.status}} != Succeeded", {"workflow.status": "Failed"}, True),
        (
            "{{steps.flakey-container.status}} == Failed",
            {"steps.flakey-container.status": "Failed"},
            True,
        ),
        (
            "{{steps.iterate-counter.outputs.result}} < {{inputs.parameters.limit}}",
            {"steps.iterate-counter.outputs.result": "9", "inputs.parameters.limit": "10"},
            True,
        ),
        (
            "{{inputs.parameters.should-print}} == true",
            {"inputs.parameters.should-print": "true"},
            True,
        ),
        ("{{item.evenness}} == even", {"item": {"evenness": "even"}}, True),
        (
            "{{steps.approval.outputs.parameters.approve}} == YES",
            {"steps.approval.outputs.parameters.approve": "NO"},
            False,
        ),
        (
            "{{= inputs.parameters[\"should-print\"] == 'true'}}",
            {"inputs.parameters.should-print": "true"},
            True,
        ),
        (
            "{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}",
            {"workflow.parameters.json": '[{"value": "false"}]'},
            False,
        ),
    ],
)
def test_argo_examples_after_substitution(
    template: str, scope: dict[str, object], expected: bool
) -> None:
    assert evaluate_when(substitute(template, scope)) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("", "unexpected end of condition"),
        ("5", "gave '5', not true or false"),
        ("heads", "gave 'heads', not true or false"),
        (
            "hello-world == hello-world",
            "value 'hello' cannot be used with -: it is not a number (quote text values)",
        ),
        ("a = b", "invalid token '=' (hint: wrap the value in quotes)"),
        ("a == ", "unexpected end of condition"),
        ("(a == a", "missing ')'"),
        ("a == a)", "unexpected ')'"),
        ("a b", "unexpected 'b'"),
        ("1.2.3 == 1", "cannot parse number '1.2.3'"),
        ("1 && true", "value '1' cannot be used with &&: it is not a boolean"),
        ("!x", "cannot be used with !"),
        ("a < 1", "both must be numbers or both strings"),
        ("1 =~ 'x'", "operator =~ needs two strings"),
        ("a =~ '('", "invalid regular expression"),
        ("1 / 0 == 1", "division by zero"),
        ("10 ** 400 > 1", "out of range"),
        ("(" * 150 + "true" + ")" * 150, "nested too deeply"),
        ("{{steps.x.outputs.result}} == heads", "invalid token '{'"),
    ],
)
def test_errors(condition: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate_when(condition)
    assert message in str(caught.value)
    assert repr(condition[:20])[:-1] in str(caught.value)


def test_non_string_is_rejected() -> None:
    with pytest.raises(ExpressionError, match="must be a string"):
        evaluate_when(True)  # type: ignore[arg-type]
