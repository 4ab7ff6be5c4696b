"""Build plain JSON-like data from YAML, refusing hostile input.

Argo reads manifests with a YAML 1.1 decoder and converts them to JSON, so
the data built here is JSON-like too: timestamps stay strings, mapping keys
are strings, and explicit tags outside YAML's core set are refused.

Data is built straight from the parser's event stream with an explicit stack
(no recursion), which is about three times faster than PyYAML's composer and
constructor and lets the loader refuse, early and cheaply, alias "bombs" (a few
lines whose anchors expand to billions of nodes), recursive aliases, absurd
nesting and duplicate keys (which YAML would silently collapse).

See https://yaml.org/spec/1.1/ and https://argo-workflows.readthedocs.io/en/latest/walk-through/argo-cli/.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from conveyor.errors import ManifestError, Problem
from conveyor.spec._limits import MAX_DEPTH
from conveyor.spec._normalize import clone

__all__ = ["parse_yaml", "MAX_DEPTH", "MAX_EXPANDED_NODES"]

#: Most nodes aliases may add to a document once expanded (what is written is
#: already bounded by the manifest size limit).
MAX_EXPANDED_NODES = 1_000_000

_T = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = _T + "str", _T + "null", _T + "bool", _T + "int", _T + "float"
_TIMESTAMP, _MERGE, _SEQ, _MAP = _T + "timestamp", _T + "merge", _T + "seq", _T + "map"

# Sentinels for YAML merge keys (`<<: *defaults`), distinct from any real value.
_MERGE_KEY: Any = object()
_MERGE_MARK: Any = "\0<<"

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Parser(_Base):  # type: ignore[misc,valid-type]
    """libyaml's parser (when present) with PyYAML's YAML 1.1 scalar resolution.

    Timestamps are not resolved implicitly (Argo keeps `2020-01-01` a string),
    nor is the lone `=` (PyYAML has no constructor for it and would fail).
    """

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_TIMESTAMP, _T + "value")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _Refused(Exception):
    """Raised inside the builder; turned into one Problem by load_documents."""


class _Frame:
    __slots__ = ("data", "anchor", "size", "height", "key", "has_key", "own", "merges", "is_map")

    def __init__(self, is_map: bool, anchor: str | None) -> None:
        self.is_map = is_map
        self.data: Any = {} if is_map else []
        self.anchor = anchor
        self.size = 1
        self.height = 1
        self.key: str | None = None
        self.has_key = False
        self.own: set[str] = set()
        self.merges: list[dict[str, Any]] = []


def _tag(tag: str) -> str:
    return "!!" + tag[len(_T) :] if tag.startswith(_T) else tag


def _at(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return (
        f"line {mark.line + 1}, column {mark.column + 1}"
        if mark is not None
        else "unknown position"
    )


class _Builder:
    """Turns one document's events into Python data, counting nodes as it goes."""

    def __init__(self, parser: Any, max_values: int | None = None) -> None:
        self.parser = parser
        self.max_values = max_values
        self.values = 0  # scalars (keys too), collections and aliases, as written
        self.stack: list[_Frame] = []
        # anchor -> (value, expanded size, height); None while its node is still open
        self.anchors: dict[str, tuple[Any, int, int] | None] = {}
        self.expanded = 0  # nodes added by aliases
        self.root: Any = None

    def document(self) -> Any:
        while True:
            event = self.parser.get_event()
            if isinstance(event, ScalarEvent):
                self._value(1, event)
                self._add(self._scalar(event), 1, 0, event)
            elif isinstance(event, AliasEvent):
                self._alias(event)
            elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                self._value(1, event)
                self._start(event)
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                self._finish(self.stack.pop(), event)
            else:  # DocumentEndEvent
                return self.root

    def _start(self, event: Any) -> None:
        is_map = isinstance(event, MappingStartEvent)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            raise _Refused(
                f"the YAML tag {_tag(event.tag)} at {_at(event)} is not supported in manifests; remove it"
            )
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(
                f"the document nests deeper than {MAX_DEPTH} levels (at {_at(event)}); "
                "no Argo manifest needs that, so it is refused"
            )
        if event.anchor is not None:
            self.anchors[event.anchor] = None
        self.stack.append(_Frame(is_map, event.anchor))

    def _finish(self, frame: _Frame, event: Any) -> None:
        if frame.merges:
            merged: dict[str, Any] = {}
            # With `<<: [*a, *b]` the first mapping wins, and the mapping's own keys win over all.
            for source in reversed(frame.merges):
                merged.update(source)
            merged.update(frame.data)
            frame.data = merged
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.data, frame.size, frame.height)
        self._add(frame.data, frame.size, frame.height, event)

    def _alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise _Refused(
                f"the alias *{event.anchor} at {_at(event)} names no anchor defined before it"
            )
        target = self.anchors[event.anchor]
        if target is None:
            raise _Refused(
                f"the alias *{event.anchor} at {_at(event)} refers to the node that contains it "
                "(a recursive alias); manifests must be finite trees"
            )
        value, size, height = target
        if len(self.stack) + height > MAX_DEPTH:
            raise _Refused(
                f"the alias *{event.anchor} at {_at(event)} makes the document nest deeper "
                f"than {MAX_DEPTH} levels"
            )
        self._count(size, event)  # aliases have their own bound (MAX_EXPANDED_NODES)
        self._value(1, event)
        self._add(value, size, height, event)

    def _value(self, count: int, event: Any) -> None:
        self.values += count
        if self.max_values is not None and self.values > self.max_values:
            raise _Refused(
                f"the document holds more than {self.max_values:,} values (mappings, lists, keys and "
                f"scalars; passed near {_at(event)}), the limit CONVEYOR_MAX_MANIFEST_VALUES sets; split "
                "the manifest, pass big data as artifacts, or raise the limit"
            )

    def _count(self, count: int, event: Any) -> None:
        self.expanded += count
        if self.expanded > MAX_EXPANDED_NODES:
            raise _Refused(
                f"the document's YAML aliases expand it by more than {MAX_EXPANDED_NODES:,} nodes "
                f"(near {_at(event)}); this looks like an alias bomb, "
                "so it is refused: write the repeated parts out or use fewer aliases"
            )

    def _add(self, value: Any, size: int, height: int, event: Any) -> None:
        if isinstance(event, ScalarEvent) and event.anchor is not None:
            self.anchors[event.anchor] = (value, 1, 0)
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1]
        parent.size += size
        parent.height = max(parent.height, height + 1)
        if not parent.is_map:
            parent.data.append(value)
        elif not parent.has_key:
            parent.key = self._key(value, event)
            parent.has_key = True
        else:
            self._set(parent, value, event)

    def _key(self, value: Any, event: Any) -> str:
        if not isinstance(event, ScalarEvent):
            raise _Refused(
                f"the mapping key at {_at(event)} is not a plain string; Argo manifests only use string keys"
            )
        if value is _MERGE_KEY:
            return _MERGE_MARK
        # Go's YAML-to-JSON step turns every key into a string; keep the text the user wrote.
        return value if isinstance(value, str) else str(event.value)

    def _set(self, frame: _Frame, value: Any, event: Any) -> None:
        key = frame.key
        frame.has_key = False
        if key is _MERGE_MARK:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(s, dict) for s in sources):
                raise _Refused(
                    f"the merge key `<<` at {_at(event)} must be given a mapping or a list of mappings"
                )
            frame.merges.extend(sources)
            return
        assert key is not None
        if key in frame.own:
            raise _Refused(
                f"the key {key!r} appears twice in the same mapping (the second near {_at(event)}); "
                "YAML would silently keep only the last one, so remove one of them"
            )
        frame.own.add(key)
        frame.data[key] = value

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.parser.resolve(ScalarNode, event.value, event.implicit)
        if tag == _STR or tag == _TIMESTAMP:
            return event.value
        if tag == _NULL:
            return None
        if tag == _MERGE:
            return _MERGE_KEY
        if tag in (_INT, _FLOAT) and ":" in event.value:
            # YAML 1.1 base-60 numbers (`1:30` is 90); Go's decoder, which Argo uses, reads text.
            return event.value
        if tag in (_BOOL, _INT, _FLOAT):
            construct = self.parser.yaml_constructors[tag]
            try:
                value = construct(self.parser, ScalarNode(tag, event.value))
            except (ValueError, IndexError, KeyError):
                # An explicit tag on text that is not of that type (`!!int abc`,
                # `!!bool maybe`), or an integer too long for Python to convert.
                kind = {_BOOL: "boolean", _INT: "integer (of at most 4300 digits)", _FLOAT: "number"}[tag]
                shown = event.value if len(event.value) <= 40 else event.value[:40] + "…"
                raise _Refused(
                    f"the value {shown!r} at {_at(event)} is not a valid {kind} ({_tag(tag)}); "
                    "fix it, or quote it to keep it as text"
                ) from None
            if isinstance(value, float) and not math.isfinite(value):
                # JSON has no spelling for it, so Argo's YAML-to-JSON step refuses the manifest.
                raise _Refused(
                    f"the value {event.value} at {_at(event)} is not a finite number, and JSON (so "
                    f"Argo's API) cannot carry NaN or infinity; quote it ('{event.value}') to keep it "
                    "as text, or use a finite number"
                )
            return value
        raise _Refused(
            f"the YAML tag {_tag(tag)} at {_at(event)} is not supported in manifests; remove it"
        )


def parse_yaml(text: str, max_values: int | None = None) -> list[tuple[int, Any]]:
    """(first line, data) of every document; raises ManifestError when unreadable.

    `max_values` bounds the values of each document, counted as it is built.
    """
    parser = _Parser(text)
    docs: list[tuple[int, Any]] = []
    try:
        while True:
            event = parser.get_event()
            if isinstance(event, StreamEndEvent):
                break
            if isinstance(event, DocumentStartEvent):
                line = event.start_mark.line + 1 if event.start_mark is not None else 1
                builder = _Builder(parser, max_values)
                data = builder.document()
                # Aliases share objects; copy so that changing one place never changes another.
                docs.append((line, clone(data) if builder.expanded else data))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        detail = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        if mark is not None and mark.index < len(text) and text[mark.index] == "\t":
            context += "; YAML does not allow tabs for indentation, use spaces"
        raise ManifestError([Problem("", f"YAML syntax error{where}: {detail}{context}")]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([Problem("", f"the file cannot be read as YAML: {exc}")]) from None
    except _Refused as exc:
        raise ManifestError([Problem("", str(exc))]) from None
    finally:
        parser.dispose()
    return docs
