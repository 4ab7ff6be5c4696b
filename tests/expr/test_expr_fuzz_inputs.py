"""Property tests for hostile input the token-soup tests in test_expr_fuzz.py do not reach.

Each test feeds one parser structured garbage (whole expressions inside `{{=...}}`
tags, duration strings, regular expressions, JSON documents) and accepts only two
outcomes: an answer, or `ExpressionError`. Hypothesis' deadline turns an input that
takes seconds (a regex that backtracks, a loop without a bound) into a failure too.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.errors import ExpressionError
from conveyor.expr import NOW_KEY, evaluate, evaluate_in_scope, evaluate_when, substitute
from conveyor.expr._timefn import parse_duration

# CONVEYOR_FUZZ_EXAMPLES=5000 runs a deeper search than the default, quick one.
FUZZ = settings(
    max_examples=int(os.environ.get("CONVEYOR_FUZZ_EXAMPLES", "200")),
    # Generous for a loaded CI machine, far below what a runaway input takes.
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _answer_or_expression_error(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except ExpressionError as exc:
        assert exc.message, "an ExpressionError must say what is wrong"
        return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=10,
)
scope_values = (
    json_values
    | st.datetimes(timezones=st.none() | st.just(UTC))
    | st.timedeltas()
    | st.tuples(st.integers(), st.text(max_size=3))
)
names = st.sampled_from(
    ["a", "b", "item", "inputs.parameters.x", "steps.s.outputs.result", "tasks.t-1.ip", "workflow.name"]
)
scopes = st.dictionaries(names, scope_values, max_size=6).map(lambda s: {**s, NOW_KEY: NOW})

# Pieces of whole expressions: literals, operators, calls, closures, member access.
EXPR_PIECES = [
    *"a b item inputs.parameters.x steps.s.outputs.result tasks['t-1'].ip workflow.name".split(),
    *"1 -1 0.5 1e308 0x7fffffffffffffff 9223372036854775807 'x' \"}}\" `{{` '{' nil true".split(),
    *"+ - * / % ** == != < >= && || ! ?: ?? ?. . .. , ( ) [ ] { } : | # $env let ; = in not".split(),
    *"len( string( int( float( toJson( fromJSON( jsonpath( split( join( keys( map( filter( all(".split(),
    *"sprig.trim( sprig.int( sprig.toJson( sprig.dict( sprig.list( sprig.b64enc( now() duration(".split(),
    *"sprig.regexFind( sprig.regexReplaceAll( sprig.default( sprig.ternary( sprig.repeat( .String()".split(),
]
expressions = st.lists(st.sampled_from(EXPR_PIECES), max_size=12).map(" ".join)


@FUZZ
@given(expressions, scopes)
def test_expression_tags_with_any_body(body: str, scope: dict[str, Any]) -> None:
    result = _answer_or_expression_error(
        substitute, {"args": [f"pre {{{{={body}}}}} post", f"{{{{= {body} }}}}"]}, scope
    )
    if result is not None:
        assert all(isinstance(text, str) for text in result["args"])


@FUZZ
@given(st.lists(st.sampled_from(["{{", "}}", "{{=", " ", "a", "item.0", "inputs.parameters.x", "."]), max_size=10), scopes)
def test_simple_tags_render_any_value(parts: list[str], scope: dict[str, Any]) -> None:
    # Every value a scope may hold (floats such as NaN, datetimes, nested maps) renders as text.
    result = _answer_or_expression_error(substitute, "".join(parts), scope)
    assert result is None or isinstance(result, str)


@FUZZ
@given(expressions, scopes)
def test_evaluate_in_scope_with_any_expression(expression: str, scope: dict[str, Any]) -> None:
    _answer_or_expression_error(evaluate_in_scope, expression, scope)


@FUZZ
@given(st.text(max_size=40), scopes)
def test_evaluate_in_scope_with_random_text(expression: str, scope: dict[str, Any]) -> None:
    _answer_or_expression_error(evaluate_in_scope, expression, scope)


# -- durations (Go's time.ParseDuration) ---------------------------------------------------
DURATION_PIECES = [
    *"0 1 9 00 123 1.5 .5 5. 1e3 99999999999999999999 -".split(),
    *"+ ns us µs μs ms s m h d y . e E x".split(),
    " ",
]
durations = st.lists(st.sampled_from(DURATION_PIECES), max_size=8).map("".join)


@FUZZ
@given(durations | st.text(max_size=20))
def test_duration_strings(text: str) -> None:
    value = _answer_or_expression_error(evaluate, "duration(d)", {"d": text})
    if value is None:
        return
    assert isinstance(value, timedelta)
    assert parse_duration(text) == value
    # Its methods and its rendering accept every duration that parses.
    for method in ("String", "Seconds", "Minutes", "Hours", "Milliseconds", "Nanoseconds", "Abs"):
        _answer_or_expression_error(evaluate, f"duration(d).{method}()", {"d": text})
    _answer_or_expression_error(evaluate, "string(duration(d))", {"d": text})


@FUZZ
@given(durations, st.datetimes(timezones=st.none() | st.just(UTC)))
def test_time_arithmetic_with_any_duration(text: str, when: datetime) -> None:
    env = {"d": text, "t": when, NOW_KEY: NOW}
    for expression in ("t.Add(d)", "t + duration(d)", "t - duration(d)", "now().Sub(t)", "t.String()"):
        _answer_or_expression_error(evaluate, expression, env)


# -- regular expressions ---------------------------------------------------------------------
REGEX_PIECES = [
    *"a b . * + ? *? +? | ^ $ ( ) (?: (?i) (?P<n> [ ] [^ - \\ \\d \\w \\s \\b \\1 \\z".split(),
    *"{ } {2} {2,} {1,3} {99999} (?= (?! (?<= \\p{L} \\pL [[:alpha:]] $1 ${n}".split(),
]
regexes = st.lists(st.sampled_from(REGEX_PIECES), max_size=10).map("".join)
subjects = st.text(alphabet="ab!-_ \n", max_size=30)
REGEX_USES = [
    "s matches rx",
    "sprig.regexMatch(rx, s)",
    "sprig.regexFind(rx, s)",
    "sprig.regexFindAll(rx, s, -1)",
    "sprig.regexSplit(rx, s, -1)",
    "sprig.regexReplaceAll(rx, s, '[$1${n}$$]')",
    "sprig.regexReplaceAllLiteral(rx, s, '$1')",
]


@FUZZ
@given(st.sampled_from(REGEX_USES), regexes | st.text(max_size=12), subjects)
def test_any_pattern_in_any_regex_function(use: str, rx: str, s: str) -> None:
    _answer_or_expression_error(evaluate, use, {"rx": rx, "s": s})


@FUZZ
@given(regexes, subjects, st.sampled_from(["=~", "!~"]))
def test_any_pattern_in_when(rx: str, s: str, op: str) -> None:
    # `when:` sees the condition after substitution: both sides are bare or quoted words.
    _answer_or_expression_error(evaluate_when, f"{s!r} {op} {rx!r}")


@pytest.mark.parametrize("use", REGEX_USES)
def test_a_backtracking_pattern_answers_at_once(use: str) -> None:
    # Argo evaluates with Go's RE2, which runs in linear time: `(a+)+$` against
    # "aaa…!" must not take exponential time (with Python's `re` it never ends).
    env = {"rx": "(a+)+$", "s": "a" * 64 + "!"}
    started = time.monotonic()
    _answer_or_expression_error(evaluate, use, env)
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    assert evaluate_when("'" + "a" * 64 + "!' =~ '(a+)+$'") is False
    assert time.monotonic() - started < 1.0


# -- JSON and jsonpath over any document ---------------------------------------------------------
JSONPATH_PIECES = [
    *"$ . .. * [ ] [0] [-1] [0:2] [::-1] [*] ['a'] [\"b\"] [0,1] a b length".split(),
    *"[?(@.a)] [?(@.a>1)] [?(@.b=='x')] [?(@.a=~/x/)] [?(!@.a)] [?(@..a)] [(@.length-1)]".split(),
]


@FUZZ
@given(json_values, st.lists(st.sampled_from(JSONPATH_PIECES), max_size=6).map("".join))
def test_jsonpath_over_any_document(document: Any, path: str) -> None:
    text = _answer_or_expression_error(evaluate, "toJson(v)", {"v": document})
    if text is None:
        return  # NaN and infinities have no JSON form
    _answer_or_expression_error(evaluate, "jsonpath(doc, p)", {"doc": text, "p": path})
    _answer_or_expression_error(evaluate, "jsonpath(fromJSON(doc), p)", {"doc": text, "p": path})


@FUZZ
@given(st.text(alphabet='{}[]:,"0123456789.-+eEtruefalsn \\', max_size=40))
def test_from_json_with_any_text(text: str) -> None:
    for expression in ("fromJSON(s)", "sprig.fromJson(s)", "sprig.mustFromJson(s)", "jsonpath(s, '$')"):
        _answer_or_expression_error(evaluate, expression, {"s": text})
