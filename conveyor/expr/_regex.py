"""Regular expressions as Argo evaluates them: RE2, in time linear in the input.

https://expr-lang.org/docs/language-definition#string-operators (`matches`),
https://masterminds.github.io/sprig/strings.html (`regexFind`, ...), and
govaluate's `=~` in `when:` all use Go's `regexp` package, whose syntax and
guarantees are RE2's. Python's `re` backtracks: one pattern such as `(a+)+$`
in a manifest would keep the server busy for ever. Google's RE2 bindings give
Go's syntax (no backreferences or lookaround) and Go's linear-time matching.

Strings holding lone UTF-16 surrogates (JSON's `"\\ud800"` decodes to one in
Python) are matched as Go sees them after decoding: with U+FFFD in their place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import re2

from conveyor.errors import ExpressionError
from conveyor.expr._fault import ExprFault

__all__ = ["Regex", "compile_regex", "compile_pattern"]

#: RE2's own default; a pattern whose program needs more is refused, not built.
_MAX_MEM_BYTES = 8 << 20


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error reaches the user in the ExprFault instead
    options.max_mem = _MAX_MEM_BYTES
    return options


_OPTIONS = _options()


def _valid(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, as Go would decode it."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class Regex:
    """A compiled pattern with the few `re.Pattern` methods conveyor uses."""

    __slots__ = ("_rx",)

    def __init__(self, compiled: Any) -> None:
        self._rx = compiled

    def search(self, text: str) -> Any:
        return self._rx.search(_valid(text))

    def finditer(self, text: str) -> Iterator[Any]:
        return iter(self._rx.finditer(_valid(text)))

    def split(self, text: str) -> list[str]:
        return list(self._rx.split(_valid(text)))

    def sub(self, repl: Callable[[Any], str], text: str) -> str:
        return str(self._rx.sub(repl, _valid(text)))


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> Regex:
    try:
        return Regex(re2.compile(_valid(pattern), _OPTIONS))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ExprFault(f"invalid regular expression {pattern!r}: {reason}") from None


def compile_pattern(pattern: str) -> Regex:
    """`compile_regex` for callers outside expressions (log `grep`): ExpressionError if invalid."""
    try:
        return compile_regex(pattern)
    except ExprFault as fault:
        raise ExpressionError(fault.message) from None
