"""Evaluation faults and the user-facing `ExpressionError` built from them.

Inner code raises `ExprFault` with only a message; the node being evaluated
adds its position on the way out, and the public entry points turn the fault
into an `ExpressionError` that names the expression and the column, so every
failure a user sees says what broke and where.
"""

from __future__ import annotations

from conveyor.errors import ExpressionError

__all__ = ["ExprFault", "located", "shorten"]

# Long expressions are cut in messages so one bad template cannot flood a log line.
_MAX_SHOWN = 200


class ExprFault(Exception):
    """An evaluation failure that has not yet been tied to a source position."""

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def at(self, pos: int) -> ExprFault:
        """Attach `pos` unless a more precise (inner) position is already known."""
        if self.pos is None:
            self.pos = pos
        return self


def shorten(source: str) -> str:
    text = source if len(source) <= _MAX_SHOWN else source[:_MAX_SHOWN] + "…"
    return repr(text)


def located(message: str, source: str, pos: int | None) -> ExpressionError:
    where = f" at column {pos + 1}" if pos is not None else ""
    return ExpressionError(f"{message}{where} in expression {shorten(source)}")
