"""Persistence: the SQLite store (workflows, events, logs, templates) and the artifact repository."""

from conveyor.store.artifacts import ArtifactRepo
from conveyor.store.sqlite import Store

__all__ = ["ArtifactRepo", "Store"]
