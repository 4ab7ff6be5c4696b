"""Evaluator for the expr-lang subset that Argo Workflows uses.

https://argo-workflows.readthedocs.io/en/latest/variables/#expression
https://expr-lang.org/docs/language-definition

expr-lang is evaluated by hand because no maintained Python library
evaluates it (the PyPI package `expr-lang` is an empty placeholder).

Unknown identifiers are nil, a missing map key is nil, and reading a member
of nil is an error unless `?.` (or the left side of `??`) is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from conveyor.errors import ExpressionError
from conveyor.expr import _predicates
from conveyor.expr._builtins import FUNCTIONS
from conveyor.expr._fault import ExprFault, located, shorten
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
from conveyor.expr._parser import parse
from conveyor.expr._sprig import SPRIG, SprigNamespace
from conveyor.expr._timefn import DURATION_METHODS, TIME_METHODS
from conveyor.expr._values import (
    arith,
    equal,
    fetch,
    is_int,
    is_number,
    make_range,
    member_of,
    order,
    require_bool,
    string_op,
    type_name,
)

__all__ = ["evaluate", "run"]

_MISSING = object()


class _NilShort(Exception):
    """`?.` met nil: unwinds to the enclosing Chain, which yields nil."""


# Predicate runs allowed per evaluation: nested map() over big ranges would
# otherwise keep the engine busy for hours.
MAX_STEPS = 5_000_000


class _Ctx:
    __slots__ = ("env", "frames", "names", "steps")

    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env
        self.frames: list[tuple[Any, int, Any]] = []  # predicate frames: (#, #index, #acc)
        self.names: dict[str, Any] = {}  # `let` bindings
        self.steps = 0


def evaluate(expression: str, env: Mapping[str, Any]) -> Any:
    """Evaluate an expr-lang expression against `env` (nested dicts, see `build_env`)."""
    if not isinstance(expression, str):
        raise ExpressionError(f"an expression must be a string, got {type(expression).__name__}")
    return run(parse(expression), expression, env)


def run(node: Node, source: str, env: Mapping[str, Any]) -> Any:
    try:
        return _ev(node, _Ctx(env))
    except ExprFault as fault:
        raise located(fault.message, source, fault.pos) from None
    except RecursionError:
        raise ExpressionError(
            f"expression is nested too deeply to evaluate: {shorten(source)}"
        ) from None


def _ev(node: Node, ctx: _Ctx) -> Any:
    return _HANDLERS[type(node)](node, ctx)


def _literal(node: Literal, ctx: _Ctx) -> Any:
    return node.value


def _ident(node: Ident, ctx: _Ctx) -> Any:
    if node.name in ctx.names:
        return ctx.names[node.name]
    value = ctx.env.get(node.name, _MISSING)
    if value is _MISSING:
        return SPRIG if node.name == "sprig" else None
    return value


def _pointer(node: Pointer, ctx: _Ctx) -> Any:
    element, index, acc = ctx.frames[-1]
    return element if node.name == "" else index if node.name == "index" else acc


def _env(node: EnvRef, ctx: _Ctx) -> Any:
    return ctx.env


def _member(node: Member, ctx: _Ctx) -> Any:
    obj = _ev(node.obj, ctx)
    key = _ev(node.key, ctx)
    if obj is None:
        if node.optional:
            raise _NilShort
        raise ExprFault(f"cannot fetch {key!r} from nil", node.pos)
    if isinstance(obj, SprigNamespace):
        raise ExprFault(f"sprig.{key} is a function: call it, as in sprig.{key}(...)", node.pos)
    try:
        return fetch(obj, key)
    except ExprFault as fault:
        raise fault.at(node.pos) from None


def _slice(node: Slice, ctx: _Ctx) -> Any:
    obj = _ev(node.obj, ctx)
    if not isinstance(obj, (list, tuple, str)):
        raise ExprFault(f"cannot slice {type_name(obj)}", node.pos)
    size = len(obj)
    lo = _bound(node.lo, ctx, 0, size, node.pos)
    hi = _bound(node.hi, ctx, size, size, node.pos)
    return obj[lo:hi] if lo <= hi else obj[0:0]


def _bound(expr: Node | None, ctx: _Ctx, default: int, size: int, pos: int) -> int:
    if expr is None:
        return default
    value = _ev(expr, ctx)
    if not is_int(value):
        raise ExprFault(f"a slice bound must be an int, got {type_name(value)}", pos)
    if value < 0:
        value += size
    return min(max(value, 0), size)


def _chain(node: Chain, ctx: _Ctx) -> Any:
    try:
        return _ev(node.inner, ctx)
    except _NilShort:
        return None


def _unary(node: Unary, ctx: _Ctx) -> Any:
    value = _ev(node.operand, ctx)
    if node.op == "!":
        try:
            return not require_bool(value, "operator '!'")
        except ExprFault as fault:
            raise fault.at(node.pos) from None
    if is_number(value) or isinstance(value, timedelta):
        return -value if node.op == "-" else value
    raise ExprFault(f"invalid operation: {node.op}{type_name(value)}", node.pos)


def _binary(node: Binary, ctx: _Ctx) -> Any:
    op = node.op
    try:
        if op == "&&":
            return require_bool(_ev(node.left, ctx), "operator '&&'") and require_bool(
                _ev(node.right, ctx), "operator '&&'"
            )
        if op == "||":
            return require_bool(_ev(node.left, ctx), "operator '||'") or require_bool(
                _ev(node.right, ctx), "operator '||'"
            )
        left = _ev(node.left, ctx)
        if op == "??":
            return left if left is not None else _ev(node.right, ctx)
        return _OPERATORS[op](left, _ev(node.right, ctx))
    except ExprFault as fault:
        raise fault.at(node.pos) from None


def _conditional(node: Conditional, ctx: _Ctx) -> Any:
    try:
        cond = require_bool(_ev(node.cond, ctx), "the condition of '?:'")
    except ExprFault as fault:
        raise fault.at(node.pos) from None
    return _ev(node.then if cond else node.otherwise, ctx)


def _array(node: ArrayLit, ctx: _Ctx) -> Any:
    return [_ev(item, ctx) for item in node.items]


def _map(node: MapLit, ctx: _Ctx) -> Any:
    out: dict[Any, Any] = {}
    for key_node, value_node in node.pairs:
        key = _ev(key_node, ctx)
        if isinstance(key, (list, tuple, Mapping)) or not _hashable(key):
            raise ExprFault(f"cannot use {type_name(key)} as a map key", key_node.pos)
        out[key] = _ev(value_node, ctx)
    return out


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _call(node: Call, ctx: _Ctx) -> Any:
    args = [_ev(arg, ctx) for arg in node.args]
    try:
        return FUNCTIONS.invoke(node.name, args, ctx.env)
    except ExprFault as fault:
        raise fault.at(node.pos) from None


def _method(node: MethodCall, ctx: _Ctx) -> Any:
    target = _ev(node.obj, ctx)
    if target is None:
        if node.optional:
            raise _NilShort
        raise ExprFault(f"cannot call {node.name}() on nil", node.pos)
    args = [_ev(arg, ctx) for arg in node.args]
    try:
        if isinstance(target, SprigNamespace):
            return target.invoke(node.name, args)
        if isinstance(target, datetime) and node.name in TIME_METHODS:
            return TIME_METHODS.invoke(node.name, [target, *args])
        if isinstance(target, timedelta) and node.name in DURATION_METHODS:
            return DURATION_METHODS.invoke(node.name, [target, *args])
    except ExprFault as fault:
        raise fault.at(node.pos) from None
    raise ExprFault(f"{type_name(target)} has no method {node.name}()", node.pos)


def _closure_call(node: ClosureCall, ctx: _Ctx) -> Any:
    items = _ev(node.args[0], ctx)
    extra = [_ev(arg, ctx) for arg in node.args[1:]]
    body = node.closure
    run_closure: Callable[[Any, int, Any], Any] | None = None
    if body is not None:

        def run_closure(element: Any, index: int, acc: Any) -> Any:
            ctx.steps += 1
            if ctx.steps > MAX_STEPS:
                raise ExprFault(
                    f"expression does too much work (more than {MAX_STEPS} predicate runs)"
                )
            ctx.frames.append((element, index, acc))
            try:
                return _ev(body, ctx)
            finally:
                ctx.frames.pop()

    try:
        return _predicates.apply(node.name, items, run_closure, extra)
    except ExprFault as fault:
        raise fault.at(node.pos) from None


def _let(node: Let, ctx: _Ctx) -> Any:
    value = _ev(node.value, ctx)
    saved = ctx.names
    ctx.names = {**saved, node.name: value}
    try:
        return _ev(node.body, ctx)
    finally:
        ctx.names = saved


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": equal,
    "!=": lambda a, b: not equal(a, b),
    "<": lambda a, b: order("<", a, b),
    "<=": lambda a, b: order("<=", a, b),
    ">": lambda a, b: order(">", a, b),
    ">=": lambda a, b: order(">=", a, b),
    "in": member_of,
    "..": make_range,
    "contains": lambda a, b: string_op("contains", a, b),
    "startsWith": lambda a, b: string_op("startsWith", a, b),
    "endsWith": lambda a, b: string_op("endsWith", a, b),
    "matches": lambda a, b: string_op("matches", a, b),
    **{op: partial(arith, op) for op in ("+", "-", "*", "/", "%", "**")},
}

_HANDLERS: dict[type, Callable[[Any, _Ctx], Any]] = {
    Literal: _literal,
    Ident: _ident,
    Pointer: _pointer,
    EnvRef: _env,
    Member: _member,
    Slice: _slice,
    Chain: _chain,
    Unary: _unary,
    Binary: _binary,
    Conditional: _conditional,
    ArrayLit: _array,
    MapLit: _map,
    Call: _call,
    MethodCall: _method,
    ClosureCall: _closure_call,
    Let: _let,
}
