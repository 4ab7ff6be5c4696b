"""DAG `depends:` logic: `A && (B.Succeeded || B.Failed) && !C.Skipped`.

https://argo-workflows.readthedocs.io/en/latest/enhanced-depends-logic/

Operands are task names, optionally with a result suffix; operators are
`&&`, `||`, `!` and parentheses (`!` binds tightest, then `&&`, then `||`).
A bare name is handed to the predicate with result None: what it means
depends on the task's `continueOn`, which only the engine knows.
`dependencies: [A, B]` is the same as `depends: "A && B"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from conveyor.errors import ExpressionError

__all__ = ["Depends", "RESULTS", "compile_depends", "dependencies_to_depends"]

RESULTS = (
    "Succeeded",
    "Failed",
    "Errored",
    "Skipped",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
)
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
_TOKEN = re.compile(
    rf"\s*(?:(?P<op>&&|\|\||[!()])|(?P<task>{_NAME})(?:\.(?P<result>[A-Za-z0-9_-]*))?)"
)
_TASK_NAME = re.compile(rf"{_NAME}\Z")
_MAX_DEPTH = 100

Predicate = Callable[[str, "str | None"], bool]


@dataclass(frozen=True)
class Depends:
    """A compiled `depends` expression; `evaluate(pred)` asks `pred(task, result)` for each operand."""

    source: str
    task_names: frozenset[str]
    _tree: Any = field(repr=False, compare=False)

    def evaluate(self, pred: Predicate) -> bool:
        return _evaluate(self._tree, pred)

    def __str__(self) -> str:
        return self.source


def dependencies_to_depends(names: Sequence[str]) -> str:
    """`dependencies: [A, B]` as the equivalent depends expression `A && B`."""
    for name in names:
        if not isinstance(name, str) or not _TASK_NAME.match(name):
            raise ExpressionError(
                f"invalid task name {name!r} in dependencies (expected letters, digits, '-' or '_')"
            )
    return " && ".join(names)


def compile_depends(expression: str) -> Depends:
    """Parse a depends expression; an empty one depends on nothing and always holds."""
    if not isinstance(expression, str):
        raise ExpressionError(f"depends must be a string, got {type(expression).__name__}")
    return _compile(expression)


@lru_cache(maxsize=4096)
def _compile(expression: str) -> Depends:
    tokens = _tokenize(expression)
    if not tokens:
        return Depends(expression, frozenset(), ("true",))
    parser = _Parser(expression, tokens)
    tree = parser.either()
    if parser.i < len(tokens):
        raise parser.error(f"unexpected {tokens[parser.i][1]!r}")
    names = frozenset(t[1] for t in tokens if t[0] == "task")
    return Depends(expression, names, tree)


def _tokenize(expression: str) -> list[tuple[str, str, str | None, int]]:
    tokens: list[tuple[str, str, str | None, int]] = []
    pos = 0
    while pos < len(expression):
        if not expression[pos:].strip():
            break
        match = _TOKEN.match(expression, pos)
        if match is None:
            bad = expression[pos:].lstrip()[:1]
            raise ExpressionError(
                f"invalid depends {expression!r}: unexpected {bad!r} at column {pos + 1}"
            )
        column = match.start("op") if match.group("op") else match.start("task")
        if match.group("op"):
            tokens.append(("op", match.group("op"), None, column))
        else:
            result = match.group("result")
            if result is not None and result not in RESULTS:
                raise ExpressionError(
                    f"invalid depends {expression!r}: unknown result '.{result}' of task "
                    f"{match.group('task')!r}; use one of {', '.join('.' + r for r in RESULTS)}"
                )
            tokens.append(("task", match.group("task"), result, column))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, source: str, tokens: list[tuple[str, str, str | None, int]]) -> None:
        self.source = source
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def error(self, message: str) -> ExpressionError:
        column = self.tokens[self.i][3] + 1 if self.i < len(self.tokens) else len(self.source) + 1
        return ExpressionError(f"invalid depends {self.source!r}: {message} at column {column}")

    def peek(self) -> str | None:
        return (
            self.tokens[self.i][1]
            if self.i < len(self.tokens) and self.tokens[self.i][0] == "op"
            else None
        )

    def either(self) -> tuple[Any, ...]:
        # n-ary nodes keep `A && B && ... && Z` flat: a fan-in over thousands of
        # tasks must not become a tree thousands of levels deep.
        operands = [self.both()]
        while self.peek() == "||":
            self.i += 1
            operands.append(self.both())
        return operands[0] if len(operands) == 1 else ("or", *operands)

    def both(self) -> tuple[Any, ...]:
        operands = [self.negation()]
        while self.peek() == "&&":
            self.i += 1
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else ("and", *operands)

    def negation(self) -> tuple[Any, ...]:
        negations = 0
        while self.peek() == "!":
            self.i += 1
            negations += 1
        if self.i >= len(self.tokens):
            raise self.error("expression ends too early")
        kind, value, result, _ = self.tokens[self.i]
        if kind == "task":
            self.i += 1
            node: tuple[Any, ...] = ("task", value, result)
        elif value == "(":
            self.i += 1
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error("parentheses nested too deeply")
            node = self.either()
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            self.depth -= 1
        else:
            raise self.error(f"unexpected {value!r}")
        return ("not", node) if negations % 2 else node


def _evaluate(node: tuple[Any, ...], pred: Predicate) -> bool:
    kind = node[0]
    if kind == "task":
        return bool(pred(node[1], node[2]))
    if kind == "not":
        return not _evaluate(node[1], pred)
    if kind == "and":
        return all(_evaluate(operand, pred) for operand in node[1:])
    if kind == "or":
        return any(_evaluate(operand, pred) for operand in node[1:])
    return True
