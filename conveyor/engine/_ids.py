"""Node IDs, pod names and timestamps in Argo's formats.

Argo names a node `<workflow>-<fnv32a(node name)>` (the root node keeps the
workflow's name) and, with POD_NAMES=v2, a pod `<workflow>-<template>-<hash>`.
See https://argo-workflows.readthedocs.io/en/latest/pod-names/
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

__all__ = ["fnv32a", "node_id", "pod_name", "rfc3339"]

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MAX_POD_NAME = 253
_K8S_NAME_TAIL = 63


def fnv32a(text: str) -> int:
    h = _FNV_OFFSET
    for byte in text.encode():
        h ^= byte
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def node_id(workflow: str, node_name: str) -> str:
    if node_name == workflow:
        return workflow
    return f"{workflow}-{fnv32a(node_name)}"


def pod_name(workflow: str, nid: str, template: str) -> str:
    """The pod of node `nid`: its id's hash after the template (the same hash as the
    node's, also for a node whose name's hash was taken: see `Machine.new_node`)."""
    if nid == workflow:
        return workflow
    suffix = nid.removeprefix(workflow)  # "-<hash>"
    prefix = f"{workflow}-{template}" if template else workflow
    # Argo trims the prefix so the whole name stays a valid object name.
    room = _MAX_POD_NAME - len(suffix)
    return prefix[:room].rstrip("-") + suffix


def rfc3339(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return _rfc3339(int(epoch_s // 1))


# Every status write renders every node's times, and most are the same few seconds:
# formatting them was a tenth of a large workflow's status write.
@functools.lru_cache(maxsize=4096)
def _rfc3339(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
