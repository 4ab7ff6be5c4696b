"""Where the read-only Argo material beside the repository lives (../shared)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CONVEYOR_SHARED", ROOT.parent / "shared"))
EXAMPLES = SHARED / "conformance" / "argo-examples"
SCHEMA = SHARED / "argo" / "schema.json"
BROKEN = Path(__file__).resolve().parent / "broken"
