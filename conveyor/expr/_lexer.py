"""Tokenizer for the expr-lang subset used in Argo `{{=...}}` tags and `expression:` fields.

Argo: https://argo-workflows.readthedocs.io/en/latest/variables/#expression
Language: https://expr-lang.org/docs/language-definition

Words such as `and`, `in`, `matches`, `true` and `nil` are emitted as plain
names; the parser decides from position whether a word is an operator, a
literal or a member name (`sprig.contains(...)` must stay a member name).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from conveyor.expr._fault import located

__all__ = ["Token", "tokenize"]


class Token(NamedTuple):
    kind: str  # "num" | "str" | "name" | "op" | "ptr" | "env" | "eof"
    value: Any
    pos: int


_OPS2 = frozenset({"**", "??", "?.", "..", "==", "!=", "<=", ">=", "&&", "||"})
_OPS1 = frozenset("+-*/%^!<>?:|.,()[]{}=;")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_INT64_MAX = 2**63 - 1


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _after_value(tokens: list[Token]) -> bool:
    """True when a '.' at this point must be member access, not the start of `.5`."""
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind in ("num", "str", "name", "ptr", "env") or (
        last.kind == "op" and last.value in ")]}"
    )


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise located("unterminated comment", source, i)
            i = end + 2
        elif ch in _DIGITS or (
            ch == "." and i + 1 < n and source[i + 1] in _DIGITS and not _after_value(tokens)
        ):
            number, end = _number(source, i)
            tokens.append(Token("num", number, i))
            i = end
        elif ch in "'\"":
            text, end = _quoted(source, i)
            tokens.append(Token("str", text, i))
            i = end
        elif ch == "`":
            end = source.find("`", i + 1)
            if end < 0:
                raise located("unterminated string", source, i)
            tokens.append(Token("str", source[i + 1 : end], i))
            i = end + 1
        elif ch == "#":
            end = i + 1
            while end < n and _is_name_char(source[end]):
                end += 1
            tokens.append(Token("ptr", source[i + 1 : end], i))
            i = end
        elif ch == "$":
            if source.startswith("$env", i) and not (i + 4 < n and _is_name_char(source[i + 4])):
                tokens.append(Token("env", "$env", i))
                i += 4
            else:
                raise located("unexpected character '$'", source, i)
        elif ch.isalpha() or ch == "_":
            end = i + 1
            while end < n and _is_name_char(source[end]):
                end += 1
            tokens.append(Token("name", source[i:end], i))
            i = end
        elif source[i : i + 2] in _OPS2:
            tokens.append(Token("op", source[i : i + 2], i))
            i += 2
        elif ch in _OPS1:
            tokens.append(Token("op", ch, i))
            i += 1
        else:
            raise located(f"unexpected character {ch!r}", source, i)
    tokens.append(Token("eof", None, n))
    return tokens


def _digits_end(source: str, i: int, allowed: frozenset[str]) -> int:
    while i < len(source) and (source[i] in allowed or source[i] == "_"):
        i += 1
    return i


def _number(source: str, start: int) -> tuple[int | float, int]:
    n = len(source)
    prefix = source[start : start + 2].lower()
    if prefix in ("0x", "0o", "0b"):
        base, allowed = {
            "0x": (16, _HEX),
            "0o": (8, frozenset("01234567")),
            "0b": (2, frozenset("01")),
        }[prefix]
        end = _digits_end(source, start + 2, allowed)
        text = source[start + 2 : end].replace("_", "")
        if not text:
            raise located("invalid number literal", source, start)
        value: int | float = int(text, base)
    else:
        end = _digits_end(source, start, _DIGITS)
        is_float = False
        # "1..3" is a range, so a '.' only starts a fraction when a digit follows it.
        if end + 1 < n and source[end] == "." and source[end + 1] in _DIGITS:
            end = _digits_end(source, end + 1, _DIGITS)
            is_float = True
        if end < n and source[end] in "eE":
            exp = end + 1
            if exp < n and source[exp] in "+-":
                exp += 1
            if exp < n and source[exp] in _DIGITS:
                end = _digits_end(source, exp, _DIGITS)
                is_float = True
        text = source[start:end].replace("_", "")
        if is_float:
            value = float(text)
            if value == float("inf"):
                raise located("float literal is too large", source, start)
        else:
            if len(text) > 20:
                raise located("integer literal is too large", source, start)
            value = int(text)
    if isinstance(value, int) and value > _INT64_MAX:
        raise located("integer literal is too large", source, start)
    if end < n and _is_name_char(source[end]):
        raise located("invalid number literal", source, start)
    return value, end


def _quoted(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    out: list[str] = []
    i, n = start + 1, len(source)
    while i < n:
        ch = source[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            break
        esc = source[i + 1]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = source[i + 2 : i + 2 + width]
            if len(digits) != width or any(c not in _HEX for c in digits):
                raise located(f"invalid \\{esc} escape in string", source, i)
            out.append(_code_point(int(digits, 16)))
            i += 2 + width
        elif esc in "01234567":
            digits = source[i + 1 : i + 4]
            if len(digits) != 3 or any(c not in "01234567" for c in digits) or int(digits, 8) > 255:
                raise located("invalid octal escape in string", source, i)
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise located(
                f"invalid escape \\{esc} in string (write \\\\ for a backslash)", source, i
            )
    raise located("unterminated string", source, start)


def _code_point(value: int) -> str:
    # Go replaces surrogates and out-of-range code points with U+FFFD; doing
    # the same keeps every string encodable as UTF-8 later on.
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return "\ufffd"
    return chr(value)
