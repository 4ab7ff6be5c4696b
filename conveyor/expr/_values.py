"""Value semantics of expr-lang on Python values, following Go where Python differs.

https://expr-lang.org/docs/language-definition

The value model: nil is None, arrays are lists, maps are dicts (any Mapping),
time.Time is an aware `datetime`, time.Duration is a `timedelta`. The rules
that differ from Python and matter to users:

- a bool never equals a number (Python says True == 1);
- a string never equals a number, and `==` across types is false, not an error;
- ordering across types is an error;
- `/` always gives a float, `%` is integer-only with Go's sign (-7 % 3 == -1),
  `**` always gives a float;
- integer results outside int64 are an error rather than a silent wrap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._regex import compile_regex

__all__ = [
    "type_name",
    "is_number",
    "is_int",
    "as_aware",
    "require_bool",
    "equal",
    "order",
    "fetch",
    "member_of",
    "arith",
    "make_range",
    "string_op",
    "check_int64",
    "MAX_ITEMS",
    "MAX_SIZE",
]

# Upper bounds on collections built from a count (ranges, repeat, until) and on
# concatenation, so one expression cannot exhaust memory.
MAX_ITEMS = 1_000_000
MAX_SIZE = 10_000_000
_INT64 = (-(2**63), 2**63 - 1)


def type_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, datetime):
        return "time"
    if isinstance(value, timedelta):
        return "duration"
    return getattr(value, "type_name", type(value).__name__)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_aware(value: datetime) -> datetime:
    # Naive datetimes are taken as UTC so they compare with aware ones instead of raising.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_int64(value: int) -> int:
    if not _INT64[0] <= value <= _INT64[1]:
        raise ExprFault(f"integer overflow: result {_short_int(value)} does not fit in int64")
    return value


def _short_int(value: int) -> str:
    return "a number with more than 19 digits" if abs(value) > 10**30 else str(value)


def require_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ExprFault(f"{what} needs a bool, got {type_name(value)}")


def equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return len(a) == len(b) and all(k in b and equal(v, b[k]) for k, v in a.items())
    if isinstance(a, datetime) and isinstance(b, datetime):
        return as_aware(a) == as_aware(b)
    if type(a) is not type(b):
        return False
    return bool(a == b)


def order(op: str, a: Any, b: Any) -> bool:
    """`<`, `<=`, `>`, `>=` between two numbers, strings, times or durations."""
    if is_number(a) and is_number(b) or isinstance(a, str) and isinstance(b, str):
        pass
    elif isinstance(a, datetime) and isinstance(b, datetime):
        a, b = as_aware(a), as_aware(b)
    elif not (isinstance(a, timedelta) and isinstance(b, timedelta)):
        raise ExprFault(f"invalid operation: {type_name(a)} {op} {type_name(b)}")
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def fetch(obj: Any, key: Any) -> Any:
    """`obj[key]` / `obj.key`: a missing map key is nil, a bad array index an error."""
    if isinstance(obj, Mapping):
        try:
            return obj.get(key)
        except TypeError:
            raise ExprFault(f"cannot use {type_name(key)} as a map key") from None
    if isinstance(obj, (list, tuple, str)):
        if isinstance(key, float) and key.is_integer():
            key = int(key)
        if not is_int(key):
            raise ExprFault(
                f"cannot fetch {_show_key(key)} from {type_name(obj)}: an index must be an int"
            )
        index = key + len(obj) if key < 0 else key
        if not 0 <= index < len(obj):
            raise ExprFault(f"index out of range: {key} (length is {len(obj)})")
        return obj[index]
    raise ExprFault(f"cannot fetch {_show_key(key)} from {type_name(obj)}")


def _show_key(key: Any) -> str:
    return repr(key) if isinstance(key, str) else f"{type_name(key)} {key!r}"[:60]


def member_of(item: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            raise ExprFault(f"cannot use {type_name(item)} as a map key") from None
    if isinstance(container, (list, tuple)):
        return any(equal(item, x) for x in container)
    raise ExprFault(
        f"operator 'in' needs an array or a map on the right, got {type_name(container)}"
    )


def arith(op: str, a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return _numeric(op, a, b)
    if op == "+":
        if (
            isinstance(a, str)
            and isinstance(b, str)
            or isinstance(a, (list, tuple))
            and isinstance(b, (list, tuple))
        ):
            if len(a) + len(b) > MAX_SIZE:
                raise ExprFault(f"result of + would hold more than {MAX_SIZE} items")
            if isinstance(a, str) and isinstance(b, str):
                return a + b
            return [*a, *b]
    if isinstance(a, (datetime, timedelta)) or isinstance(b, (datetime, timedelta)):
        try:
            return _time_arith(op, a, b)
        except OverflowError:
            raise ExprFault(f"time {op} is out of range") from None
    raise ExprFault(f"invalid operation: {type_name(a)} {op} {type_name(b)}")


def _numeric(op: str, a: int | float, b: int | float) -> int | float:
    both_int = is_int(a) and is_int(b)
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif op == "/":
        if b == 0:
            raise ExprFault("division by zero")
        return a / b
    elif op == "%":
        if not both_int:
            raise ExprFault(
                f"invalid operation: {type_name(a)} % {type_name(b)} (% needs two ints)"
            )
        if b == 0:
            raise ExprFault("integer divide by zero")
        # Go truncates toward zero, so the remainder takes the sign of the dividend.
        result = abs(int(a)) % abs(int(b))
        return -result if a < 0 else result
    else:  # "**"
        try:
            return math.pow(a, b)
        except (OverflowError, ValueError, ZeroDivisionError):
            raise ExprFault(f"{a} ** {b} is out of range") from None
    if both_int:
        return check_int64(int(result))
    if math.isinf(result) and not (math.isinf(a) or math.isinf(b)):
        raise ExprFault(f"float overflow in {op}")
    return result


def _time_arith(op: str, a: Any, b: Any) -> Any:
    if op == "-" and isinstance(a, datetime) and isinstance(b, datetime):
        return as_aware(a) - as_aware(b)
    if op in "+-" and isinstance(a, datetime) and isinstance(b, timedelta):
        return as_aware(a) + b if op == "+" else as_aware(a) - b
    if op == "+" and isinstance(a, timedelta) and isinstance(b, datetime):
        return as_aware(b) + a
    if op in "+-" and isinstance(a, timedelta) and isinstance(b, timedelta):
        return a + b if op == "+" else a - b
    raise ExprFault(f"invalid operation: {type_name(a)} {op} {type_name(b)}")


def make_range(lo: Any, hi: Any) -> list[int]:
    if not (is_int(lo) and is_int(hi)):
        raise ExprFault(
            f"invalid operation: {type_name(lo)} .. {type_name(hi)} (a range needs two ints)"
        )
    if hi - lo >= MAX_ITEMS:
        raise ExprFault(f"range {lo}..{hi} is too large (limit {MAX_ITEMS} items)")
    return list(range(lo, hi + 1))


def string_op(op: str, a: Any, b: Any) -> bool:
    """`contains`, `startsWith`, `endsWith`, `matches` between two strings."""
    if not (isinstance(a, str) and isinstance(b, str)):
        raise ExprFault(
            f"invalid operation: {type_name(a)} {op} {type_name(b)} (needs two strings)"
        )
    if op == "contains":
        return b in a
    if op == "startsWith":
        return a.startswith(b)
    if op == "endsWith":
        return a.endswith(b)
    return compile_regex(b).search(a) is not None

