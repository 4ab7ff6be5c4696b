"""Persistence: the SQLite store (workflows, events, logs, templates) and the artifact repository."""

from conveyor.store._labels import Requirement, parse_selector
from conveyor.store.artifacts import ArtifactRepo
from conveyor.store.sqlite import Store

__all__ = ["ArtifactRepo", "Requirement", "Store", "parse_selector"]
