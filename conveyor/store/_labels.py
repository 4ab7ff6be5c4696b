"""Kubernetes label selectors: parse `a=b,c!=d,e in (x,y),!f` into requirements.

Grammar and semantics follow k8s.io/apimachinery/pkg/labels (the set-based
syntax Argo's `listOptions.labelSelector` accepts), minus the `>`/`<`
operators that only node affinity uses. Note that `!=` and `notin` also
match objects that do not carry the key at all, as in Kubernetes.
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from conveyor.errors import InvalidInput

__all__ = ["Operator", "Requirement", "parse_selector"]

Operator = Literal["=", "!=", "in", "notin", "exists", "!exists"]

# A label key is an optional DNS-subdomain prefix plus "/" plus a name; values
# use the name alphabet and may be empty. Lengths as in Kubernetes.
_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_TOKEN = re.compile(r"\s*(?:(==|!=|=|!|,|\(|\))|([^\s,()=!]+))")
_TRAILING_SPACE = re.compile(r"\s*\Z")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # "!=", "notin"


def _tokens(selector: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) with kind "op" for punctuation, "id" for words."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(selector):
        if _TRAILING_SPACE.match(selector, pos):
            break
        m = _TOKEN.match(selector, pos)
        if m is None:  # pragma: no cover - the word class accepts any other character
            raise _error(selector, pos, "unexpected character")
        kind = "op" if m.group(1) else "id"
        start = m.start(1) if m.group(1) else m.start(2)
        out.append((kind, m.group(1) or m.group(2), start))
        pos = m.end()
    return out


def _error(selector: str, pos: int, what: str) -> InvalidInput:
    return InvalidInput(
        f"invalid label selector {selector!r}: {what} at position {pos}; "
        "use e.g. 'app=web', 'tier!=db', 'env in (a,b)', 'env notin (c)', 'key' or '!key', "
        "joined by commas"
    )


def _check_key(selector: str, key: str, pos: int) -> str:
    prefix, slash, name = key.rpartition("/")
    ok = bool(_NAME.fullmatch(name)) and len(name) <= 63
    if slash:
        ok = ok and bool(_PREFIX.fullmatch(prefix)) and len(prefix) <= 253
    if not ok:
        raise _error(selector, pos, f"{key!r} is not a valid label key")
    return key


def _check_value(selector: str, value: str, pos: int) -> str:
    if value and not (_NAME.fullmatch(value) and len(value) <= 63):
        raise _error(selector, pos, f"{value!r} is not a valid label value")
    return value


class _Parser:
    def __init__(self, selector: str) -> None:
        self.selector = selector
        self.toks = _tokens(selector)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "", len(self.selector))

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        self.i += 1
        return tok

    def fail(self, what: str) -> InvalidInput:
        kind, text, pos = self.peek()
        found = "end of input" if kind == "end" else repr(text)
        return _error(self.selector, pos, f"{what}, found {found}")

    def key(self) -> str:
        kind, text, pos = self.peek()
        if kind != "id":
            raise self.fail("expected a label key")
        self.take()
        return _check_key(self.selector, text, pos)

    def requirement(self) -> Requirement:
        if self.peek()[:2] == ("op", "!"):
            self.take()
            return Requirement(self.key(), "!exists")
        key = self.key()
        kind, text, _ = self.peek()
        if kind == "end" or (kind, text) == ("op", ","):
            return Requirement(key, "exists")
        if kind == "op" and text in ("=", "==", "!="):
            self.take()
            vkind, value, vpos = self.peek()
            if vkind == "id":
                self.take()
            else:
                value = ""  # `a=` selects an empty value, as in Kubernetes
            return Requirement(
                key, "!=" if text == "!=" else "=", (_check_value(self.selector, value, vpos),)
            )
        if kind == "id" and text in ("in", "notin"):
            self.take()
            op: Operator = "in" if text == "in" else "notin"
            return Requirement(key, op, self.values())
        raise self.fail(f"expected '=', '==', '!=', 'in', 'notin', ',' or the end after {key!r}")

    def values(self) -> tuple[str, ...]:
        if self.take()[:2] != ("op", "("):
            self.i -= 1
            raise self.fail("expected '('")
        values: list[str] = []
        while True:
            kind, text, pos = self.peek()
            if kind != "id":
                raise self.fail("expected a value")
            self.take()
            values.append(_check_value(self.selector, text, pos))
            sep = self.peek()[:2]
            if sep == ("op", ")"):
                self.take()
                return tuple(values)
            if sep != ("op", ","):
                raise self.fail("expected ',' or ')'")
            self.take()

    def parse(self) -> list[Requirement]:
        reqs = [self.requirement()]
        while self.peek()[0] != "end":
            if self.take()[:2] != ("op", ","):
                self.i -= 1
                raise self.fail("expected ',' between requirements")
            reqs.append(self.requirement())
        return reqs


def parse_selector(selector: str | None) -> list[Requirement]:
    """All requirements of `selector` (ANDed); an empty selector selects everything."""
    if selector is None or selector.strip() == "":
        return []
    return _Parser(selector).parse()
