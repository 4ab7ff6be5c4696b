"""Persistence: the SQLite store (workflows, events, logs, templates, tokens, secrets) and the artifact repository."""

from conveyor.store._labels import Requirement, parse_selector
from conveyor.store.artifacts import ArtifactRepo
from conveyor.store.secrets import SecretInfo, SecretKey
from conveyor.store.sqlite import Store
from conveyor.store.tokens import ALL_NAMESPACES, ROLES, TOKEN_PREFIX, TokenInfo

__all__ = ["ALL_NAMESPACES", "ROLES", "TOKEN_PREFIX", "ArtifactRepo", "Requirement", "SecretInfo", "SecretKey", "Store", "TokenInfo",
           "parse_selector"]
