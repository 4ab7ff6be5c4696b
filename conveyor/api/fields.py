"""Argo's `fields` query parameter: keep, or with a leading `-` drop, dotted paths.

`fields=items.metadata.name,items.status.phase,metadata.continue` keeps only
those paths; `fields=-items.status.nodes` drops that one and keeps the rest.
The `-` applies to the whole list. A path steps through lists element by
element (`items.metadata.name` reaches into every item). Paths that name
nothing are ignored, as Argo does.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

from typing import Any

__all__ = ["apply_fields", "parse_fields", "reaches"]

#: a trie of path segments; None marks where a path ends (the whole subtree is meant)
Trie = dict[str, "Trie | None"]


def parse_fields(spec: str | None) -> tuple[bool, Trie] | None:
    """(exclude?, trie), or None when there is nothing to filter."""
    text = (spec or "").strip()
    exclude = text.startswith("-")
    trie: Trie = {}
    for path in text.removeprefix("-").split(","):
        parts = [p for p in path.strip().split(".") if p]
        node: Trie | None = trie
        for part in parts[:-1]:
            if node is None:
                break  # a shorter path already takes this whole subtree
            node = node.setdefault(part, {})
        if node is not None and parts:
            node[parts[-1]] = None
    return (exclude, trie) if trie else None


def _keep(value: Any, trie: Trie | None) -> Any:
    if trie is None:
        return value
    if isinstance(value, list):
        return [_keep(v, trie) for v in value]
    if isinstance(value, dict):
        return {k: _keep(v, trie[k]) for k, v in value.items() if k in trie}
    return value


def _drop(value: Any, trie: Trie) -> Any:
    if isinstance(value, list):
        return [_drop(v, trie) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        sub = trie.get(k, {})
        if k not in trie:
            out[k] = v
        elif sub is not None:
            out[k] = _drop(v, sub)
    return out


def apply_fields(obj: Any, spec: str | None) -> Any:
    """A filtered copy of `obj` (the object itself when `spec` is empty)."""
    parsed = parse_fields(spec)
    if parsed is None:
        return obj
    exclude, trie = parsed
    return _drop(obj, trie) if exclude else _keep(obj, trie)


def reaches(spec: str | None, path: str) -> bool:
    """Whether the answer filtered by `spec` can hold anything under the dotted `path`.

    `status.nodes` is the bulk of a large workflow: when the filter keeps none of it
    (`fields=status.phase`, or `-status.nodes`), the reader can leave it unread.
    """
    parsed = parse_fields(spec)
    if parsed is None:
        return True
    exclude, trie = parsed
    node: Trie | None = trie
    for part in path.split("."):
        if node is None:  # the filter names an ancestor of `path`: all of it
            return not exclude
        if part not in node:
            return exclude
        node = node[part]
    return not exclude or node is not None
