"""`sprig.X(...)` functions, with sprig's argument order and its forgiving defaults."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import evaluate

ENV: dict[str, Any] = {"inputs": {"parameters": {"my-string-param": "  padded  ", "n": "7"}}}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # strings (the subject comes last, as in Go templates)
        ("sprig.trim(inputs.parameters['my-string-param'])", "padded"),
        ("sprig.trimAll('$', '$5.00$')", "5.00"),
        ("sprig.trimPrefix('v', 'v1.2')", "1.2"),
        ("sprig.trimSuffix('.txt', 'a.txt')", "a"),
        ("sprig.upper('hello')", "HELLO"),
        ("sprig.lower('HELLO')", "hello"),
        ("sprig.title('hello wORLD-x')", "Hello WORLD-X"),
        ("sprig.replace(' ', '-', 'a b c')", "a-b-c"),
        ("sprig.contains('cat', 'catch')", True),
        ("sprig.hasPrefix('ca', 'cat')", True),
        ("sprig.hasSuffix('at', 'cat')", True),
        ("sprig.splitList(',', 'a,b')", ["a", "b"]),
        ("sprig.split('$', 'foo$bar')", {"_0": "foo", "_1": "bar"}),
        ("sprig.join('-', ['a', 1, nil])", "a-1"),
        ("sprig.join(',', 'single')", "single"),
        ("sprig.nospace('h e l\\tl o')", "hello"),
        ("sprig.repeat(3, 'ab')", "ababab"),
        ("sprig.trunc(3, 'hello')", "hel"),
        ("sprig.trunc(-3, 'hello')", "llo"),
        ("sprig.trunc(10, 'hi')", "hi"),
        ("sprig.substr(1, 3, 'hello')", "el"),
        ("sprig.substr(-1, 2, 'hello')", "he"),
        ("sprig.substr(2, 99, 'hello')", "llo"),
        ("sprig.toString(1.0)", "1"),
        ("sprig.toString([1, 2])", "[1 2]"),
        ("sprig.cat('a', nil, 1)", "a 1"),
        ("sprig.quote('a', 'b\"c')", '"a" "b\\"c"'),
        ("sprig.squote('a')", "'a'"),
        ("sprig.indent(2, 'a\\nb')", "  a\n  b"),
        ("sprig.nindent(2, 'a')", "\n  a"),
        # conversion and integer math (sprig never fails on a bad number: it gives 0)
        ("sprig.int('42')", 42),
        ("sprig.int('0x10')", 16),
        ("sprig.int('abc')", 0),
        ("sprig.int(3.9)", 3),
        ("sprig.int(true)", 1),
        ("sprig.int64('12')", 12),
        ("sprig.float64('1.5')", 1.5),
        ("sprig.float64('x')", 0.0),
        ("sprig.atoi(inputs.parameters.n)", 7),
        ("sprig.atoi('7.5')", 0),
        ("sprig.add(1, '2', 3.9)", 6),
        ("sprig.add1(1)", 2),
        ("sprig.sub(5, 7)", -2),
        ("sprig.mul(2, 3, 4)", 24),
        ("sprig.div(7, 2)", 3),
        ("sprig.div(-7, 2)", -3),
        ("sprig.mod(-7, 3)", -1),
        ("sprig.max(1, 5, '3')", 5),
        ("sprig.min(4, 2)", 2),
        ("sprig.add(9223372036854775807, 1)", -9223372036854775808),
        ("sprig.ceil(1.1)", 2.0),
        ("sprig.floor('1.9')", 1.0),
        # defaults and logic
        ("sprig.default('foo', '')", "foo"),
        ("sprig.default('foo', 'bar')", "bar"),
        ("sprig.default('foo', 0)", "foo"),
        ("sprig.default('foo')", "foo"),
        ("sprig.empty('')", True),
        ("sprig.empty([])", True),
        ("sprig.empty({})", True),
        ("sprig.empty(0)", True),
        ("sprig.empty(false)", True),
        ("sprig.empty(nil)", True),
        ("sprig.empty('x')", False),
        ("sprig.coalesce('', nil, 'x', 'y')", "x"),
        ("sprig.coalesce('', 0)", None),
        ("sprig.ternary('yes', 'no', 1 > 0)", "yes"),
        ("sprig.ternary('yes', 'no', false)", "no"),
        # encoding
        ("sprig.toJson({b: 1, a: [true]})", '{"a":[true],"b":1}'),
        ("sprig.toPrettyJson([1])", "[\n  1\n]"),
        ("sprig.fromJson('{\"a\": 1}').a", 1),
        ("sprig.fromJson('not json')", None),
        ("sprig.b64enc('hi')", "aGk="),
        ("sprig.b64dec('aGk=')", "hi"),
        (
            "sprig.sha256sum('hi')",
            "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
        ),
        ("sprig.sha1sum('hi')", "c22b5f9178342609428d6f51b2c5af4c0bde6a42"),
        # regular expressions
        ("sprig.regexMatch('^[a-z]+$', 'abc')", True),
        ("sprig.regexMatch('(', 'abc')", False),
        ("sprig.regexFind('[0-9]+', 'ab123cd45')", "123"),
        ("sprig.regexFind('[0-9]+', 'abc')", ""),
        ("sprig.regexFindAll('[0-9]', 'a1b2c3', 2)", ["1", "2"]),
        ("sprig.regexFindAll('[0-9]', 'a1b2c3', -1)", ["1", "2", "3"]),
        ("sprig.regexReplaceAll('a(x*)b', '-ab-axxb-', '${1}W')", "-W-xxW-"),
        (
            "sprig.regexReplaceAll('(?P<first>[a-z]+) (?P<last>[a-z]+)', 'jane doe', '$last, $first')",
            "doe, jane",
        ),
        ("sprig.regexReplaceAll('a', 'aaa', '$$')", "$$$"),
        ("sprig.regexReplaceAll('(a)', 'a', '$2x')", ""),
        ("sprig.regexReplaceAllLiteral('a', 'aa', '$1')", "$1$1"),
        ("sprig.regexSplit('z+', 'pizza', -1)", ["pi", "a"]),
        # lists and dicts
        ("sprig.list(1, 'a')", [1, "a"]),
        ("sprig.first([1, 2])", 1),
        ("sprig.last([1, 2])", 2),
        ("sprig.first([])", None),
        ("sprig.rest([1, 2, 3])", [2, 3]),
        ("sprig.initial([1, 2, 3])", [1, 2]),
        ("sprig.append([1], 2)", [1, 2]),
        ("sprig.prepend([1], 0)", [0, 1]),
        ("sprig.concat([1], [2], [3])", [1, 2, 3]),
        ("sprig.reverse([1, 2])", [2, 1]),
        ("sprig.compact([1, '', nil, 2])", [1, 2]),
        ("sprig.has(2, [1, 2])", True),
        ("sprig.without([1, 2, 3], 2)", [1, 3]),
        ("sprig.uniq([1, 1, 'a', 'a'])", [1, "a"]),
        ("sprig.until(3)", [0, 1, 2]),
        ("sprig.until(-2)", [0, -1]),
        ("sprig.untilStep(0, 10, 4)", [0, 4, 8]),
        ("sprig.seq(5)", "1 2 3 4 5"),
        ("sprig.seq(-3)", "1 0 -1 -2 -3"),
        ("sprig.seq(0, 2)", "0 1 2"),
        ("sprig.seq(2, -2)", "2 1 0 -1 -2"),
        ("sprig.seq(0, 2, 10)", "0 2 4 6 8 10"),
        ("sprig.seq(0, -2, -5)", "0 -2 -4"),
        ("sprig.seq(0, 2, -5)", ""),
        ("sprig.dict('a', 1, 'b')", {"a": 1, "b": ""}),
        ("sprig.get({a: 1}, 'a')", 1),
        ("sprig.get({a: 1}, 'z')", ""),
        ("sprig.hasKey({a: 1}, 'a')", True),
        ("sprig.keys({a: 1}, {b: 2})", ["a", "b"]),
        ("sprig.values({a: 1})", [1]),
        ("sprig.pick({a: 1, b: 2}, 'a')", {"a": 1}),
        ("sprig.omit({a: 1, b: 2}, 'a')", {"b": 2}),
        ("sprig.merge({a: 1}, {a: 2, b: 3})", {"a": 1, "b": 3}),
        ("sprig.toStrings([1, true])", ["1", "true"]),
    ],
)
def test_sprig(expression: str, expected: Any) -> None:
    assert evaluate(expression, ENV) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("sprig.nope('x')", "unknown function sprig.nope()"),
        ("sprig.trim(1)", "sprig.trim(): expected a string argument, got int"),
        ("sprig.trim()", "sprig.trim() takes 1 argument, got 0"),
        ("sprig.repeat('x', 'y')", "expected an int argument, got string"),
        ("sprig.div(1, 0)", "integer divide by zero"),
        ("sprig.mod(1, 0)", "integer divide by zero"),
        ("sprig.ternary(1, 2, 'true')", "expected a bool argument, got string"),
        ("sprig.regexFind('(', 'x')", "invalid regular expression"),
        ("sprig.first('abc')", "cannot use first on type string"),
        ("sprig.get([1], 0)", "expected a dict argument, got array"),
        ("sprig.until(100000000)", "too long"),
        ("sprig.untilStep(0, 10, 0)", "too long or endless"),
    ],
)
def test_sprig_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, ENV)
    assert message in str(caught.value)
