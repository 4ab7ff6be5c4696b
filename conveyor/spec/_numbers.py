"""Numbers a manifest may hold: finite, and integers within 64 bits.

Argo's API carries manifests as JSON, which has no NaN or infinity (YAML's
`.nan` and `.inf` have no JSON spelling), and Kubernetes decodes integer
fields as int64 (`int32` where Argo's schema says so), refusing anything
larger. Python would keep both silently, so a manifest would run here and be
refused by Argo, or store values no JSON reader can load. These are refused
anywhere in a manifest, with the place named: a field that wants such text
(a parameter value, a label) takes it quoted.

See https://kubernetes.io/docs/reference/using-api/api-concepts/ (JSON
encoding) and https://argo-workflows.readthedocs.io/en/latest/fields/.
"""

from __future__ import annotations

import math
from typing import Any

from conveyor.errors import Problem
from conveyor.spec._limits import levels
from conveyor.spec._shape import path_of

__all__ = ["INT64_MAX", "INT64_MIN", "number_problems"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: past this many bad numbers, the rest are not listed
_MAX_LISTED = 20


def _message(value: int | float) -> str:
    if isinstance(value, float):
        shown = "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "infinity"
        return (f"{shown} is not a number JSON (and so Argo's API) can carry; "
                f"quote it (\"{shown}\") to pass it as text, or use a finite number")
    text = str(value) if value.bit_length() <= 128 else f"{str(value)[:20]}… ({len(str(abs(value)))} digits)"
    return (f"the integer {text} is outside the 64-bit range Kubernetes and Argo accept "
            f"({INT64_MIN} to {INT64_MAX}); use a smaller number, or quote it to pass it as text")


def _bad(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX


def _any_bad(manifest: Any) -> bool:
    """The quick pass every manifest takes: level by level, no paths built."""
    return any(_bad(node) for level in levels(manifest) for node in level)


def number_problems(manifest: Any) -> list[Problem]:
    """A Problem for each NaN, infinity or integer beyond int64 in `manifest` (at most 20).

    Only a manifest that has one is walked again with paths, depth first, so
    the problems come in document order. Callers have already bounded the nesting.
    """
    if not _any_bad(manifest):
        return []
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(manifest, ())]
    while stack and len(problems) < _MAX_LISTED:
        node, loc = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, (*loc, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*loc, i)) for i, v in reversed(list(enumerate(node))))
        elif _bad(node):
            problems.append(Problem(path_of(manifest, loc), _message(node)))
    return problems
