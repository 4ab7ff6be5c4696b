"""Builtin, Argo and time functions callable from expressions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import NOW_KEY, evaluate

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
ENV: dict[str, Any] = {
    NOW_KEY: NOW,
    "items": [3, 1, 2],
    "users": [{"name": "ann", "age": 31}, {"name": "bob", "age": 17}, {"name": "cy", "age": 31}],
    "cronworkflow": {"lastScheduledTime": datetime(2024, 3, 1, 11, 50, tzinfo=UTC)},
    "never": {"lastScheduledTime": None},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # conversion
        ("int('42')", 42),
        ("int('-7')", -7),
        ("int(3.9)", 3),
        ("int(-3.9)", -3),
        ("asInt('5') + 1", 6),
        ("float('1.5')", 1.5),
        ("float(2)", 2.0),
        ("asFloat('2.5') * 2", 5.0),
        ("string(1)", "1"),
        ("string(1.0)", "1"),
        ("string(1e6)", "1e+06"),
        ("string(123456.5)", "123456.5"),
        ("string(0.00001)", "1e-05"),
        ("string(true)", "true"),
        ("string(nil)", "<nil>"),
        ("string([1, 'a'])", "[1 a]"),
        ("string({b: 2, a: 1})", "map[a:1 b:2]"),
        ("type(1)", "int"),
        ("type('x')", "string"),
        ("type([])", "array"),
        ("type({})", "map"),
        ("type(nil)", "nil"),
        # JSON
        ("toJSON([1, 2])", "[\n  1,\n  2\n]"),
        ("toJSON({})", "{}"),
        ("toJson({b: [1, 2.0], a: 'x'})", '{"a":"x","b":[1,2]}'),
        ("toJson('é\"')", '"é\\""'),
        ("fromJSON('{\"a\": [1, 2]}').a[1]", 2),
        ("fromJSON('null')", None),
        ("toBase64('Hello World')", "SGVsbG8gV29ybGQ="),
        ("fromBase64('SGVsbG8gV29ybGQ=')", "Hello World"),
        # length and strings
        ("len('héllo')", 5),
        ("len([1, 2])", 2),
        ("len({a: 1})", 1),
        ("upper('abc')", "ABC"),
        ("lower('ABC')", "abc"),
        ("trim('  x  ')", "x"),
        ("trim('__x__', '_')", "x"),
        ("trimPrefix('HelloWorld', 'Hello')", "World"),
        ("trimSuffix('HelloWorld', 'World')", "Hello"),
        ("hasPrefix('abc', 'a')", True),
        ("hasSuffix('abc', 'c')", True),
        ("split('a,b,c', ',')", ["a", "b", "c"]),
        ("split('a,b,c', ',', 2)", ["a", "b,c"]),
        ("split('abc', '')", ["a", "b", "c"]),
        ("split('', ',')", [""]),
        ("splitAfter('a,b,c', ',')", ["a,", "b,", "c"]),
        ("join(['a', 'b'], '-')", "a-b"),
        ("join(['a', 'b'])", "ab"),
        ("join([1, true], ',')", "1,true"),
        ("replace('Hello World', 'World', 'Universe')", "Hello Universe"),
        ("repeat('ab', 3)", "ababab"),
        ("indexOf('apple pie', 'pie')", 6),
        ("lastIndexOf('apple pie apple', 'apple')", 10),
        # numbers
        ("abs(-5)", 5),
        ("abs(-2.5)", 2.5),
        ("max(5, 7)", 7),
        ("min(5, 7, 1.5)", 1.5),
        ("max([4, 9, 2])", 9),
        ("ceil(1.2)", 2.0),
        ("floor(1.8)", 1.0),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("sum([1, 2, 3])", 6),
        ("mean([1, 2, 3])", 2.0),
        ("median([3, 1, 2, 4])", 2.5),
        # arrays and maps
        ("first(items)", 3),
        ("last(items)", 2),
        ("first([])", None),
        ("take(items, 2)", [3, 1]),
        ("reverse(items)", [2, 1, 3]),
        ("sort(items)", [1, 2, 3]),
        ("sort(items, 'desc')", [3, 2, 1]),
        ("uniq([1, 1, 2, 1.0])", [1, 2]),
        ("concat([1], [2, 3])", [1, 2, 3]),
        ("flatten([1, [2, [3]]])", [1, 2, 3]),
        ("keys({a: 1, b: 2})", ["a", "b"]),
        ("values({a: 1, b: 2})", [1, 2]),
        ("toPairs({a: 1})", [["a", 1]]),
        ("fromPairs([['a', 1]])", {"a": 1}),
        ("get({a: 1}, 'a')", 1),
        ("get({a: 1}, 'z')", None),
        ("get([1, 2], 5)", None),
        # predicates
        ("filter(items, # > 1)", [3, 2]),
        ("filter(items, {# > 1})", [3, 2]),
        ("map(items, # * 2)", [6, 2, 4]),
        ("map(items, #index)", [0, 1, 2]),
        ("map(users, .name)", ["ann", "bob", "cy"]),
        ("all(items, # > 0)", True),
        ("any(items, # > 2)", True),
        ("none(items, # > 5)", True),
        ("one(items, # == 1)", True),
        ("count(items, # >= 2)", 2),
        ("count([true, false, true])", 2),
        ("sum(users, .age)", 79),
        ("find(items, # < 3)", 1),
        ("findIndex(items, # < 3)", 1),
        ("findLast(items, # > 1)", 2),
        ("findLastIndex(items, # > 5)", -1),
        ("find(items, # > 5)", None),
        ("groupBy(users, .age)[31]", [{"name": "ann", "age": 31}, {"name": "cy", "age": 31}]),
        ("map(sortBy(users, .age), .name)", ["bob", "ann", "cy"]),
        ("map(sortBy(users, .name, 'desc'), .name)", ["cy", "bob", "ann"]),
        ("reduce(1..4, #acc + #)", 10),
        ("reduce(1..4, #acc + #, 10)", 20),
        ("filter(map(users, .age), # > 20)", [31, 31]),
        ("map([[1, 2], [3]], len(#))", [2, 1]),
        ("map([[1, 2]], map(#, # + 1))", [[2, 3]]),
        # time: cron-when.yaml
        (
            "cronworkflow.lastScheduledTime == nil || (now() - cronworkflow.lastScheduledTime).Seconds() > 360",
            True,
        ),
        (
            "never.lastScheduledTime == nil || (now() - never.lastScheduledTime).Seconds() > 360",
            True,
        ),
        ("(now() - cronworkflow.lastScheduledTime).Minutes()", 10.0),
        ("now().Year()", 2024),
        ("now().Weekday()", 5),
        ("now().Unix()", 1709294400),
        ("now() > date('2024-01-01')", True),
        ("now() - duration('1h') < now()", True),
        ("duration('1h30m').Minutes()", 90.0),
        ("duration('1.5s').Milliseconds()", 1500),
        ("duration('90s').String()", "1m30s"),
        ("(now() - date('2024-03-01T11:59:59.5Z')).String()", "500ms"),
        ("now().Add(duration('24h')).Day()", 2),
        ("now().Sub(date('2024-03-01T00:00:00Z')).Hours()", 12.0),
        ("now().Before(date('2025-01-01T00:00:00Z'))", True),
        ("string(now())", "2024-03-01 12:00:00 +0000 UTC"),
        ("toJson(now())", '"2024-03-01T12:00:00Z"'),
    ],
)
def test_functions(expression: str, expected: Any) -> None:
    assert evaluate(expression, ENV) == expected


def test_now_with_a_naive_clock_is_taken_as_utc() -> None:
    assert evaluate("now().Hour()", {NOW_KEY: datetime(2024, 1, 1, 7)}) == 7


def test_now_accepts_an_rfc3339_clock_string() -> None:
    assert evaluate("now().Minute()", {NOW_KEY: "2024-01-01T07:08:09Z"}) == 8


def test_time_difference_is_a_duration() -> None:
    assert evaluate("now() - now()", ENV) == timedelta(0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("int('1.5')", "int(): cannot convert '1.5' to int"),
        ("int('')", "cannot convert '' to int"),
        ("int(' 1')", "cannot convert ' 1' to int"),
        ("int(nil)", "cannot convert nil to int"),
        ("asInt('abc')", "asInt(): cannot convert 'abc' to int"),
        ("float('1_0')", "cannot convert '1_0' to float"),
        ("float('x')", "cannot convert 'x' to float"),
        ("len(1)", "cannot take the length of int"),
        ("len()", "len() takes 1 argument, got 0"),
        ("split('a')", "split() takes 2 to 3 arguments, got 1"),
        ("max()", "max() takes at least 1 argument, got 0"),
        ("upper(1)", "must be a string, got int"),
        ("fromJSON('{')", "invalid JSON"),
        ("fromJSON('NaN')", "invalid JSON"),
        ("fromBase64('!!')", "fromBase64()"),
        ("toJson(float('NaN'))", "json: unsupported value: NaN"),
        ("repeat('x', -1)", "negative repeat count"),
        ("repeat('x', 100000000)", "longer than"),
        ("sort([1, 'a'])", "invalid operation"),
        ("sort([1], 'up')", "order must be 'asc' or 'desc'"),
        ("keys([1])", "expected a map, got array"),
        ("first(1)", "expected an array, got int"),
        ("now()", "now() has no clock"),
        ("duration('5 minutes')", "invalid duration '5 minutes'"),
        ("date('yesterday')", "cannot parse 'yesterday' as a time"),
        ("date('2024-01-01', '2006-01-02')", "layout argument is not supported"),
        ("now().Format('x')", "time has no method Format()"),
        ("duration('1h').Seconds(1)", "duration.Seconds() takes 1 argument, got 2"),
        ("now() + 1", "invalid operation: time + int"),
        ("sum(['a'])", "sum() needs numbers"),
        ("groupBy(items, [#])", "cannot use array as a group key"),
    ],
)
def test_function_errors(expression: str, message: str) -> None:
    env = {k: v for k, v in ENV.items() if not (expression == "now()" and k == NOW_KEY)}
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, env)
    assert message in str(caught.value)
