"""JSONPath for Argo's `jsonpath(jsonString, path)` expression function.

https://argo-workflows.readthedocs.io/en/latest/variables/#expression
Argo evaluates paths with github.com/evilmonkeyinc/jsonpath, whose documented
contract is followed here: a *definite* path (only names and single indices,
like `$.a.b[0]`) returns the one value it names, or nil when it names nothing;
any path with a wildcard, slice, union, filter or `..` returns an array of the
matches, even when exactly one matched (so `$.employees[?(@.age>42)].age`
gives `[43]`). Supported: `$`, `.name`, `['name']`, `[0]`, `[-1]`, `[*]`,
`.*`, `[a:b:c]`, `[0,1]`, `..name`, `[?(filter)]`, `[(script)]` and the
`.length` of an array or string. Filters compare with `== != < <= > >= =~`,
combine with `&& || !`, and do `+ - * / %` arithmetic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._jsonpath_filter import MISSING, compile_filter, truthy
from conveyor.expr._values import is_int, type_name

__all__ = ["jsonpath", "parse_json"]

Step = Callable[[list[Any], Any], list[Any]]
_NAME_END = re.compile(r"[.\[]")
_INT = re.compile(r"-?\d+$")


def parse_json(text: str) -> Any:
    def reject(constant: str) -> Any:
        raise ValueError(f"invalid JSON value {constant}")

    try:
        return json.loads(text, parse_constant=reject)
    except (ValueError, RecursionError) as exc:
        raise ExprFault(f"invalid JSON: {exc}") from None


def jsonpath(document: Any, path: Any) -> Any:
    if not isinstance(path, str):
        raise ExprFault(f"the path must be a string, got {type_name(path)}")
    data = parse_json(document) if isinstance(document, str) else document
    steps, definite = _compile(path)
    nodes = [data]
    for step in steps:
        nodes = step(nodes, data)
    if definite:
        return nodes[0] if nodes else None
    return nodes


@lru_cache(maxsize=256)
def _compile(path: str) -> tuple[tuple[Step, ...], bool]:
    text = path.strip()
    if not text.startswith("$"):
        raise ExprFault(f"JSONPath {path!r} must start with '$'")
    steps: list[Step] = []
    definite = True
    i, n = 1, len(text)
    while i < n:
        if text.startswith("..", i):
            i += 2
            if i < n and text[i] == "[":
                selector, _, i = _bracket(text, i)
            else:
                selector, i = _dotted(text, i)
            steps.append(_recursive(selector))
            definite = False
        elif text[i] == ".":
            i += 1
            if i < n and text[i] == "[":
                selector, single, i = _bracket(text, i)
                definite = definite and single
            else:
                selector, i = _dotted(text, i)
                definite = definite and selector is not _wildcard
            steps.append(selector)
        elif text[i] == "[":
            selector, single, i = _bracket(text, i)
            definite = definite and single
            steps.append(selector)
        elif text[i].isspace():
            i += 1
        else:
            raise ExprFault(f"unexpected {text[i]!r} at offset {i} in JSONPath {path!r}")
    return tuple(steps), definite


def _dotted(text: str, i: int) -> tuple[Step, int]:
    if text.startswith("*", i):
        return _wildcard, i + 1
    match = _NAME_END.search(text, i)
    end = match.start() if match else len(text)
    name = text[i:end].strip()
    if not name:
        raise ExprFault(f"missing name after '.' at offset {i} in JSONPath {text!r}")
    return _key(name), end


def _bracket(text: str, i: int) -> tuple[Step, bool, int]:
    """Parse `[...]` at `i`; returns the step, whether it selects one item, and the next offset."""
    end = _closing(text, i)
    inner = text[i + 1 : end].strip()
    if inner == "*":
        return _wildcard, False, end + 1
    if inner.startswith("?(") and inner.endswith(")"):
        return _filter(compile_filter(inner[2:-1])), False, end + 1
    if inner.startswith("(") and inner.endswith(")"):
        return _script(compile_filter(inner[1:-1])), True, end + 1
    parts = [_selector(part, text) for part in _split_union(inner, text)]
    if len(parts) == 1:
        return parts[0][0], parts[0][1], end + 1
    return _union([p[0] for p in parts]), False, end + 1


def _closing(text: str, i: int) -> int:
    depth, quote = 0, ""
    for j in range(i, len(text)):
        ch = text[j]
        if quote:
            if ch == "\\":
                continue
            if ch == quote and text[j - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return j
    raise ExprFault(f"unclosed '[' at offset {i} in JSONPath {text!r}")


def _split_union(inner: str, text: str) -> list[str]:
    parts, start, quote = [], 0, ""
    for j, ch in enumerate(inner):
        if quote:
            if ch == quote and inner[j - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append(inner[start:j])
            start = j + 1
    parts.append(inner[start:])
    return [p.strip() for p in parts]


def _selector(part: str, text: str) -> tuple[Step, bool]:
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
        return _key(re.sub(r"\\(.)", r"\1", part[1:-1])), True
    if _INT.match(part):
        return _index(int(part)), True
    if ":" in part:
        bounds = [b.strip() for b in part.split(":")]
        if len(bounds) <= 3 and all(b == "" or _INT.match(b) for b in bounds):
            values = [int(b) if b else None for b in bounds] + [None] * (3 - len(bounds))
            if values[2] == 0:
                raise ExprFault(f"slice step cannot be zero in JSONPath {text!r}")
            return _slice(values[0], values[1], values[2]), False
    raise ExprFault(f"invalid selector [{part}] in JSONPath {text!r} (quote names: ['{part}'])")


def _key(name: str) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        out = []
        for node in nodes:
            if isinstance(node, Mapping):
                if name in node:
                    out.append(node[name])
            elif name == "length" and isinstance(node, (list, str)):
                out.append(len(node))
        return out

    return step


def _index(index: int) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        out = []
        for node in nodes:
            if isinstance(node, list) and -len(node) <= index < len(node):
                out.append(node[index])
        return out

    return step


def _slice(start: int | None, stop: int | None, stride: int | None) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        out: list[Any] = []
        for node in nodes:
            if isinstance(node, list):
                out.extend(node[start:stop:stride])
        return out

    return step


def _wildcard(nodes: list[Any], root: Any) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, Mapping):
            out.extend(node.values())
        elif isinstance(node, list):
            out.extend(node)
    return out


def _union(steps: list[Step]) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        return [found for node in nodes for s in steps for found in s([node], root)]

    return step


def _recursive(selector: Step) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        out: list[Any] = []
        for node in nodes:
            for descendant in _descendants(node):
                out.extend(selector([descendant], root))
        return out

    return step


def _descendants(node: Any) -> list[Any]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        if isinstance(current, Mapping):
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))
    return found


def _filter(predicate: Callable[[Any, Any], Any]) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        out: list[Any] = []
        for node in nodes:
            items = (
                node.values()
                if isinstance(node, Mapping)
                else node
                if isinstance(node, list)
                else ()
            )
            out.extend(item for item in items if truthy(predicate(item, root)))
        return out

    return step


def _script(script: Callable[[Any, Any], Any]) -> Step:
    def step(nodes: list[Any], root: Any) -> list[Any]:
        out = []
        for node in nodes:
            key = script(node, root)
            if key is MISSING:
                continue
            if is_int(key):
                out.extend(_index(key)([node], root))
            elif isinstance(key, str):
                out.extend(_key(key)([node], root))
        return out

    return step
