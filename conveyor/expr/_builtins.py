"""Functions callable by name: expr-lang's builtins plus Argo's additions.

expr-lang: https://expr-lang.org/docs/language-definition (string, number,
array, map, conversion and date functions). Argo adds `asInt`, `asFloat`
(aliases of `int`/`float`), `jsonpath` and a compact `toJson`:
https://argo-workflows.readthedocs.io/en/latest/variables/#expression

Builtins that take a predicate (`filter`, `map`, `all`, ...) live in
`_predicates`, because their second argument is code, not a value.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from typing import Any

from conveyor.expr import _timefn
from conveyor.expr._fault import ExprFault
from conveyor.expr._jsonpath import jsonpath, parse_json
from conveyor.expr._registry import Registry
from conveyor.expr._render import go_format, to_json
from conveyor.expr._values import MAX_ITEMS, check_int64, equal, is_int, is_number, order, type_name

__all__ = ["FUNCTIONS", "to_int", "to_float"]

FUNCTIONS = Registry("{}()")
_fn = FUNCTIONS.register
_DECIMAL_INT = re.compile(r"[+-]?[0-9]+")


def _str(value: Any, what: str = "argument") -> str:
    if not isinstance(value, str):
        raise ExprFault(f"{what} must be a string, got {type_name(value)}")
    return value


def _array(value: Any) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise ExprFault(f"expected an array, got {type_name(value)}")
    return value


def _map(value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ExprFault(f"expected a map, got {type_name(value)}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_int(value):
        raise ExprFault(f"expected an int, got {type_name(value)}")
    return value


def _num(value: Any) -> int | float:
    if not is_number(value):
        raise ExprFault(f"expected a number, got {type_name(value)}")
    return value


def _numbers(args: tuple[Any, ...]) -> list[int | float]:
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
    for v in values:
        if not is_number(v):
            raise ExprFault(f"expected numbers, got {type_name(v)}")
    return values


# -- conversion ----------------------------------------------------------------
@_fn("int", 1)
def to_int(value: Any) -> int:
    if is_int(value):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ExprFault(f"cannot convert {go_format(value)} to int")
        return check_int64(int(value))
    if isinstance(value, str):
        # Go's strconv.Atoi: ASCII digits with an optional sign, nothing else.
        if not _DECIMAL_INT.fullmatch(value) or len(value) > 20:
            raise ExprFault(f"cannot convert {value!r} to int")
        return check_int64(int(value))
    raise ExprFault(f"cannot convert {type_name(value)} to int")


@_fn("float", 1)
def to_float(value: Any) -> float:
    if is_number(value):
        return float(value)
    if isinstance(value, str):
        text = value
        # Python also accepts "1_0" and surrounding spaces; Go's ParseFloat does not.
        if text and "_" not in text and text == text.strip():
            try:
                return float(text)
            except ValueError:
                pass
        raise ExprFault(f"cannot convert {value!r} to float")
    raise ExprFault(f"cannot convert {type_name(value)} to float")


FUNCTIONS.alias("asInt", "int")
FUNCTIONS.alias("asFloat", "float")
_fn("string", 1)(go_format)
_fn("type", 1)(type_name)
_fn("toJSON", 1)(lambda v: to_json(v, indent=2))
_fn("toJson", 1)(to_json)  # Argo's compact variant
_fn("fromJSON", 1)(lambda s: parse_json(_str(s)))
_fn("toBase64", 1)(lambda s: base64.b64encode(_str(s).encode()).decode())
_fn("fromBase64", 1)(lambda s: base64.b64decode(_str(s), validate=True).decode("utf-8", "replace"))
_fn("jsonpath", 2)(jsonpath)


@_fn("len", 1)
def _len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    raise ExprFault(f"cannot take the length of {type_name(value)}")


# -- numbers -------------------------------------------------------------------
@_fn("abs", 1)
def _abs(value: Any) -> int | float:
    return abs(_num(value))


_fn("ceil", 1)(lambda v: float(math.ceil(_num(v))))
_fn("floor", 1)(lambda v: float(math.floor(_num(v))))
_fn("max", 1, None)(lambda *a: _extreme(a, ">"))
_fn("min", 1, None)(lambda *a: _extreme(a, "<"))


@_fn("round", 1)
def _round(value: Any) -> float:
    # Half away from zero, like Go's math.Round (Python's round() rounds half to even).
    x = _num(value)
    return math.copysign(math.floor(abs(x) + 0.5), x)


@_fn("mean", 1)
def _mean(values: Any) -> float:
    numbers = _numbers((_array(values),))
    return sum(numbers) / len(numbers) if numbers else 0.0


def _extreme(args: tuple[Any, ...], op: str) -> Any:
    values = _numbers(args)
    if not values:
        raise ExprFault("needs at least one number")
    best = values[0]
    for v in values[1:]:
        if order(op, v, best):
            best = v
    return best


@_fn("median", 1)
def _median(values: Any) -> float:
    numbers = sorted(_numbers((_array(values),)))
    if not numbers:
        return 0.0
    mid = len(numbers) // 2
    return float(numbers[mid]) if len(numbers) % 2 else (numbers[mid - 1] + numbers[mid]) / 2


# -- strings -------------------------------------------------------------------
_fn("upper", 1)(lambda s: _str(s).upper())
_fn("lower", 1)(lambda s: _str(s).lower())
_fn("trim", 1, 2)(lambda s, chars=None: _str(s).strip(None if chars is None else _str(chars)))
_fn("trimPrefix", 2)(lambda s, p: _str(s).removeprefix(_str(p)))
_fn("trimSuffix", 2)(lambda s, p: _str(s).removesuffix(_str(p)))
_fn("hasPrefix", 2)(lambda s, p: _str(s).startswith(_str(p)))
_fn("hasSuffix", 2)(lambda s, p: _str(s).endswith(_str(p)))
_fn("indexOf", 2)(lambda s, sub: _str(s).find(_str(sub)))
_fn("lastIndexOf", 2)(lambda s, sub: _str(s).rfind(_str(sub)))
_fn("replace", 3)(lambda s, old, new: _str(s).replace(_str(old), _str(new)))


@_fn("repeat", 2)
def _repeat(s: Any, n: Any) -> str:
    text, times = _str(s), _count(n)
    if times < 0:
        raise ExprFault("negative repeat count")
    if len(text) * times > MAX_ITEMS:
        raise ExprFault(f"result would be longer than {MAX_ITEMS} characters")
    return text * times


@_fn("split", 2, 3)
def split(s: Any, sep: Any, n: Any = -1, *, after: bool = False) -> list[str]:
    text, separator, limit = _str(s), _str(sep), _count(n)
    if limit == 0:
        return []
    if separator == "":
        # Go splits into single characters when the separator is empty.
        parts = (
            list(text)
            if limit < 0 or limit >= len(text)
            else [*text[: limit - 1], text[limit - 1 :]]
        )
        return parts
    parts = text.split(separator, limit - 1) if limit > 0 else text.split(separator)
    if after:
        parts = [p + separator for p in parts[:-1]] + parts[-1:]
    return parts


_fn("splitAfter", 2, 3)(lambda s, sep, n=-1: split(s, sep, n, after=True))


@_fn("join", 1, 2)
def _join(values: Any, sep: Any = "") -> str:
    return _str(sep).join(v if isinstance(v, str) else go_format(v) for v in _array(values))


# -- arrays and maps -----------------------------------------------------------
_fn("first", 1)(lambda a: _array(a)[0] if _array(a) else None)
_fn("last", 1)(lambda a: _array(a)[-1] if _array(a) else None)
_fn("take", 2)(lambda a, n: list(_array(a)[: max(_count(n), 0)]))
_fn("reverse", 1)(lambda a: list(reversed(_array(a))))
_fn("keys", 1)(lambda m: list(_map(m).keys()))
_fn("values", 1)(lambda m: list(_map(m).values()))
_fn("toPairs", 1)(lambda m: [[k, v] for k, v in _map(m).items()])
_fn("concat", 0, None)(lambda *arrays: [x for a in arrays for x in _array(a)])


@_fn("get", 2)
def _get(container: Any, key: Any) -> Any:
    if isinstance(container, Mapping):
        try:
            return container.get(key)
        except TypeError:
            return None
    if (
        isinstance(container, (list, tuple))
        and is_int(key)
        and -len(container) <= key < len(container)
    ):
        return container[key]
    return None


@_fn("fromPairs", 1)
def _from_pairs(pairs: Any) -> dict[Any, Any]:
    out = {}
    for pair in _array(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ExprFault("expected an array of [key, value] pairs")
        try:
            out[pair[0]] = pair[1]
        except TypeError:
            raise ExprFault(f"cannot use {type_name(pair[0])} as a map key") from None
    return out


@_fn("uniq", 1)
def _uniq(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in _array(values):
        if not any(equal(v, seen) for seen in out):
            out.append(v)
    return out


@_fn("flatten", 1)
def _flatten(values: Any) -> list[Any]:
    out: list[Any] = []
    stack = [iter(_array(values))]
    while stack:
        for v in stack[-1]:
            if isinstance(v, (list, tuple)):
                stack.append(iter(v))
                break
            out.append(v)
        else:
            stack.pop()
    return out


@_fn("sort", 1, 2)
def _sort(values: Any, direction: Any = "asc") -> list[Any]:
    if direction not in ("asc", "desc"):
        raise ExprFault(f"order must be 'asc' or 'desc', got {direction!r}")
    items = list(_array(values))
    for v in items[1:]:
        order("<", v, items[0])  # raises on a mix of types that cannot be ordered
    return sorted(items, reverse=direction == "desc")


# -- time ------------------------------------------------------------------------
_fn("now", 0, needs_env=True)(_timefn.now)
_fn("duration", 1)(_timefn.parse_duration)


@_fn("date", 1, 3)
def _date(value: Any, layout: Any = None, zone: Any = None) -> Any:
    if layout is not None:
        raise ExprFault("a Go layout argument is not supported; pass an RFC 3339 string")
    return _timefn.parse_time(value)
