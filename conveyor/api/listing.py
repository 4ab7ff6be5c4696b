"""List queries: field and label selectors, Argo's name and time filters, paging.

Label selectors and name prefixes go to the store's SQL; what the store
cannot filter (a name that contains a text, `!=`, creation and finish
times) is filtered here, page by page, so `listOptions.limit` and
`listOptions.continue` keep their meaning: each continue token is one the
store issued at the end of a page that was read whole.
The same filter decides which events a watch stream passes on.
https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conveyor.errors import InvalidInput
from conveyor.store import Requirement, Store, parse_selector

__all__ = ["ObjectFilter", "list_workflows", "page_by_name", "parse_time", "resource_version"]

_FIELDS = ("metadata.name", "metadata.namespace")
_NAME_FILTERS = ("Exact", "Prefix", "Contains")

Page = tuple[list[dict[str, Any]], str | None]


@dataclass(frozen=True)
class FieldTerm:
    field: str
    negated: bool
    value: str


def parse_field_selector(text: str | None) -> list[FieldTerm]:
    terms = []
    for raw in filter(None, (t.strip() for t in (text or "").split(","))):
        op = next((o for o in ("!=", "==", "=") if o in raw), "")
        key, _, value = raw.partition(op) if op else (raw, "", "")
        if not op or key.strip() not in _FIELDS:
            raise InvalidInput(
                f"field selector {raw!r} is not supported; use metadata.name=NAME or metadata.namespace=NAMESPACE "
                "(also with != ), comma-separated"
            )
        terms.append(FieldTerm(key.strip(), op == "!=", value.strip()))
    return terms


def parse_time(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}={value!r} is not an RFC 3339 time; write e.g. 2024-01-31T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ObjectFilter:
    """Which objects a list or watch returns; `namespace` None means every namespace."""

    namespace: str | None = None
    labels: Sequence[Requirement] = ()
    fields: Sequence[FieldTerm] = ()
    name_filter: str = "Exact"  # how a metadata.name= term matches: Exact | Prefix | Contains
    created_after: datetime | None = None
    finished_before: datetime | None = None
    label_selector: str | None = None  # the text the store's SQL filters by

    @classmethod
    def build(cls, namespace: str | None, *, label_selector: str | None = None, field_selector: str | None = None,
              name_filter: str | None = None, created_after: str | None = None,
              finished_before: str | None = None) -> ObjectFilter:
        how = (name_filter or "Exact").capitalize()
        if how not in _NAME_FILTERS:
            raise InvalidInput(f"nameFilter={name_filter!r} is not known; use one of {', '.join(_NAME_FILTERS)}")
        return cls(
            namespace=namespace,
            labels=tuple(parse_selector(label_selector)),
            fields=tuple(parse_field_selector(field_selector)),
            name_filter=how,
            created_after=parse_time(created_after, "createdAfter"),
            finished_before=parse_time(finished_before, "finishedBefore"),
            label_selector=label_selector,
        )

    def impossible(self) -> bool:
        """A metadata.namespace= term that contradicts the path's namespace matches nothing."""
        return any(t.field == "metadata.namespace" and not t.negated and self.namespace is not None
                   and t.value != self.namespace for t in self.fields)

    def name_prefix(self) -> str | None:
        """The prefix the store can narrow by (an Exact or Prefix metadata.name= term)."""
        for t in self.fields:
            if t.field == "metadata.name" and not t.negated and self.name_filter != "Contains":
                return t.value
        return None

    def _name_matches(self, name: str, want: str) -> bool:
        if self.name_filter == "Prefix":
            return name.startswith(want)
        if self.name_filter == "Contains":
            return want in name
        return name == want

    def matches(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace", "") != self.namespace:
            return False
        for t in self.fields:
            value = meta.get(t.field.removeprefix("metadata."), "")
            hit = self._name_matches(value, t.value) if t.field == "metadata.name" else value == t.value
            if hit == t.negated:
                return False
        labels = meta.get("labels") or {}
        if not all(req.matches(labels) for req in self.labels):
            return False
        if self.created_after is not None:
            created = parse_time(meta.get("creationTimestamp"), "metadata.creationTimestamp")
            if created is None or created <= self.created_after:
                return False
        if self.finished_before is not None:
            finished = parse_time((obj.get("status") or {}).get("finishedAt"), "status.finishedAt")
            if finished is None or finished >= self.finished_before:
                return False
        return True


def list_workflows(store: Store, flt: ObjectFilter, limit: int | None, token: str | None) -> Page:
    """One page of workflows, newest first, and the token for the next page (None at the end)."""
    if limit is not None and limit < 0:
        raise InvalidInput(f"listOptions.limit={limit} is negative; use a positive number, or 0 for no limit")
    if flt.impossible():
        return [], None
    out: list[dict[str, Any]] = []
    while True:
        want = limit - len(out) if limit else None
        items, token = store.list_workflows(flt.namespace, label_selector=flt.label_selector,
                                            name_prefix=flt.name_prefix(), limit=want, continue_token=token)
        out += [wf for wf in items if flt.matches(wf)]
        if token is None or (limit and len(out) >= limit):
            return out, token


def resource_version() -> str:
    """An opaque, increasing version for list replies (conveyor keeps no per-object resourceVersion)."""
    return str(time.time_ns())


def _token(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _untoken(token: str) -> tuple[str, str]:
    try:
        ns, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(ns), str(name)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidInput(f"listOptions.continue={token!r} is not a token this server issued; "
                           "list again from the start") from None


def page_by_name(items: Sequence[dict[str, Any]], accept: Callable[[dict[str, Any]], bool],
                 limit: int | None, token: str | None) -> Page:
    """A page of (namespace, name)-ordered objects: for templates, which the store lists whole."""
    if limit is not None and limit < 0:
        raise InvalidInput(f"listOptions.limit={limit} is negative; use a positive number, or 0 for no limit")

    def key(obj: dict[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return meta.get("namespace", ""), meta.get("name", "")

    after = _untoken(token) if token else None
    rows = sorted((o for o in items if accept(o) and (after is None or key(o) > after)), key=key)
    if limit and len(rows) > limit:
        return rows[:limit], _token(key(rows[limit - 1]))
    return rows, None
