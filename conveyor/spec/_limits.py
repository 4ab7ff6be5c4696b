"""The limits a manifest must stay within, so that hostile input stays cheap to refuse.

Nesting depth is fixed: Python's own recursion limit (copying, validating and
storing a manifest all recurse) puts a ceiling on it, and real manifests stay
under 30 levels. The expansion limits (items per loop, nodes per workflow) are
settings (`CONVEYOR_MAX_LOOP_ITEMS`, `CONVEYOR_MAX_NODES`); `validate` takes
any object that carries them, `conveyor.config.Settings` included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DEFAULT_LIMITS",
    "ExpansionLimits",
    "Limits",
    "MAX_DEPTH",
    "levels",
    "nesting_problem",
    "too_deep",
]

#: Deepest nesting accepted; real manifests stay under 30 levels.
MAX_DEPTH = 200


class ExpansionLimits(Protocol):
    """How far loops may expand a workflow (Settings has these fields)."""

    @property
    def max_loop_items(self) -> int: ...

    @property
    def max_nodes(self) -> int: ...


@dataclass(frozen=True)
class Limits:
    max_loop_items: int = 100_000
    max_nodes: int = 200_000


#: the defaults of CONVEYOR_MAX_LOOP_ITEMS and CONVEYOR_MAX_NODES
DEFAULT_LIMITS = Limits()


def too_deep(what: str = "the document") -> str:
    return (
        f"{what} nests deeper than {MAX_DEPTH} levels; no Argo manifest needs that, so it is "
        "refused (flatten the data, or pass deep data as a JSON string parameter)"
    )


def levels(data: Any) -> Iterator[list[Any]]:
    """The values of `data` level by level: [data], then its children, and so on.

    Iterative (one list append per value, no recursion), so it is quick on wide
    documents and safe on any as deep as a JSON decoder allowed.
    """
    level = [data]
    while level:
        yield level
        below: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                below.extend(node.values())
            elif isinstance(node, list):
                below.extend(node)
        level = below


def nesting_problem(data: Any, what: str = "the document") -> str | None:
    """A message when `data` nests deeper than MAX_DEPTH, else None."""
    for depth, level in enumerate(levels(data)):
        if depth == MAX_DEPTH:
            return too_deep(what) if any(isinstance(n, (dict, list)) for n in level) else None
    return None
