"""Shared type aliases."""

from __future__ import annotations

from typing import Any

__all__ = ["Manifest", "JSON"]

#: A parsed Argo manifest (Workflow, WorkflowTemplate, ...) as plain JSON-like data.
Manifest = dict[str, Any]
JSON = Any
