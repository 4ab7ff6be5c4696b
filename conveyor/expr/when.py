"""`when:` conditions, evaluated after their `{{...}}` tags were substituted.

https://argo-workflows.readthedocs.io/en/latest/walk-through/conditionals/

Argo evaluates `when:` with govaluate (https://github.com/Knetic/govaluate,
see its MANUAL.md) after turning every bare word into a string, which is what
makes `heads == heads` and `{{workflow.status}} != Succeeded` work. So:
numbers compare as numbers (`5 < 10`), quoted or bare words are strings,
`true`/`false` are booleans; operators are `== != < <= > >= =~ !~ in`,
`&& || !`, `+ - * / % **`, `?:`, `??` and parentheses; `(a, b)` is an array
for `in`. A bare word cannot contain `-` (`a-b` is a subtraction, exactly as
in Argo): quote such values. Date strings are not turned into timestamps.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from conveyor.errors import ExpressionError
from conveyor.expr._fault import ExprFault
from conveyor.expr._regex import compile_regex
from conveyor.expr._render import go_format
from conveyor.expr._values import equal, is_number

__all__ = ["evaluate_when"]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>0[xX][0-9a-fA-F]+|[0-9][0-9.]*)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<bracket>\[[^\]]*\])
    | (?P<op>\*\*|==|!=|<=|>=|=~|!~|&&|\|\||\?\?|[-+*/%<>!?:(),])
    | (?P<word>(?:[^\W\d]|_|\\.)(?:[\w.]|\\.)*)
    )""",
    re.VERBOSE,
)
_TIGHTER = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "=~": 3,
    "!~": 3,
    "in": 3,
}
_TIGHTER.update({"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "**": 6})
_MAX_DEPTH = 100  # parentheses (each one a nested ternary); lint refuses deeper ones (conveyor.spec._when)
_MAX_PREFIXES = 100  # `!` and `-` in a row (evaluating them recurses)


def evaluate_when(condition: str) -> bool:
    """True when the substituted `when:` condition holds; ExpressionError when it cannot be evaluated."""
    if not isinstance(condition, str):
        raise ExpressionError(f"a when condition must be a string, got {type(condition).__name__}")
    try:
        result = _evaluate(_parse(condition))
    except ExprFault as fault:
        raise ExpressionError(f"invalid when condition {condition!r}: {fault.message}") from None
    except RecursionError:
        raise ExpressionError(f"invalid when condition {condition!r}: nested too deeply") from None
    if not isinstance(result, bool):
        raise ExpressionError(
            f"when condition {condition!r} gave {go_format(result)!r}, not true or false"
        )
    return result


@lru_cache(maxsize=4096)
def _parse(condition: str) -> tuple[Any, ...]:
    parser = _Parser(_tokenize(condition))
    tree = parser.ternary()
    if parser.i < len(parser.tokens):
        raise ExprFault(f"unexpected {parser.tokens[parser.i][1]!r}")
    return tree


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            bad = text[pos:].lstrip()[:1]
            raise ExprFault(f"invalid token {bad!r} (hint: wrap the value in quotes)")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "num":
            tokens.append(("val", _number(raw)))
        elif kind == "str":
            tokens.append(("val", re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "bracket":
            tokens.append(("val", raw[1:-1]))  # govaluate's [escaped name], a string here
        elif kind == "word":
            word = re.sub(r"\\(.)", r"\1", raw)
            if raw in ("true", "false"):
                tokens.append(("val", raw == "true"))
            elif raw in ("in", "IN"):
                tokens.append(("op", "in"))
            else:
                tokens.append(("val", word))
        else:
            tokens.append(("op", raw))
        pos = match.end()
    return tokens


def _number(raw: str) -> float:
    try:
        return float(int(raw, 16)) if raw[:2] in ("0x", "0X") else float(raw)
    except ValueError:
        raise ExprFault(f"cannot parse number {raw!r}") from None


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> Any:
        return (
            self.tokens[self.i][1]
            if self.i < len(self.tokens) and self.tokens[self.i][0] == "op"
            else None
        )

    def take(self) -> tuple[str, Any]:
        if self.i >= len(self.tokens):
            raise ExprFault("unexpected end of condition")
        self.i += 1
        return self.tokens[self.i - 1]

    def ternary(self) -> tuple[Any, ...]:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExprFault("nested too deeply")
        node = self.binary(1)
        while self.peek() in ("?", "??"):
            if self.take()[1] == "??":
                node = ("??", node, self.binary(1))
                continue
            then = self.binary(1)
            otherwise: tuple[Any, ...] = ("val", None)
            if self.peek() == ":":
                self.take()
                otherwise = self.binary(1)
            node = ("?", node, then, otherwise)
        self.depth -= 1
        return node

    def binary(self, min_level: int) -> tuple[Any, ...]:
        left = self.prefix()
        while (op := self.peek()) in _TIGHTER and _TIGHTER[op] >= min_level:
            self.take()
            left = (op, left, self.binary(_TIGHTER[op] + 1))
        return left

    def prefix(self) -> tuple[Any, ...]:
        # A run of `!` and `-` is read in a loop, not by recursion: any length is fine.
        ops: list[str] = []
        while (op := self.peek()) in ("!", "-"):
            self.take()
            ops.append("neg" if op == "-" else "not")
            if len(ops) > _MAX_PREFIXES:
                raise ExprFault(f"more than {_MAX_PREFIXES} `!` or `-` in a row")
        node = self.operand()
        for op in reversed(ops):
            node = (op, node)
        return node

    def operand(self) -> tuple[Any, ...]:
        kind, value = self.take()
        if kind == "val":
            return ("val", value)
        if value != "(":
            raise ExprFault(f"unexpected {value!r}")
        items = [self.ternary()]
        while self.peek() == ",":
            self.take()
            items.append(self.ternary())
        if self.peek() != ")":
            raise ExprFault("missing ')'")
        self.take()
        return items[0] if len(items) == 1 else ("list", *items)


def _evaluate(node: tuple[Any, ...]) -> Any:
    kind = node[0]
    if kind == "val":
        return node[1]
    if kind == "list":
        return [_evaluate(item) for item in node[1:]]
    if kind == "not":
        return not _bool(_evaluate(node[1]), "!")
    if kind == "neg":
        return -_num(_evaluate(node[1]), "-")
    if kind == "&&":
        return _bool(_evaluate(node[1]), "&&") and _bool(_evaluate(node[2]), "&&")
    if kind == "||":
        return _bool(_evaluate(node[1]), "||") or _bool(_evaluate(node[2]), "||")
    if kind == "?":
        return _evaluate(node[2]) if _bool(_evaluate(node[1]), "?") else _evaluate(node[3])
    left = _evaluate(node[1])
    if kind == "??":
        return left if left is not None else _evaluate(node[2])
    return _apply(kind, left, _evaluate(node[2]))


def _apply(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op == "in":
        # govaluate wants an array; `x in (a)` is accepted as an array of one.
        items = b if isinstance(b, list) else [b]
        return any(equal(a, item) for item in items)
    if op in ("=~", "!~"):
        if not (isinstance(a, str) and isinstance(b, str)):
            raise ExprFault(
                f"operator {op} needs two strings, got {go_format(a)!r} and {go_format(b)!r}"
            )
        return (compile_regex(b).search(a) is not None) == (op == "=~")
    if op == "+" and (isinstance(a, str) or isinstance(b, str)):
        return go_format(a) + go_format(b)
    if op in ("<", "<=", ">", ">="):
        if not (is_number(a) and is_number(b) or isinstance(a, str) and isinstance(b, str)):
            raise ExprFault(
                f"cannot compare {go_format(a)!r} {op} {go_format(b)!r}: both must be numbers or both strings"
            )
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    x, y = _num(a, op), _num(b, op)
    if op in ("/", "%") and y == 0:
        raise ExprFault("division by zero")
    try:
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "/":
            return x / y
        if op == "%":
            return math.fmod(x, y)
        return math.pow(x, y)
    except (OverflowError, ValueError):
        raise ExprFault(f"{go_format(x)} {op} {go_format(y)} is out of range") from None


def _bool(value: Any, op: str) -> bool:
    if not isinstance(value, bool):
        raise ExprFault(f"value {go_format(value)!r} cannot be used with {op}: it is not a boolean")
    return value


def _num(value: Any, op: str) -> float:
    if not is_number(value):
        raise ExprFault(
            f"value {go_format(value)!r} cannot be used with {op}: it is not a number (quote text values)"
        )
    return float(value)
