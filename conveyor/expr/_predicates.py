"""Builtins that take a predicate closure: `filter(items, # > 2)`, `map(items, .name)`.

https://expr-lang.org/docs/language-definition#predicate

Inside the predicate `#` is the current element, `#index` its index, `#acc`
the accumulator of `reduce`, and `.field` is short for `#.field`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._values import is_number, order, require_bool, type_name

__all__ = ["PREDICATES", "apply"]

#: name -> (predicate may be omitted, one optional argument may follow the predicate)
PREDICATES: dict[str, tuple[bool, bool]] = {
    "all": (False, False),
    "none": (False, False),
    "any": (False, False),
    "one": (False, False),
    "filter": (False, False),
    "map": (False, False),
    "count": (True, False),
    "sum": (True, False),
    "find": (False, False),
    "findIndex": (False, False),
    "findLast": (False, False),
    "findLastIndex": (False, False),
    "groupBy": (False, False),
    "sortBy": (False, True),
    "reduce": (False, True),
}

Closure = Callable[[Any, int, Any], Any]  # (element, index, accumulator) -> result


def apply(name: str, items: Any, closure: Closure | None, extra: list[Any]) -> Any:
    if not isinstance(items, (list, tuple)):
        raise ExprFault(f"{name}() needs an array as its first argument, got {type_name(items)}")
    if closure is None:
        closure = _identity
    if name == "map":
        return [closure(item, i, None) for i, item in enumerate(items)]
    if name == "sum":
        return _sum([closure(item, i, None) for i, item in enumerate(items)])
    if name == "groupBy":
        return _group(items, closure)
    if name == "sortBy":
        return _sort_by(items, closure, extra[0] if extra else "asc")
    if name == "reduce":
        return _reduce(items, closure, extra)
    return _test(name, items, closure)


def _identity(item: Any, index: int, acc: Any) -> Any:
    return item


def _test(name: str, items: list[Any] | tuple[Any, ...], closure: Closure) -> Any:
    what = f"the predicate of {name}()"

    def check(i: int) -> bool:
        return require_bool(closure(items[i], i, None), what)

    indices = range(len(items))
    if name == "all":
        return all(check(i) for i in indices)
    if name == "any":
        return any(check(i) for i in indices)
    if name == "none":
        return not any(check(i) for i in indices)
    if name == "one":
        return sum(1 for i in indices if check(i)) == 1
    if name == "filter":
        return [items[i] for i in indices if check(i)]
    if name == "count":
        return sum(1 for i in indices if check(i))
    backwards = name.startswith("findLast")
    for i in reversed(indices) if backwards else indices:
        if check(i):
            return i if name.endswith("Index") else items[i]
    return -1 if name.endswith("Index") else None


def _sum(values: list[Any]) -> int | float:
    total: int | float = 0
    for v in values:
        if not is_number(v):
            raise ExprFault(f"sum() needs numbers, got {type_name(v)}")
        total += v
    return total


def _group(items: list[Any] | tuple[Any, ...], closure: Closure) -> Mapping[Any, list[Any]]:
    groups: dict[Any, list[Any]] = {}
    for i, item in enumerate(items):
        key = closure(item, i, None)
        try:
            groups.setdefault(key, []).append(item)
        except TypeError:
            raise ExprFault(f"groupBy() cannot use {type_name(key)} as a group key") from None
    return groups


def _sort_by(items: list[Any] | tuple[Any, ...], closure: Closure, direction: Any) -> list[Any]:
    if direction not in ("asc", "desc"):
        raise ExprFault(f"sortBy() order must be 'asc' or 'desc', got {direction!r}")
    keyed = [(closure(item, i, None), item) for i, item in enumerate(items)]
    for key, _ in keyed[1:]:
        order("<", key, keyed[0][0])  # raises when the keys cannot be ordered
    try:
        keyed.sort(key=lambda pair: pair[0], reverse=direction == "desc")
    except TypeError:
        raise ExprFault("sortBy() keys cannot be ordered") from None
    return [item for _, item in keyed]


def _reduce(items: list[Any] | tuple[Any, ...], closure: Closure, extra: list[Any]) -> Any:
    if extra:
        acc, start = extra[0], 0
    elif items:
        acc, start = items[0], 1
    else:
        raise ExprFault("reduce() of an empty array needs an initial value")
    for i in range(start, len(items)):
        acc = closure(items[i], i, acc)
    return acc
