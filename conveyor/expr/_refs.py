"""Which variables an expression can read, so a large scope need not be nested whole.

A 10,000-task DAG has a scope of some 60,000 names; nesting all of them for
every `{{=...}}` costs far more than the expression. Member chains with
literal keys (`tasks['flip-coin'].outputs.result`) name their variable
statically; only dynamic access (`steps[name]`, `keys(tasks)`) needs a whole
subtree, and only `$env` needs everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from functools import lru_cache
from typing import Any

from conveyor.expr._nodes import Chain, EnvRef, Ident, Let, Literal, Member, Node
from conveyor.expr._parser import parse

__all__ = ["referenced_paths", "narrow_scope"]

Path = tuple[str, ...]
_MISSING = object()


@lru_cache(maxsize=4096)
def referenced_paths(source: str) -> frozenset[Path] | None:
    """Variable paths `source` reads; None when it may read anything (`$env`)."""
    paths: set[Path] = set()
    bound: set[str] = set()
    stack: list[Node] = [parse(source)]
    while stack:
        node = stack.pop()
        if isinstance(node, EnvRef):
            return None
        if isinstance(node, (Ident, Member, Chain)):
            path = _static_path(node)
            if path is not None:
                paths.add(path)
                continue
        if isinstance(node, Let):
            bound.add(node.name)
        stack.extend(_children(node))
    # A `let` name is not a variable of the scope.
    return frozenset(p for p in paths if p[0] not in bound)


def _static_path(node: Node) -> Path | None:
    keys: list[str] = []
    while True:
        if isinstance(node, Chain):
            node = node.inner
        elif (
            isinstance(node, Member)
            and isinstance(node.key, Literal)
            and isinstance(node.key.value, str)
        ):
            keys.append(node.key.value)
            node = node.obj
        elif isinstance(node, Ident):
            keys.append(node.name)
            return tuple(reversed(keys))
        else:
            return None


def _children(node: Node) -> Iterator[Node]:
    for field in fields(node):  # type: ignore[arg-type]
        value = getattr(node, field.name)
        if isinstance(value, tuple):
            for item in value:
                if isinstance(item, tuple):
                    yield from item
                elif item is not None:
                    yield item
        elif value is not None and hasattr(value, "pos"):
            yield value


def narrow_scope(
    scope: Mapping[str, Any], paths: frozenset[Path], always: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The part of a flat scope that the given paths can reach.

    Every dotted prefix of a path is looked up directly. One pass over the
    scope is made only for a path that is missing, is a map or holds JSON text
    (the cases where names below it add to or replace its value): it collects
    every name below that path, plus one name below each shorter prefix, which
    is enough to make that prefix a map rather than nil. A path holding a plain
    value is taken as the whole answer.
    """
    out: dict[str, Any] = {}
    below: set[str] = set()
    witnesses: set[str] = set()
    for name in always:
        if name in scope:
            out[name] = scope[name]
    for path in paths:
        for end in range(1, len(path) + 1):
            name = _join(path[:end])
            value = scope.get(name, _MISSING)
            if value is not _MISSING:
                out[name] = value
        value = out.get(_join(path), _MISSING)
        if value is _MISSING or isinstance(value, Mapping) or _json_text(value):
            below.add(_join(path) + ".")
            witnesses.update(_join(path[:end]) + "." for end in range(1, len(path)))
    if below:
        _collect(scope, tuple(below), witnesses - below, out)
    return out


def _collect(
    scope: Mapping[str, Any], below: tuple[str, ...], witnesses: set[str], out: dict[str, Any]
) -> None:
    pending = tuple(witnesses)
    for name in scope:
        if name.startswith(below):
            out[name] = scope[name]
        elif pending and name.startswith(pending):
            out[name] = scope[name]
            pending = tuple(p for p in pending if not name.startswith(p))


def _join(path: Path) -> str:
    return ".".join(path)


def _json_text(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip()[:1] in ("{", "[")
