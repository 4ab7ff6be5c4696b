"""Loop expansion: withItems, withParam and withSequence.

https://argo-workflows.readthedocs.io/en/latest/walk-through/loops/
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from conveyor.engine.params import BindError
from conveyor.expr import substitute

__all__ = ["expand_loop", "item_label", "item_scope", "MAX_ITEMS"]

#: Largest fan-out of one loop by default (CONVEYOR_MAX_LOOP_ITEMS); a larger one is
#: almost surely a mistake and would exhaust memory before it ran.
MAX_ITEMS = 100_000


def expand_loop(
    step: Mapping[str, Any], scope: Mapping[str, Any], max_items: int = MAX_ITEMS
) -> list[Any] | None:
    """The loop's items, or None when the step has no loop; BindError past `max_items`."""
    if "withItems" in step and step["withItems"] is not None:
        items = step["withItems"]
        if not isinstance(items, list):
            raise BindError(f"withItems must be a list, got {type(items).__name__}")
        _check_size(len(items), max_items)
        return [substitute(i, scope) for i in items]
    if "withParam" in step and step["withParam"] is not None:
        raw = substitute(step["withParam"], scope)
        if isinstance(raw, list):
            _check_size(len(raw), max_items)
            return raw
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            raise BindError(
                f"withParam value could not be parsed as a JSON list: {str(raw)[:200]!r}"
            ) from None
        if not isinstance(value, list):
            raise BindError(f"withParam must be a JSON list, got {str(raw)[:200]!r}")
        _check_size(len(value), max_items)
        return value
    if "withSequence" in step and step["withSequence"] is not None:
        return _sequence(substitute(step["withSequence"], scope), max_items)
    return None


def _int(value: Any, field: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise BindError(f"withSequence.{field}: {value!r} is not an integer") from None


def _check_size(n: int, max_items: int) -> None:
    if n > max_items:
        raise BindError(
            f"loop expands to {n:,} items; the limit is {max_items:,} (CONVEYOR_MAX_LOOP_ITEMS), "
            "so loop over batches"
        )


def _sequence(seq: Mapping[str, Any], max_items: int) -> list[Any]:
    start = _int(seq.get("start", 0) or 0, "start")
    if seq.get("count") not in (None, ""):
        count = _int(seq["count"], "count")
        _check_size(count, max_items)
        numbers = list(range(start, start + count))
    else:
        end = _int(seq.get("end", 0) or 0, "end")
        _check_size(abs(end - start) + 1, max_items)
        step = 1 if end >= start else -1
        numbers = list(range(start, end + step, step))
    fmt = seq.get("format")
    if fmt:
        try:
            return [fmt % n for n in numbers]
        except (TypeError, ValueError):
            raise BindError(f"withSequence.format {fmt!r} is not a printf format for an integer") from None
    return [str(n) for n in numbers]


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def item_label(item: Any) -> str:
    """How Argo shows an item in a node name: `name(0:a)`, maps as `k1:v1,k2:v2`."""
    if isinstance(item, dict):
        return ",".join(f"{k}:{_render(item[k])}" for k in sorted(item))
    return _render(item)


def item_scope(item: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {"item": item if isinstance(item, dict | list) else _render(item)}
    if isinstance(item, dict):
        for k, v in item.items():
            scope[f"item.{k}"] = _render(v)
    return scope
