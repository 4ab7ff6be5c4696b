"""DAG `depends:` expressions and the `dependencies:` shorthand."""

from __future__ import annotations

import pytest

from conveyor.errors import ExpressionError
from conveyor.expr import Depends, compile_depends, dependencies_to_depends

# What each task did in the scenarios below: task -> results that hold for it.
STATE = {
    "A": {"Succeeded", "AnySucceeded"},
    "B": {"Failed", "AllFailed"},
    "C": {"Skipped"},
    "should-execute-2": {"Succeeded"},
    "should-not-execute": set(),
    "inner-A": {"Succeeded"},
    "producer": {"Skipped"},
}


def pred(task: str, result: str | None) -> bool:
    # A bare name stands for "completed in a way the engine accepts"; here: succeeded.
    return ("Succeeded" if result is None else result) in STATE[task]


@pytest.mark.parametrize(
    ("expression", "names", "expected"),
    [
        ("A", {"A"}, True),
        ("B", {"B"}, False),
        ("A && B", {"A", "B"}, False),
        ("A || B", {"A", "B"}, True),
        ("A.Succeeded", {"A"}, True),
        ("B.Failed", {"B"}, True),
        ("B.Failed && C", {"B", "C"}, False),
        ("A && (C.Succeeded || C.Skipped)", {"A", "C"}, True),
        ("!B", {"B"}, True),
        ("!B.Failed", {"B"}, False),
        ("!!A", {"A"}, True),
        ("!(A && B)", {"A", "B"}, True),
        ("A.AnySucceeded && B.AllFailed", {"A", "B"}, True),
        (
            "should-execute-2.Succeeded || should-not-execute",
            {"should-execute-2", "should-not-execute"},
            True,
        ),
        ("producer.Succeeded || producer.Skipped", {"producer"}, True),
        ("inner-A", {"inner-A"}, True),
        ("  A&&B||C.Skipped  ", {"A", "B", "C"}, True),
        ("A || B && C", {"A", "B", "C"}, True),  # && binds tighter than ||
        ("(A || B) && C", {"A", "B", "C"}, False),
    ],
)
def test_compile_and_evaluate(expression: str, names: set[str], expected: bool) -> None:
    depends = compile_depends(expression)
    assert isinstance(depends, Depends)
    assert depends.source == expression
    assert depends.task_names == frozenset(names)
    assert depends.evaluate(pred) is expected


def test_the_predicate_sees_each_operand_as_written() -> None:
    asked: list[tuple[str, str | None]] = []

    def record(task: str, result: str | None) -> bool:
        asked.append((task, result))
        return False

    compile_depends("A.Succeeded || B || C.Daemoned || D.Omitted || E.Errored").evaluate(record)
    assert asked == [
        ("A", "Succeeded"),
        ("B", None),
        ("C", "Daemoned"),
        ("D", "Omitted"),
        ("E", "Errored"),
    ]


def test_empty_depends_always_holds() -> None:
    depends = compile_depends("  ")
    assert depends.task_names == frozenset()
    assert depends.evaluate(pred) is True


def test_depends_is_frozen_and_printable() -> None:
    depends = compile_depends("A && B")
    with pytest.raises(AttributeError):
        depends.source = "x"  # type: ignore[misc]
    assert str(depends) == "A && B"
    assert compile_depends("A && B") == depends


def test_a_wide_fan_in_does_not_recurse() -> None:
    names = [f"task-{i}" for i in range(5000)]
    depends = compile_depends(dependencies_to_depends(names))
    assert len(depends.task_names) == 5000
    assert depends.evaluate(lambda task, result: True) is True
    assert depends.evaluate(lambda task, result: task != "task-4999") is False


@pytest.mark.parametrize(
    ("names", "expected"),
    [(["A"], "A"), (["A", "B"], "A && B"), (["build", "test-2"], "build && test-2"), ([], "")],
)
def test_dependencies_to_depends(names: list[str], expected: str) -> None:
    assert dependencies_to_depends(names) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("A.Foo", "unknown result '.Foo' of task 'A'; use one of .Succeeded, .Failed"),
        ("A.", "unknown result '.'"),
        ("A &&", "expression ends too early"),
        ("&& A", "unexpected '&&' at column 1"),
        ("(A", "missing ')'"),
        ("A)", "unexpected ')'"),
        ("A B", "unexpected 'B' at column 3"),
        ("A & B", "unexpected '&'"),
        ("A == B", "unexpected '='"),
        ("()", "unexpected ')'"),
        ("(" * 150 + "A" + ")" * 150, "nested too deeply"),
    ],
)
def test_errors(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_depends(expression)
    assert message in str(caught.value)
    assert "invalid depends" in str(caught.value)


def test_bad_dependency_name() -> None:
    with pytest.raises(ExpressionError, match="invalid task name 'a b'"):
        dependencies_to_depends(["a b"])


def test_non_string_depends() -> None:
    with pytest.raises(ExpressionError, match="depends must be a string"):
        compile_depends(["A"])  # type: ignore[arg-type]
