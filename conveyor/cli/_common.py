"""What several commands share: settings, the store, reading manifests.

The store and conveyor.spec are imported where used, so commands that need
neither start fast (see `main._LazyGroup`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conveyor.config import Settings

if TYPE_CHECKING:
    from conveyor.store import Store

__all__ = ["open_store", "read_manifests", "parse_pairs", "OverlayLookup", "TEMPLATE_KINDS"]

TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


def open_store(settings: Settings) -> Store:
    from conveyor.store import Store

    settings.home.mkdir(parents=True, exist_ok=True)
    return Store.open(settings.db_path)


def read_manifests(path: str, settings: Settings) -> list[dict[str, Any]]:
    # Imported here: conveyor.spec loads Hera's models, which only manifest-reading commands need.
    from conveyor.spec import load_file

    # The server's limits on a request body, so a file `conveyor run` takes is one it would take.
    return load_file(path, max_bytes=settings.max_manifest_bytes, max_values=settings.max_manifest_values)


def parse_pairs(pairs: Sequence[str], what: str = "parameter") -> dict[str, str]:
    """["a=1", "b=x=y"] -> {"a": "1", "b": "x=y"}: the runtime's parser, imported only when there is input."""
    if not pairs:
        return {}
    from conveyor.runtime import parse_parameters

    return parse_parameters(list(pairs), what)


class OverlayLookup:
    """Templates from the file being run first, then the store's."""

    def __init__(self, store: Store | None, docs: Sequence[Mapping[str, Any]], namespace: str) -> None:
        self.store = store
        self.local: dict[tuple[str, str], Mapping[str, Any]] = {}
        for doc in docs:
            if doc.get("kind") in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
                name = (doc.get("metadata") or {}).get("name", "")
                self.local[(doc["kind"], name)] = doc
        self.namespace = namespace

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        if (kind, name) in self.local:
            return dict(self.local[(kind, name)])
        return self.store.get(kind, name, namespace) if self.store is not None else None
