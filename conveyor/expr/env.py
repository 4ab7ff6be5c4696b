"""Turning Argo's flat variable scope into the nested environment expressions see.

https://argo-workflows.readthedocs.io/en/latest/variables/

Argo keeps variables under dotted names (`inputs.parameters.message`,
`steps.flip-coin.outputs.result`); expressions navigate them as nested maps
(`inputs.parameters.message`, `steps['flip-coin'].outputs.result`).

When a name is both a value and a prefix of other names (`item` and
`item.a`), the nested map wins, as in Argo, which drops the less specific key.
A map value merges with its nested keys instead, so an `item` that is a dict
keeps its fields. Label and annotation keys contain dots of their own
(`app.kubernetes.io/name`), so everything after `workflow.labels.` or
`workflow.annotations.` is kept as one key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["build_env", "split_name"]

_OPAQUE_PREFIXES = ("workflow.labels.", "workflow.annotations.")
_NO_VALUE = object()


class _Trie:
    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: Any = _NO_VALUE
        self.children: dict[str, _Trie] = {}

    def resolve(self) -> Any:
        if not self.children:
            return None if self.value is _NO_VALUE else self.value
        merged: dict[str, Any] = dict(self.value) if isinstance(self.value, Mapping) else {}
        for key, child in self.children.items():
            merged[key] = child.resolve()
        return merged


def split_name(name: str) -> list[str]:
    for prefix in _OPAQUE_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return [*prefix[:-1].split("."), name[len(prefix) :]]
    return name.split(".")


def build_env(scope: Mapping[str, Any]) -> dict[str, Any]:
    """Nest a flat scope: {"a.b": 1, "c": 2} -> {"a": {"b": 1}, "c": 2}."""
    root = _Trie()
    for name, value in scope.items():
        node = root
        for part in split_name(str(name)):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Trie()
            node = child
        node.value = value
    env = root.resolve()
    return env if isinstance(env, dict) else {}
