"""Filter and script expressions inside JSONPath brackets: `[?(@.age > 42 && @.name == "x")]`.

https://github.com/evilmonkeyinc/jsonpath#supported-standard-evaluation-operations

A comparison that does not make sense (a string against a number, a missing
member) is simply false, as in every JSONPath implementation, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._regex import compile_regex
from conveyor.expr._values import equal, is_int, is_number

__all__ = ["MISSING", "compile_filter", "truthy"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
Evaluator = Callable[[Any, Any], Any]  # (current item "@", document root "$") -> value

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|=~|&&|\|\||[<>!+\-*/%()@$.\[\]])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
# A regex literal can only follow `=~`; elsewhere '/' is division.
_REGEX = re.compile(r"\s*(?P<regex>/(?:[^/\\]|\\.)*/[a-z]*)")


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value is not MISSING and value is not None


@lru_cache(maxsize=256)
def compile_filter(text: str) -> Evaluator:
    parser = _Parser(text)
    evaluator = parser.or_expr()
    if parser.peek() is not None:
        raise ExprFault(f"unexpected {parser.peek()!r} in JSONPath filter {text!r}")
    return evaluator


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            after_match_op = bool(self.tokens) and self.tokens[-1][1] == "=~"
            match = (after_match_op and _REGEX.match(text, pos)) or _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ExprFault(f"cannot parse JSONPath filter {text!r} at offset {pos}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise ExprFault(f"JSONPath filter {self.text!r} ends too early")
        self.i += 1
        return self.tokens[self.i - 1]

    def or_expr(self) -> Evaluator:
        self.depth += 1
        if self.depth > 64:
            raise ExprFault(f"JSONPath filter {self.text!r} is nested too deeply")
        left = self.and_expr()
        while self.peek() == "||":
            self.take()
            left = _either(left, self.and_expr())
        self.depth -= 1
        return left

    def and_expr(self) -> Evaluator:
        left = self.not_expr()
        while self.peek() == "&&":
            self.take()
            left = _both(left, self.not_expr())
        return left

    def not_expr(self) -> Evaluator:
        if self.peek() == "!":
            self.take()
            inner = self.not_expr()
            return lambda cur, root: not truthy(inner(cur, root))
        return self.comparison()

    def comparison(self) -> Evaluator:
        left = self.sum()
        op = self.peek()
        if op in ("==", "!=", "<", "<=", ">", ">=", "=~"):
            self.take()
            return _compare(op, left, self.sum())
        return left

    def sum(self) -> Evaluator:
        left = self.product()
        while self.peek() in ("+", "-"):
            left = _arith(self.take()[1], left, self.product())
        return left

    def product(self) -> Evaluator:
        left = self.primary()
        while self.peek() in ("*", "/", "%"):
            left = _arith(self.take()[1], left, self.primary())
        return left

    def primary(self) -> Evaluator:
        kind, value = self.take()
        if value == "(" and kind == "op":
            inner = self.or_expr()
            if self.take()[1] != ")":
                raise ExprFault(f"missing ')' in JSONPath filter {self.text!r}")
            return inner
        if kind == "op" and value in ("@", "$"):
            return self.path(value)
        if kind == "op" and value == "-":
            operand = self.primary()
            return _arith("-", lambda cur, root: 0, operand)
        if kind == "num":
            number = float(value) if any(c in value for c in ".eE") else int(value)
            return lambda cur, root: number
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda cur, root: text
        if kind == "regex":
            body, _, flags = value[1:].rpartition("/")
            pattern = f"(?{flags})" + body if flags else body
            return lambda cur, root: ("regex", pattern)
        if kind == "name" and value in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[value]
            return lambda cur, root: constant
        raise ExprFault(f"unexpected {value!r} in JSONPath filter {self.text!r}")

    def path(self, start: str) -> Evaluator:
        keys: list[Any] = []
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                keys.append(self.take()[1])
                continue
            kind, value = self.take()
            if kind == "str":
                keys.append(re.sub(r"\\(.)", r"\1", value[1:-1]))
            elif kind == "num" and is_int_text(value):
                keys.append(int(value))
            else:
                raise ExprFault(f"unsupported selector [{value}] in JSONPath filter {self.text!r}")
            if self.take()[1] != "]":
                raise ExprFault(f"missing ']' in JSONPath filter {self.text!r}")
        return lambda cur, root: _walk(cur if start == "@" else root, keys)


def is_int_text(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _walk(value: Any, keys: list[Any]) -> Any:
    for key in keys:
        if isinstance(value, Mapping) and isinstance(key, str):
            value = value.get(key, MISSING)
        elif isinstance(value, (list, str)) and key == "length":
            value = len(value)
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return MISSING
    return value


def _either(a: Evaluator, b: Evaluator) -> Evaluator:
    return lambda cur, root: truthy(a(cur, root)) or truthy(b(cur, root))


def _both(a: Evaluator, b: Evaluator) -> Evaluator:
    return lambda cur, root: truthy(a(cur, root)) and truthy(b(cur, root))


def _compare(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def run(cur: Any, root: Any) -> bool:
        a, b = left(cur, root), right(cur, root)
        if a is MISSING or b is MISSING:
            return op == "!=" and not (a is MISSING and b is MISSING)
        if op == "=~":
            pattern = b[1] if isinstance(b, tuple) else b
            return (
                isinstance(a, str)
                and isinstance(pattern, str)
                and compile_regex(pattern).search(a) is not None
            )
        if op == "==":
            return equal(a, b)
        if op == "!=":
            return not equal(a, b)
        if not (is_number(a) and is_number(b) or isinstance(a, str) and isinstance(b, str)):
            return False
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])

    return run


def _arith(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def run(cur: Any, root: Any) -> Any:
        a, b = left(cur, root), right(cur, root)
        if not (is_number(a) and is_number(b)):
            return MISSING
        if op in "/%" and b == 0:
            return MISSING
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "%":
            return a % b
        # Whole numbers divide to a whole number, as in the Go library Argo uses.
        return int(a / b) if is_int(a) and is_int(b) else a / b

    return run
