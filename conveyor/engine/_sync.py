"""Local mutexes and semaphores (`synchronization`) within one workflow.

https://argo-workflows.readthedocs.io/en/latest/synchronization/
A template-level lock is held while its node runs. Semaphore limits come from
the machine's settings (Argo reads them from a ConfigMap or a database); an
unknown semaphore has limit 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["lock_keys", "Locks"]


def lock_keys(sync: Mapping[str, Any] | None, namespace: str) -> list[str]:
    if not sync:
        return []
    keys: list[str] = []
    for mutex in sync.get("mutexes") or []:
        keys.append(f"mutex/{mutex.get('namespace') or namespace}/{mutex.get('name', '')}")
    for sem in sync.get("semaphores") or []:
        cm = sem.get("configMapKeyRef")
        if cm:
            keys.append(f"semaphore/{sem.get('namespace') or namespace}/{cm.get('name', '')}/{cm.get('key', '')}")
        elif sem.get("database"):
            keys.append(f"semaphore/db/{sem['database'].get('key', '')}")
    return keys


class Locks:
    def __init__(self, limits: Mapping[str, int] | None = None) -> None:
        self.limits = dict(limits or {})
        self.holders: dict[str, set[str]] = {}

    def limit(self, key: str) -> int:
        if key.startswith("mutex/"):
            return 1
        # "semaphore/<ns>/<configmap>/<key>" is configured as "<configmap>/<key>",
        # "semaphore/db/<key>" as "<key>".
        parts = key.split("/")
        for name in (key, "/".join(parts[2:]), parts[-1]):
            if name in self.limits:
                return max(1, int(self.limits[name]))
        return 1

    def can_acquire(self, keys: list[str], holder: str) -> bool:
        return all(
            holder in self.holders.get(k, ()) or len(self.holders.get(k, ())) < self.limit(k)
            for k in keys
        )

    def acquire(self, keys: list[str], holder: str) -> None:
        for k in keys:
            self.holders.setdefault(k, set()).add(holder)

    def release(self, keys: list[str], holder: str) -> None:
        for k in keys:
            held = self.holders.get(k)
            if held:
                held.discard(holder)
