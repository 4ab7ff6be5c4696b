"""Parser for the expr-lang subset: precedence climbing over the token list.

https://expr-lang.org/docs/language-definition

Precedence, loosest first: `|` (pipe, 0); `||`/`or` (10); `&&`/`and` (15);
comparisons, `in`, `matches`, `contains`, `startsWith`, `endsWith` (20); `..`
(25); `+ -` (30); `* / %` (60); unary `!`/`not` (50) and `-`/`+` (90); `**`/`^`
(100, right-associative); `??` (500). The ternary `?:` and `let` bind loosest.
Member access, indexing, slicing and calls are postfix and bind tightest.
"""

from __future__ import annotations

from functools import lru_cache

from conveyor.errors import ExpressionError
from conveyor.expr._builtins import FUNCTIONS
from conveyor.expr._fault import located, shorten
from conveyor.expr._lexer import Token, tokenize
from conveyor.expr._nodes import (
    ArrayLit,
    Binary,
    Call,
    Chain,
    ClosureCall,
    Conditional,
    EnvRef,
    Ident,
    Let,
    Literal,
    MapLit,
    Member,
    MethodCall,
    Node,
    Pointer,
    Slice,
    Unary,
)
from conveyor.expr._predicates import PREDICATES

__all__ = ["MAX_DEPTH", "TOO_DEEP", "parse"]

_BINARY: dict[str, tuple[int, str]] = {
    "|": (0, "|"),
    "||": (10, "||"),
    "or": (10, "||"),
    "&&": (15, "&&"),
    "and": (15, "&&"),
    "..": (25, ".."),
    "+": (30, "+"),
    "-": (30, "-"),
    "*": (60, "*"),
    "/": (60, "/"),
    "%": (60, "%"),
    "**": (100, "**"),
    "^": (100, "**"),
    "??": (500, "??"),
}
_COMPARISONS = (
    "==",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "in",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
)
_BINARY.update({op: (20, op) for op in _COMPARISONS})
_ORDERING = ("<", ">", "<=", ">=")  # chain: 1 < x < 3 means 1 < x && x < 3
_NEGATABLE = ("in", "matches", "contains", "startsWith", "endsWith")  # "not in", ...
#: nesting limit (each bracket, prefix operator or `? :` is a level), well inside Python's recursion limit
MAX_DEPTH = 120
#: how every nesting error begins (conveyor.expr.check refuses those at submit)
TOO_DEEP = "expression is nested too deeply"


@lru_cache(maxsize=4096)
def parse(source: str) -> Node:
    """Parse an expression; raises ExpressionError naming the column of the problem."""
    if not source.strip():
        raise ExpressionError(f"empty expression {shorten(source)}")
    parser = _Parser(source)
    try:
        node = parser.expression(0)
    except RecursionError:
        raise ExpressionError(f"{TOO_DEEP}: {shorten(source)}") from None
    if parser.peek().kind != "eof":
        raise parser.error(f"unexpected {_describe(parser.peek())}")
    return node


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of expression"
    if token.kind == "str":
        return f"string {token.value!r}"
    return f"{token.value!r}" if token.kind != "ptr" else f"'#{token.value}'"


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.closures = 0  # > 0 while parsing a predicate, where '#' and '.field' are allowed
        self.depth = 0

    # -- token helpers ---------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def is_op(self, value: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "op" and token.value == value

    def expect(self, value: str) -> Token:
        if not self.is_op(value):
            raise self.error(f"expected {value!r} but found {_describe(self.peek())}")
        return self.next()

    def error(self, message: str, token: Token | None = None) -> ExpressionError:
        return located(message, self.source, (token or self.peek()).pos)

    # -- expressions -----------------------------------------------------------
    def expression(self, min_prec: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(TOO_DEEP)
        if min_prec == 0 and self.peek().kind == "name" and self.peek().value == "let":
            node = self.let()
        else:
            node = self.binary(self.unary(), min_prec)
            if min_prec == 0:
                node = self.conditional(node)
        self.depth -= 1
        return node

    def binary(self, left: Node, min_prec: int) -> Node:
        ordered: Node | None = None  # right operand of an ordering just built here, for chains
        while True:
            token = self.peek()
            negate = token.kind == "name" and token.value == "not"
            op_token = self.peek(1) if negate else token
            if negate and not (op_token.kind == "name" and op_token.value in _NEGATABLE):
                raise self.error(f"unexpected {_describe(op_token)} after 'not'", op_token)
            if op_token.kind not in ("op", "name") or op_token.value not in _BINARY:
                return left
            prec, op = _BINARY[op_token.value]
            if prec < min_prec:
                return left
            self.i += 2 if negate else 1
            if op == "|":
                left, ordered = self.pipe(left), None
                continue
            right = self.expression(prec if op == "**" else prec + 1)
            if op == "??":
                left = Binary(op, _nil_safe(left), right, op_token.pos)
            elif op in _ORDERING and ordered is not None and not negate:
                left = Binary("&&", left, Binary(op, ordered, right, op_token.pos), op_token.pos)
            else:
                left = Binary(op, left, right, op_token.pos)
            ordered = right if op in _ORDERING else None
            if negate:
                left = Unary("!", left, token.pos)

    def unary(self) -> Node:
        token = self.peek()
        if (token.kind == "op" and token.value == "!") or (
            token.kind == "name" and token.value == "not"
        ):
            self.next()
            return self.postfix(Unary("!", self.expression(50), token.pos))
        if token.kind == "op" and token.value in ("-", "+"):
            self.next()
            return self.postfix(Unary(token.value, self.expression(90), token.pos))
        return self.postfix(self.primary())

    def conditional(self, cond: Node) -> Node:
        while self.is_op("?"):
            token = self.next()
            if self.is_op(":"):  # `a ?: b` is short for `a ? a : b`
                self.next()
                cond = Conditional(cond, cond, self.expression(0), token.pos)
                continue
            then = self.expression(0)
            self.expect(":")
            cond = Conditional(cond, then, self.expression(0), token.pos)
        return cond

    def let(self) -> Node:
        token = self.next()
        name = self.next()
        if name.kind != "name":
            raise self.error("expected a variable name after 'let'", name)
        self.expect("=")
        value = self.expression(0)
        self.expect(";")
        return Let(name.value, value, self.expression(0), token.pos)

    def pipe(self, left: Node) -> Node:
        name = self.next()
        if name.kind != "name" or not self.is_op("("):
            raise self.error("the right side of '|' must be a function call, like lower()", name)
        return self.call(name, piped=left)

    # -- postfix and primary ---------------------------------------------------
    def postfix(self, node: Node) -> Node:
        chained = False
        while True:
            token = self.peek()
            if token.kind != "op" or token.value not in (".", "?.", "["):
                break
            optional = token.value == "?."
            self.next()
            if token.value == "[" or (optional and self.is_op("[")):
                if optional:
                    self.next()
                node = self.subscript(node, optional, token)
            else:
                node = self.member(node, optional)
            chained = chained or optional
        return Chain(node, node.pos) if chained else node

    def member(self, obj: Node, optional: bool) -> Node:
        name = self.next()
        if name.kind != "name":
            raise self.error(f"expected a name after '.', found {_describe(name)}", name)
        if self.is_op("("):
            return MethodCall(obj, name.value, self.arguments(), optional, name.pos)
        return Member(obj, Literal(name.value, name.pos), optional, name.pos)

    def subscript(self, obj: Node, optional: bool, bracket: Token) -> Node:
        if self.is_op(":"):
            self.next()
            hi = None if self.is_op("]") else self.expression(0)
            self.expect("]")
            return Slice(obj, None, hi, bracket.pos)
        key = self.expression(0)
        if self.is_op(":"):
            self.next()
            hi = None if self.is_op("]") else self.expression(0)
            self.expect("]")
            return Slice(obj, key, hi, bracket.pos)
        self.expect("]")
        return Member(obj, key, optional, bracket.pos)

    def primary(self) -> Node:
        token = self.next()
        kind, value = token.kind, token.value
        if kind in ("num", "str"):
            return Literal(value, token.pos)
        if kind == "name":
            if value in ("true", "false", "nil"):
                return Literal({"true": True, "false": False, "nil": None}[value], token.pos)
            if self.is_op("("):
                return self.call(token)
            return Ident(value, token.pos)
        if kind == "env":
            return EnvRef(token.pos)
        if kind == "ptr" or (kind == "op" and value == "." and self.peek().kind == "name"):
            return self.pointer(token)
        if kind == "op" and value == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if kind == "op" and value == "[":
            return ArrayLit(tuple(self.sequence("]")), token.pos)
        if kind == "op" and value == "{":
            return self.map_literal(token)
        raise self.error(f"unexpected {_describe(token)}", token)

    def pointer(self, token: Token) -> Node:
        if not self.closures:
            raise self.error(
                "'#' and '.field' can only be used inside a predicate, like filter(xs, # > 1)",
                token,
            )
        if token.kind == "ptr":
            if token.value not in ("", "index", "acc"):
                raise self.error(f"unknown pointer '#{token.value}' (use #, #index or #acc)", token)
            return Pointer(token.value, token.pos)
        # `.name` at the start of a predicate means `#.name`.
        return self.member(Pointer("", token.pos), False)

    def sequence(self, close: str) -> list[Node]:
        items: list[Node] = []
        while not self.is_op(close):
            items.append(self.expression(0))
            if not self.is_op(close):
                self.expect(",")
        self.next()
        return items

    def map_literal(self, brace: Token) -> Node:
        pairs: list[tuple[Node, Node]] = []
        while not self.is_op("}"):
            token = self.peek()
            if token.kind in ("name", "str", "num"):
                self.next()
                key: Node = Literal(
                    str(token.value) if token.kind != "str" else token.value, token.pos
                )
            elif self.is_op("("):
                key = self.expression(0)
            else:
                raise self.error(
                    f"a map key must be a name, a string, a number or (expression), not {_describe(token)}"
                )
            self.expect(":")
            pairs.append((key, self.expression(0)))
            if not self.is_op("}"):
                self.expect(",")
        self.next()
        return MapLit(tuple(pairs), brace.pos)

    def arguments(self) -> tuple[Node, ...]:
        self.expect("(")
        return tuple(self.sequence(")"))

    def call(self, name: Token, piped: Node | None = None) -> Node:
        if name.value in PREDICATES:
            return self.closure_call(name, piped)
        if name.value not in FUNCTIONS:
            raise self.error(f"unknown function {name.value}()", name)
        args = self.arguments()
        return Call(name.value, (piped, *args) if piped is not None else args, name.pos)

    def closure_call(self, name: Token, piped: Node | None) -> Node:
        optional_predicate, optional_extra = PREDICATES[name.value]
        self.expect("(")
        array = piped if piped is not None else self.expression(0)
        closure: Node | None = None
        extra: list[Node] = []
        if piped is None and not self.is_op(")"):
            self.expect(",")
        if not self.is_op(")"):
            closure = self.predicate()
            if optional_extra and self.is_op(",") and not self.is_op(")", 1):
                self.next()
                extra.append(self.expression(0))
        elif not optional_predicate:
            raise self.error(f"{name.value}() needs a predicate, like {name.value}(items, # > 0)")
        if self.is_op(","):
            self.next()
        self.expect(")")
        return ClosureCall(name.value, (array, *extra), closure, name.pos)

    def predicate(self) -> Node:
        braced = self.is_op("{")
        if braced:
            self.next()
        self.closures += 1
        body = self.expression(0)
        self.closures -= 1
        if braced:
            self.expect("}")
        return body


def _nil_safe(node: Node) -> Node:
    """The left side of `??` reads through nil members instead of failing (`a.b.c ?? 'x'`)."""
    inner = node.inner if isinstance(node, Chain) else node
    if not isinstance(inner, (Member, MethodCall, Slice)):
        return node
    return Chain(_optional(inner), inner.pos)


def _optional(node: Node) -> Node:
    if isinstance(node, Chain):
        return _optional(node.inner)
    if isinstance(node, Member):
        return Member(_optional(node.obj), node.key, True, node.pos)
    if isinstance(node, MethodCall):
        return MethodCall(_optional(node.obj), node.name, node.args, True, node.pos)
    return node
