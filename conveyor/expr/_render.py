"""Turning values into text the way Go does.

Three renderings are needed:

- `go_format`: Go's `fmt.Sprintf("%v")`, used by `string()`, sprig's
  `toString` and string concatenation in `when:` (`[1 2]`, `map[a:1]`, `1e+06`).
- `to_json`: Go's `encoding/json` (sorted map keys, `3.0` as `3`), used by
  `toJSON`, `toJson` and sprig's `toJson`.
- `render`: what a `{{...}}` placeholder becomes in the manifest. Strings go in
  as they are, scalars as Go prints them, and arrays and maps as compact JSON
  (Argo prints those with `%v`, which nobody can parse back; see
  https://github.com/argoproj/argo-workflows/issues/10909).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from conveyor.expr._fault import ExprFault
from conveyor.expr._values import as_aware, type_name

__all__ = ["render", "go_format", "to_json", "format_duration", "format_time"]


def render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, (list, tuple, Mapping)):
        return to_json(value)
    if isinstance(value, float):
        return _float(value, low=-6, high=21, pad_negative=False)
    return go_format(value)


def go_format(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # strconv's shortest 'g' format switches to exponent form from 1e+06 on.
        return _float(value, low=-4, high=6, pad_negative=True)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: (type_name(kv[0]), str(kv[0])))
        return "map[" + " ".join(f"{go_format(k)}:{go_format(v)}" for k, v in items) + "]"
    if isinstance(value, datetime):
        t = as_aware(value).astimezone(UTC)
        frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
        return t.strftime("%Y-%m-%d %H:%M:%S") + frac + " +0000 UTC"
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value)


def _float(value: float, *, low: int, high: int, pad_negative: bool) -> str:
    """Shortest round-trip digits; exponent form when the exponent is < low or >= high."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    exp10 = len(digits) - 1 + int(exponent)
    if exp10 < low or exp10 >= high:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        width = 2 if exp10 >= 0 or pad_negative else 1
        return f"{sign}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):0{width}d}"
    if exp10 >= 0:
        whole, frac = digits[: exp10 + 1].ljust(exp10 + 1, "0"), digits[exp10 + 1 :]
    else:
        whole, frac = "0", "0" * (-exp10 - 1) + digits
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def to_json(value: Any, indent: int | None = None) -> str:
    out: list[str] = []
    _json(value, out, indent, 0)
    return "".join(out)


def _json(value: Any, out: list[str], indent: int | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ExprFault(f"json: unsupported value: {go_format(value)}")
        out.append(_float(value, low=-6, high=21, pad_negative=False))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, datetime):
        out.append(json.dumps(format_time(value)))
    elif isinstance(value, timedelta):
        # Go marshals a time.Duration as its integer count of nanoseconds.
        out.append(str((value // timedelta(microseconds=1)) * 1000))
    elif isinstance(value, (list, tuple)):
        _container("[", "]", [(None, v) for v in value], out, indent, level)
    elif isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        _container("{", "}", items, out, indent, level)
    else:
        raise ExprFault(f"json: unsupported type {type_name(value)}")


def _container(
    open_: str,
    close: str,
    items: Sequence[tuple[str | None, Any]],
    out: list[str],
    indent: int | None,
    level: int,
) -> None:
    out.append(open_)
    if not items:
        out.append(close)
        return
    inner = "\n" + " " * (indent * (level + 1)) if indent is not None else ""
    for i, (key, item) in enumerate(items):
        if i:
            out.append(",")
        out.append(inner)
        if key is not None:
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(": " if indent is not None else ":")
        _json(item, out, indent, level + 1)
    if indent is not None:
        out.append("\n" + " " * (indent * level))
    out.append(close)


def format_time(value: datetime) -> str:
    """RFC 3339 with a `Z` for UTC, as Go marshals a time.Time."""
    text = as_aware(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_duration(value: timedelta) -> str:
    """Go's time.Duration.String(): `1h2m3.5s`, `1.5ms`, `0s`."""
    micros = value // timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros < 1000:
        return f"{sign}{micros}µs"
    if micros < 1_000_000:
        return f"{sign}{_trim(micros, 1000)}ms"
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return f"{sign}{text}{_trim(rest, 1_000_000)}s"


def _trim(amount: int, unit: int) -> str:
    whole, frac = divmod(amount, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")
