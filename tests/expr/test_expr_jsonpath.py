"""`jsonpath(jsonString, path)`: definite paths give a value, any other path a list."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import evaluate

# examples/expression-destructure-json-complex.yaml
CONFIG = '{"employees": [{"name": "Baris", "age":43},{"name": "Mo", "age": 42}, {"name": "Jai", "age" :44}]}'
STORE = json.dumps(
    {
        "store": {
            "book": [
                {"category": "reference", "author": "Nigel Rees", "price": 8.95},
                {"category": "fiction", "author": "Evelyn Waugh", "price": 12.99, "isbn": "0-553"},
            ],
            "bicycle": {"color": "red", "price": 19.95},
            "key-dash": 1,
            "dotted.key": 2,
        }
    }
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ('$.employees[?(@.name=="Baris")].age', [43]),
        ("$.employees[?(@.age>42 && @.age<44)].age", [43]),
        ("$.employees[0:1]", [{"name": "Baris", "age": 43}]),
        ("$.employees[*].name", ["Baris", "Mo", "Jai"]),
        ("$.employees[0].name", "Baris"),
        ("$['employees'][-1]['name']", "Jai"),
        ("$.employees[5]", None),
        ("$.nothing.deeper", None),
        ("$.employees.length", 3),
        ("$.employees[0,2].name", ["Baris", "Jai"]),
        ("$.employees[::2].name", ["Baris", "Jai"]),
        ("$.employees[1:].age", [42, 44]),
        ("$.employees[(@.length-1)].name", "Jai"),
        ("$..name", ["Baris", "Mo", "Jai"]),
        ("$.employees[?(@.age >= 43 || @.name == 'Mo')].name", ["Baris", "Mo", "Jai"]),
        ("$.employees[?(!(@.age == 42))].name", ["Baris", "Jai"]),
        ("$.employees[?(@.name =~ /^J/)].name", ["Jai"]),
        ("$.employees[?(@.age + 1 == 43)].name", ["Mo"]),
        ("$.employees[?(@.age - 1 == 42)].name", ["Baris"]),
        ("$.employees[?(@.missing)].name", []),
        ("$.employees[?(@.age > 'x')].name", []),
        ("$.employees[?(@.age == $.employees[1].age)].name", ["Mo"]),
    ],
)
def test_employees(path: str, expected: Any) -> None:
    assert evaluate("jsonpath(config, path)", {"config": CONFIG, "path": path}) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", json.loads(STORE)),
        ("$.store.bicycle.color", "red"),
        ("$.store.key-dash", 1),
        ("$.store['dotted.key']", 2),
        ("$.store.book[?(@.isbn)].author", ["Evelyn Waugh"]),
        ("$.store.book[?(@.price < 10)].price", [8.95]),
        ("$..price", [8.95, 12.99, 19.95]),
        ("$.store.*.color", ["red"]),
        ("$.store.book[-1].author", "Evelyn Waugh"),
    ],
)
def test_store(path: str, expected: Any) -> None:
    assert evaluate("jsonpath(doc, path)", {"doc": STORE, "path": path}) == expected


def test_conditionals_example() -> None:
    # examples/conditionals.yaml: when: "{{=jsonpath(workflow.parameters.json, '$[0].value') == 'true'}}"
    env = {"workflow": {"parameters": {"json": '[{"value": "true"}]'}}}
    assert evaluate("jsonpath(workflow.parameters.json, '$[0].value') == 'true'", env) is True


def test_missing_value_works_with_nil_coalescing() -> None:
    assert evaluate("jsonpath('{}', '$.a') ?? 'none'", {}) == "none"


def test_a_parsed_document_is_accepted_too() -> None:
    assert evaluate("jsonpath({a: [1, 2]}, '$.a[1]')", {}) == 2


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ("{", "$.a", "invalid JSON"),
        ('{"a": 1}', "a", "must start with '$'"),
        ('{"a": 1}', "$.a[", "unclosed '['"),
        ('{"a": 1}', "$[foo]", "invalid selector [foo]"),
        ('{"a": 1}', "$[::0]", "slice step cannot be zero"),
        ('{"a": 1}', "$[?(@.a ==)]", "ends too early"),
        ('{"a": 1}', "$[?(@.a == 1 1)]", "unexpected"),
        ('[{"a": "x"}]', "$[?(@.a =~ /(/)]", "invalid regular expression"),
        ('{"a": 1}', "$.", "missing name after '.'"),
        ('{"a": 1}', "$ a", "unexpected 'a'"),
    ],
)
def test_errors(document: str, path: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate("jsonpath(doc, path)", {"doc": document, "path": path})
    assert message in str(caught.value)
    assert "jsonpath()" in str(caught.value)
