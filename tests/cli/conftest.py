"""CLI tests start from no server settings: a PIPELINE_HOST in the developer's shell must not decide
where the client commands go (nor turn off their no-server fallback)."""

from __future__ import annotations

import pytest

SERVER_VARIABLES = ("CONVEYOR_HOST", "PIPELINE_HOST", "CONVEYOR_TOKEN", "PIPELINE_TOKEN", "PIPELINE_NS",
                    "CONVEYOR_NAMESPACE", "CONVEYOR_VERIFY_SSL")


@pytest.fixture(autouse=True)
def _no_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
