"""Turning Argo objects into rows: JSON bodies, indexed columns, continue tokens.

Kept apart from the SQL so the validation rules are in one place: what a
stored workflow or template must carry, and how timestamps sort.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conveyor.errors import InvalidInput

__all__ = [
    "TEMPLATE_PLURALS",
    "WorkflowRow",
    "decode_token",
    "dump",
    "encode_token",
    "now_rfc3339",
    "template_key",
    "workflow_row",
]

#: kind -> the resource name Argo puts in its error messages
TEMPLATE_PLURALS = {
    "WorkflowTemplate": "workflowtemplates.argoproj.io",
    "ClusterWorkflowTemplate": "clusterworkflowtemplates.argoproj.io",
    "CronWorkflow": "cronworkflows.argoproj.io",
}


def dump(obj: Any, what: str) -> str:
    try:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not JSON-serializable: {exc}") from None


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sortable(value: Any, field: str, who: str) -> str:
    """RFC 3339 text -> fixed-width UTC text, so SQL text order is time order.

    Raw values would not sort: "...:00Z" sorts after "...:00.5Z" ('Z' > '.').
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{who}: {field} must be an RFC 3339 timestamp string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{who}: {field}={value!r} is not an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _metadata(obj: Any, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{what} must be an object, got {type(obj).__name__}")
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise InvalidInput(f"{what} has no metadata")
    return meta


def _required(meta: dict[str, Any], field: str, what: str) -> str:
    value = meta.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} has no metadata.{field}; set it before storing")
    return value


@dataclass(frozen=True)
class WorkflowRow:
    namespace: str
    name: str
    uid: str
    phase: str
    created_at: str
    finished_at: str | None
    labels: dict[str, str]
    body: str


def workflow_row(wf: Any) -> WorkflowRow:
    """Validate `wf` and compute its row.

    Fills a missing metadata.creationTimestamp in `wf` itself: pass a copy.
    """
    meta = _metadata(wf, "workflow")
    namespace = _required(meta, "namespace", "workflow")
    name = _required(meta, "name", f"workflow in namespace {namespace!r}")
    who = f"workflow {namespace}/{name}"
    uid = _required(meta, "uid", who)
    if not meta.get("creationTimestamp"):
        # Argo's API server always stamps this; the store does it too so that
        # "newest first" has something to sort on.
        meta["creationTimestamp"] = now_rfc3339()
    created_at = _sortable(meta["creationTimestamp"], "metadata.creationTimestamp", who)
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise InvalidInput(f"{who}: metadata.labels must map strings to strings")
    status = wf.get("status") or {}
    if not isinstance(status, dict):
        raise InvalidInput(f"{who}: status must be an object")
    phase = status.get("phase") or ""
    finished = status.get("finishedAt")
    finished_at = _sortable(finished, "status.finishedAt", who) if finished else None
    return WorkflowRow(
        namespace, name, uid, str(phase), created_at, finished_at, labels, dump(wf, who)
    )


def template_key(kind: str, manifest: Any) -> tuple[str, str]:
    """(namespace, name) of a template manifest; namespace is '' for cluster-scoped kinds."""
    if kind not in TEMPLATE_PLURALS:
        raise InvalidInput(
            f"unknown template kind {kind!r}; use one of {', '.join(TEMPLATE_PLURALS)}"
        )
    meta = _metadata(manifest, kind)
    declared = manifest.get("kind")
    if declared not in (None, kind):
        raise InvalidInput(f"manifest kind {declared!r} does not match {kind!r}")
    name = _required(meta, "name", kind)
    if kind == "ClusterWorkflowTemplate":
        return "", name
    return _required(meta, "namespace", f"{kind} {name}"), name


def encode_token(created_at: str, name: str, namespace: str) -> str:
    """Opaque keyset cursor: the sort key of the last row returned.

    The namespace is part of the key because (created_at, name) is only
    unique within one namespace, and an all-namespace listing must not skip
    or repeat rows that tie on both.
    """
    raw = json.dumps([created_at, name, namespace], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str) -> tuple[str, str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (UnicodeError, binascii.Error, ValueError):
        value = None
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)):
        raise InvalidInput(
            f"invalid continue token {token!r}; pass the token returned by the previous list call"
        )
    return value[0], value[1], value[2]
