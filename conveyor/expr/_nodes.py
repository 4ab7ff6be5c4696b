"""Syntax tree of the expr-lang subset (https://expr-lang.org/docs/language-definition).

Every node keeps `pos`, the offset of the token that produced it, so runtime
errors can point at the column that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "Node",
    "Literal",
    "Ident",
    "Pointer",
    "EnvRef",
    "Member",
    "Slice",
    "Chain",
    "Unary",
    "Binary",
    "Conditional",
    "ArrayLit",
    "MapLit",
    "Call",
    "MethodCall",
    "ClosureCall",
    "Let",
]


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    pos: int


@dataclass(frozen=True, slots=True)
class Ident:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Pointer:
    """`#` (name ""), `#index` or `#acc` inside a predicate closure."""

    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class EnvRef:
    """`$env`: the whole variable map."""

    pos: int


@dataclass(frozen=True, slots=True)
class Member:
    """`obj.name` or `obj[key]`; `optional` for `?.`, which yields nil on a nil `obj`."""

    obj: Node
    key: Node
    optional: bool
    pos: int


@dataclass(frozen=True, slots=True)
class Slice:
    obj: Node
    lo: Node | None
    hi: Node | None
    pos: int


@dataclass(frozen=True, slots=True)
class Chain:
    """Boundary of a member chain holding a `?.`: a nil short-circuit stops here."""

    inner: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "!" or "-" or "+"
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Conditional:
    cond: Node
    then: Node
    otherwise: Node
    pos: int


@dataclass(frozen=True, slots=True)
class ArrayLit:
    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class MapLit:
    pairs: tuple[tuple[Node, Node], ...]
    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a builtin or Argo function by name, e.g. `len(x)`, `jsonpath(s, p)`."""

    name: str
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class MethodCall:
    """`obj.name(args)`: `sprig.trim(x)`, `(now() - t).Seconds()`."""

    obj: Node
    name: str
    args: tuple[Node, ...]
    optional: bool
    pos: int


@dataclass(frozen=True, slots=True)
class ClosureCall:
    """A builtin taking a predicate: `filter(arr, # > 1)`; `closure` is None when omitted."""

    name: str
    args: tuple[Node, ...]
    closure: Node | None
    pos: int


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: Node
    body: Node
    pos: int


Node: TypeAlias = (
    Literal
    | Ident
    | Pointer
    | EnvRef
    | Member
    | Slice
    | Chain
    | Unary
    | Binary
    | Conditional
    | ArrayLit
    | MapLit
    | Call
    | MethodCall
    | ClosureCall
    | Let
)
