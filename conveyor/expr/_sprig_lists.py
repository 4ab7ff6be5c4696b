"""Sprig's list and dict functions, and the two helpers every sprig function shares.

https://masterminds.github.io/sprig/lists.html
https://masterminds.github.io/sprig/dicts.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._registry import Registry
from conveyor.expr._render import go_format
from conveyor.expr._values import MAX_ITEMS, equal, is_int, is_number, type_name

__all__ = ["register", "strval", "empty"]


def strval(value: Any) -> str:
    """sprig's strval: strings as they are, everything else as Go's %v prints it."""
    return value if isinstance(value, str) else go_format(value)


def empty(value: Any) -> bool:
    """sprig's `empty`: nil, false, 0, "" and empty collections are empty."""
    if value is None or value is False:
        return True
    if is_number(value):
        return value == 0
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) == 0
    return False


def _list(value: Any, fn: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ExprFault(f"cannot use {fn} on type {type_name(value)}")


def _dict(value: Any) -> Mapping[Any, Any]:
    if isinstance(value, Mapping):
        return value
    raise ExprFault(f"expected a dict argument, got {type_name(value)}")


def _int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_int(value):
        raise ExprFault(f"expected an int argument, got {type_name(value)}")
    return value


def _steps(start: int, stop: int, step: int) -> list[int]:
    if step == 0 or (stop - start) / step > MAX_ITEMS:
        raise ExprFault(f"sequence from {start} to {stop} by {step} is too long or endless")
    return list(range(start, stop, step))


def _seq(*args: Any) -> str:
    """`seq 5` -> "1 2 3 4 5"; `seq 2 -2` counts down; `seq 0 2 10` steps by 2 (bash's seq)."""
    nums = [_int(a) for a in args]
    if len(nums) == 1:
        start, end, step = 1, nums[0], 1 if nums[0] >= 1 else -1
    elif len(nums) == 2:
        start, end = nums
        step = 1 if end >= start else -1
    else:
        start, step, end = nums
        if step == 0 or (end - start) * step < 0:
            return ""
    return " ".join(str(n) for n in _steps(start, end + (1 if step > 0 else -1), step))


def _uniq(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in _list(values, "uniq"):
        if not any(equal(v, seen) for seen in out):
            out.append(v)
    return out


def _dict_of(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[strval(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _keys(*dicts: Any) -> list[Any]:
    return [k for d in dicts for k in _dict(d)]


def _get(d: Any, key: Any) -> Any:
    value = _dict(d).get(key, "")
    return value


def register(funcs: Registry) -> None:
    fn = funcs.register
    fn("list", 0, None)(lambda *v: list(v))
    fn("first", 1)(lambda v: next(iter(_list(v, "first")), None))
    fn("last", 1)(lambda v: next(reversed(_list(v, "last")), None))
    fn("rest", 1)(lambda v: _list(v, "rest")[1:])
    fn("initial", 1)(lambda v: _list(v, "initial")[:-1])
    fn("append", 2)(lambda v, x: [*_list(v, "append"), x])
    fn("prepend", 2)(lambda v, x: [x, *_list(v, "prepend")])
    fn("concat", 0, None)(lambda *vs: [x for v in vs for x in _list(v, "concat")])
    fn("reverse", 1)(lambda v: _list(v, "reverse")[::-1])
    fn("compact", 1)(lambda v: [x for x in _list(v, "compact") if not empty(x)])
    fn("has", 2)(lambda needle, v: any(equal(needle, x) for x in _list(v, "has")))
    fn("without", 1, None)(
        lambda v, *drop: [x for x in _list(v, "without") if not any(equal(x, d) for d in drop)]
    )
    fn("uniq", 1)(_uniq)
    fn("until", 1)(lambda n: _steps(0, _int(n), 1 if _int(n) >= 0 else -1))
    fn("untilStep", 3)(lambda a, b, s: _steps(_int(a), _int(b), _int(s)))
    fn("seq", 1, 3)(_seq)
    fn("dict", 0, None)(_dict_of)
    fn("get", 2)(_get)
    fn("hasKey", 2)(lambda d, k: k in _dict(d))
    fn("keys", 1, None)(_keys)
    fn("values", 1)(lambda d: list(_dict(d).values()))
    fn("pick", 1, None)(lambda d, *ks: {k: v for k, v in _dict(d).items() if k in ks})
    fn("omit", 1, None)(lambda d, *ks: {k: v for k, v in _dict(d).items() if k not in ks})
    fn("merge", 1, None)(lambda *ds: {k: v for d in reversed(ds) for k, v in _dict(d).items()})
    fn("toStrings", 1)(lambda v: [strval(x) for x in _list(v, "toStrings")])
    fn("join", 2)(lambda sep, v: _join(sep, v))


def _join(sep: Any, value: Any) -> str:
    if not isinstance(sep, str):
        raise ExprFault(f"expected a string separator, got {type_name(sep)}")
    if value is None:
        return ""
    # sprig joins any list (skipping nils) and treats a single value as a list of one.
    items = value if isinstance(value, (list, tuple)) else [value]
    return sep.join(strval(x) for x in items if x is not None)
