"""The `sprig.X(...)` functions Argo exposes inside expressions.

https://argo-workflows.readthedocs.io/en/latest/variables/#expression
Function contracts: https://masterminds.github.io/sprig/

Sprig follows Go template habits: arguments come in pipeline order (the
subject last: `sprig.replace(old, new, s)`), and most functions never fail
(`int` of a non-number is 0, `get` of a missing key is ""). Only the commonly
used subset is provided; an unknown name is an error naming the function.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Any

from conveyor.expr import _sprig_lists
from conveyor.expr._fault import ExprFault
from conveyor.expr._jsonpath import parse_json
from conveyor.expr._regex import compile_regex
from conveyor.expr._registry import Registry
from conveyor.expr._render import to_json
from conveyor.expr._sprig_lists import empty, strval
from conveyor.expr._values import MAX_ITEMS, is_int, is_number, type_name

__all__ = ["SPRIG", "SprigNamespace"]

FUNCS = Registry("sprig.{}()")
_fn = FUNCS.register
_INT64 = 2**63


class SprigNamespace:
    """The value of the identifier `sprig`: only its methods can be used."""

    type_name = "sprig"

    def __repr__(self) -> str:
        return "sprig"

    def invoke(self, name: str, args: list[Any]) -> Any:
        return FUNCS.invoke(name, args)


SPRIG = SprigNamespace()


def _s(value: Any) -> str:
    # Go would reject a non-string for a `string` parameter; say so plainly.
    if not isinstance(value, str):
        raise ExprFault(f"expected a string argument, got {type_name(value)}")
    return value


def _i(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not is_int(value):
        raise ExprFault(f"expected an int argument, got {type_name(value)}")
    return value


def to_int64(value: Any) -> int:
    """cast.ToInt64 as sprig uses it: numbers truncate, strings parse, anything else is 0."""
    if isinstance(value, bool):
        return int(value)
    if is_int(value):
        return value
    if isinstance(value, float):
        return 0 if math.isnan(value) or math.isinf(value) else int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 0) if len(text) < 40 else 0
        except ValueError:
            try:
                number = float(text)
                return int(number) if number.is_integer() else 0
            except (ValueError, OverflowError):
                return 0
    return 0


def to_float64(value: Any) -> float:
    if isinstance(value, bool) or is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if "_" not in value else 0.0
        except ValueError:
            return 0.0
    return 0.0


def _wrap64(value: int) -> int:
    # sprig's arithmetic is int64 and wraps on overflow, as Go integers do.
    return (value + _INT64) % (2 * _INT64) - _INT64


# -- strings -----------------------------------------------------------------------
_fn("trim", 1)(lambda s: _s(s).strip())
_fn("trimAll", 2)(lambda cut, s: _s(s).strip(_s(cut)))
_fn("trimPrefix", 2)(lambda p, s: _s(s).removeprefix(_s(p)))
_fn("trimSuffix", 2)(lambda p, s: _s(s).removesuffix(_s(p)))
_fn("upper", 1)(lambda s: _s(s).upper())
_fn("lower", 1)(lambda s: _s(s).lower())
_fn("replace", 3)(lambda old, new, s: _s(s).replace(_s(old), _s(new)))
_fn("contains", 2)(lambda sub, s: _s(sub) in _s(s))
_fn("hasPrefix", 2)(lambda p, s: _s(s).startswith(_s(p)))
_fn("hasSuffix", 2)(lambda p, s: _s(s).endswith(_s(p)))
_fn("splitList", 2)(lambda sep, s: _s(s).split(_s(sep)) if _s(sep) else list(_s(s)))
_fn("split", 2)(
    lambda sep, s: {
        f"_{i}": p for i, p in enumerate(_s(s).split(_s(sep)) if _s(sep) else list(_s(s)))
    }
)
_fn("nospace", 1)(lambda s: "".join(_s(s).split()))
_fn("toString", 1)(strval)
_fn("cat", 0, None)(lambda *v: " ".join(strval(x) for x in v if x is not None))
_fn("quote", 0, None)(lambda *v: " ".join(to_json(strval(x)) for x in v if x is not None))
_fn("squote", 0, None)(lambda *v: " ".join(f"'{strval(x)}'" for x in v if x is not None))
_fn("indent", 2)(lambda n, s: _indent(_i(n), _s(s)))
_fn("nindent", 2)(lambda n, s: "\n" + _indent(_i(n), _s(s)))


def _indent(width: int, text: str) -> str:
    lines = text.split("\n")
    if max(width, 0) * len(lines) > MAX_ITEMS:
        raise ExprFault(f"result would be longer than {MAX_ITEMS} characters")
    return "\n".join(" " * width + line for line in lines)


@_fn("title", 1)
def _title(s: Any) -> str:
    # Go's strings.Title upper-cases the first letter of each word and leaves the rest alone.
    out, boundary = [], True
    for ch in _s(s):
        out.append(ch.upper() if boundary else ch)
        boundary = not (ch.isalnum() or ch == "_" or ch == "'")
    return "".join(out)


@_fn("repeat", 2)
def _repeat(count: Any, s: Any) -> str:
    n, text = _i(count), _s(s)
    if n < 0:
        raise ExprFault("negative repeat count")
    if n * len(text) > MAX_ITEMS:
        raise ExprFault(f"result would be longer than {MAX_ITEMS} characters")
    return text * n


@_fn("trunc", 2)
def _trunc(count: Any, s: Any) -> str:
    n, text = _i(count), _s(s)
    if n < 0:
        return text[len(text) + n :] if len(text) + n > 0 else text
    return text[:n]


@_fn("substr", 3)
def _substr(start: Any, end: Any, s: Any) -> str:
    a, b, text = _i(start), _i(end), _s(s)
    if a < 0:
        return text[:b]
    if b < 0 or b > len(text):
        return text[a:]
    return text[a:b] if a <= b else ""


# -- conversion and math -------------------------------------------------------------
_fn("int", 1)(to_int64)
_fn("int64", 1)(to_int64)
_fn("float64", 1)(to_float64)
_fn("atoi", 1)(
    lambda s: to_int64(s) if isinstance(s, str) and s.strip().lstrip("+-").isdigit() else 0
)
_fn("add", 0, None)(lambda *v: _wrap64(sum(to_int64(x) for x in v)))
_fn("add1", 1)(lambda a: _wrap64(to_int64(a) + 1))
_fn("sub", 2)(lambda a, b: _wrap64(to_int64(a) - to_int64(b)))
_fn("max", 1, None)(lambda *v: max(to_int64(x) for x in v))
_fn("min", 1, None)(lambda *v: min(to_int64(x) for x in v))
_fn("ceil", 1)(lambda v: float(math.ceil(to_float64(v))))
_fn("floor", 1)(lambda v: float(math.floor(to_float64(v))))


@_fn("mul", 1, None)
def _mul(*values: Any) -> int:
    product = 1
    for v in values:
        product = _wrap64(product * to_int64(v))
    return product


@_fn("div", 2)
def _div(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise ExprFault("integer divide by zero")
    quotient = abs(x) // abs(y)  # Go truncates toward zero
    return _wrap64(quotient if (x < 0) == (y < 0) else -quotient)


@_fn("mod", 2)
def _mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise ExprFault("integer divide by zero")
    rest = abs(x) % abs(y)
    return -rest if x < 0 else rest


# -- defaults and logic -----------------------------------------------------------------
_fn("empty", 1)(empty)
_fn("default", 1, 2)(lambda d, given=None: d if empty(given) else given)
_fn("coalesce", 0, None)(lambda *v: next((x for x in v if not empty(x)), None))
_fn("ternary", 3)(lambda yes, no, cond: yes if _bool(cond) else no)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExprFault(f"expected a bool argument, got {type_name(value)}")
    return value


# -- encoding ----------------------------------------------------------------------------
_fn("toJson", 1)(to_json)
_fn("toPrettyJson", 1)(lambda v: to_json(v, indent=2))
_fn("toRawJson", 1)(to_json)
_fn("b64enc", 1)(lambda s: base64.b64encode(_s(s).encode()).decode())
_fn("sha256sum", 1)(lambda s: hashlib.sha256(_s(s).encode()).hexdigest())
_fn("sha1sum", 1)(lambda s: hashlib.sha1(_s(s).encode()).hexdigest())


@_fn("fromJson", 1)
def _from_json(s: Any) -> Any:
    # sprig swallows parse errors and returns nothing.
    try:
        return parse_json(_s(s))
    except ExprFault:
        return None


@_fn("b64dec", 1)
def _b64dec(s: Any) -> str:
    try:
        return base64.b64decode(_s(s), validate=True).decode("utf-8", "replace")
    except ValueError as exc:
        # sprig returns the decoding error's text instead of failing.
        return f"illegal base64 data: {exc}"


# -- regular expressions ------------------------------------------------------------------
_fn("regexFind", 2)(lambda rx, s: m.group(0) if (m := compile_regex(_s(rx)).search(_s(s))) else "")
_fn("regexFindAll", 3)(
    lambda rx, s, n: _limit([m.group(0) for m in compile_regex(_s(rx)).finditer(_s(s))], _i(n))
)
_fn("regexSplit", 3)(lambda rx, s, n: _limit(compile_regex(_s(rx)).split(_s(s)), _i(n)))
_fn("regexReplaceAllLiteral", 3)(
    lambda rx, s, repl: compile_regex(_s(rx)).sub(lambda m: _s(repl), _s(s))
)


def _limit(items: list[str], n: int) -> list[str]:
    return items if n < 0 else items[:n]


@_fn("regexMatch", 2)
def _regex_match(rx: Any, s: Any) -> bool:
    # sprig's regexMatch reports an invalid pattern as "no match".
    try:
        return compile_regex(_s(rx)).search(_s(s)) is not None
    except ExprFault:
        return False


@_fn("regexReplaceAll", 3)
def _regex_replace_all(rx: Any, s: Any, repl: Any) -> str:
    template = _s(repl)
    return compile_regex(_s(rx)).sub(lambda m: _expand(m, template), _s(s))


def _expand(match: Any, template: str) -> str:
    """Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups are empty."""
    out, i = [], 0
    while i < len(template):
        ch = template[i]
        if ch != "$" or i + 1 >= len(template):
            out.append(ch)
            i += 1
            continue
        if template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if template[i + 1] == "{":
            close = template.find("}", i + 2)
            name, end = (template[i + 2 : close], close + 1) if close > 0 else ("", i)
        else:
            end = i + 1
            while end < len(template) and (template[end].isalnum() or template[end] == "_"):
                end += 1
            name = template[i + 1 : end]
        if not name:
            out.append("$")
            i += 1
            continue
        out.append(_group(match, name))
        i = end
    return "".join(out)


def _group(match: Any, name: str) -> str:
    try:
        value = match.group(int(name) if name.isdigit() else name)
    except (IndexError, ValueError):
        return ""
    return value or ""


# -- lists and dicts live in their own module ------------------------------------------------
_sprig_lists.register(FUNCS)
