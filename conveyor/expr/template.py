"""`{{...}}` template tags: simple `{{name}}` and expression `{{=expr}}`.

https://argo-workflows.readthedocs.io/en/latest/variables/#template-tag-kinds

A simple tag whose name is not in scope is left as written: Argo substitutes
in several passes, and the engine decides later whether a leftover tag is an
error. An expression tag is always evaluated; braces and quotes inside it are
tracked, so `{{= sprig.trim(' }} ') }}` and `{{={a: {b: 1}}}}` end where they
should. Substitution always yields text, even for a lone `{{=...}}` tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from conveyor.errors import ExpressionError
from conveyor.expr._eval import run
from conveyor.expr._fault import shorten
from conveyor.expr._parser import parse
from conveyor.expr._refs import narrow_scope, referenced_paths
from conveyor.expr._render import render
from conveyor.expr._timefn import NOW_KEY
from conveyor.expr.env import build_env

__all__ = ["substitute", "evaluate_in_scope"]

_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Simple:
    name: str
    raw: str


@dataclass(frozen=True, slots=True)
class _Expr:
    source: str
    raw: str


_Segment = str | _Simple | _Expr


def substitute(value: Any, scope: Mapping[str, Any]) -> Any:
    """Copy `value` (dicts, lists, strings), replacing `{{...}}` tags in every string.

    Dict keys are not substituted; non-string scalars pass through unchanged.
    """
    return _walk(value, scope)


def evaluate_in_scope(expression: str, scope: Mapping[str, Any]) -> Any:
    """`evaluate(expression, build_env(scope))`, but nesting only the names the expression reads."""
    if not isinstance(expression, str):
        raise ExpressionError(f"an expression must be a string, got {type(expression).__name__}")
    return run(parse(expression), expression, _env_for(expression, scope))


def _env_for(source: str, scope: Mapping[str, Any]) -> dict[str, Any]:
    paths = referenced_paths(source)
    if paths is None:
        return build_env(scope)
    return build_env(narrow_scope(scope, paths, always=(NOW_KEY,)))


def _walk(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _text(value, scope) if "{{" in value else value
    if isinstance(value, Mapping):
        return {k: _walk(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, scope) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, scope) for v in value)
    return value


def _text(text: str, scope: Mapping[str, Any]) -> str:
    out: list[str] = []
    for segment in _segments(text):
        if isinstance(segment, str):
            out.append(segment)
        elif isinstance(segment, _Simple):
            found = _lookup(segment.name, scope)
            out.append(segment.raw if found is _MISSING else render(found))
        else:
            out.append(_expression(segment, scope))
    return "".join(out)


def _expression(segment: _Expr, scope: Mapping[str, Any]) -> str:
    try:
        return render(run(parse(segment.source), segment.source, _env_for(segment.source, scope)))
    except ExpressionError as exc:
        raise ExpressionError(f"cannot substitute {shorten(segment.raw)}: {exc.message}") from None
    except RecursionError:
        raise ExpressionError(
            f"cannot substitute {shorten(segment.raw)}: value is nested too deeply"
        ) from None


def _lookup(name: str, scope: Mapping[str, Any]) -> Any:
    value = scope.get(name, _MISSING)
    if value is not _MISSING or "." not in name:
        return value
    # `{{item.a}}` also reaches into an `item` that is a map (or a list, by index).
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        base = scope.get(".".join(parts[:cut]), _MISSING)
        if isinstance(base, (Mapping, list)):
            return _dig(base, parts[cut:])
    return _MISSING


def _dig(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


@lru_cache(maxsize=8192)
def _segments(text: str) -> tuple[_Segment, ...]:
    """Split a string into literal text and tags; cached because manifests repeat strings."""
    out: list[_Segment] = []
    literal_start = i = 0
    while True:
        start = text.find("{{", i)
        if start < 0:
            break
        if text.startswith("{{=", start):
            end = _expression_end(text, start + 3)
            if end < 0:
                raise ExpressionError(
                    f"unterminated expression tag {shorten(text[start:])}: missing '}}}}'"
                )
            out.append(text[literal_start:start])
            out.append(_Expr(text[start + 3 : end].strip(), text[start : end + 2]))
        else:
            end = text.find("}}", start + 2)
            if end < 0:
                break
            inner = text.rfind("{{", start + 1, end)
            if inner >= 0 and not text.startswith("{{=", inner):
                start = inner  # "{{{x}}" or "{{ a {{b}}": the innermost tag is the real one
            out.append(text[literal_start:start])
            out.append(_Simple(text[start + 2 : end].strip(), text[start : end + 2]))
        literal_start = i = end + 2
    out.append(text[literal_start:])
    return tuple(s for s in out if s != "")


def _expression_end(text: str, i: int) -> int:
    """Offset of the `}}` closing an expression tag, skipping quoted text and `{...}` literals."""
    depth, quote, n = 0, "", len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0 and text.startswith("}}", i):
                return i
            depth = max(depth - 1, 0)
        i += 1
    return -1
