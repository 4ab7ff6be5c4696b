"""A named table of callable functions with arity checks.

The expr builtins, Argo's extra functions, sprig's namespace and the time
methods are all tables of this kind; calling through `Registry.invoke` gives
every one of them the same argument-count messages and turns Python's own
exceptions from a bad argument into an `ExprFault` naming the function.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.expr._fault import ExprFault

__all__ = ["Registry"]

# Errors a function may raise on bad input; anything else is a bug and propagates.
_INPUT_ERRORS = (
    TypeError,
    ValueError,
    OverflowError,
    ZeroDivisionError,
    re.error,
    binascii.Error,
    RecursionError,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: variadic
    needs_env: bool


class Registry:
    def __init__(self, label: str) -> None:
        self.label = label  # how a function is shown in messages: "len()" or "sprig.trim()"
        self._entries: dict[str, _Entry] = {}

    def register(
        self, name: str, min_args: int, max_args: int | None = -1, *, needs_env: bool = False
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator; `max_args=-1` means exactly `min_args`, None means any number."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            upper = min_args if max_args == -1 else max_args
            self._entries[name] = _Entry(fn, min_args, upper, needs_env)
            return fn

        return decorate

    def alias(self, name: str, existing: str) -> None:
        self._entries[name] = self._entries[existing]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def invoke(self, name: str, args: list[Any], env: Mapping[str, Any] | None = None) -> Any:
        entry = self._entries.get(name)
        shown = self.label.format(name)
        if entry is None:
            raise ExprFault(f"unknown function {shown}")
        count = len(args)
        if count < entry.min_args or (entry.max_args is not None and count > entry.max_args):
            raise ExprFault(f"{shown} {_expects(entry)}, got {count}")
        try:
            if entry.needs_env:
                return entry.fn(env if env is not None else {}, *args)
            return entry.fn(*args)
        except ExprFault as fault:
            if fault.message.startswith(shown):
                raise
            raise ExprFault(f"{shown}: {fault.message}", fault.pos) from None
        except _INPUT_ERRORS as exc:
            raise ExprFault(f"{shown}: {exc}") from None


def _expects(entry: _Entry) -> str:
    lo, hi = entry.min_args, entry.max_args
    if hi is None:
        return f"takes at least {lo} argument{'s' if lo != 1 else ''}"
    if lo == hi:
        return f"takes {lo} argument{'s' if lo != 1 else ''}"
    return f"takes {lo} to {hi} arguments"
