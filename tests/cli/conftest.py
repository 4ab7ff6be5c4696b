"""CLI tests start from no server settings: a PIPELINE_HOST in the developer's shell must not decide
where the client commands go (nor turn off their no-server fallback). `server` is a live `conveyor
server` for the client-command modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import STANDINS, start_server

SERVER_VARIABLES = ("CONVEYOR_HOST", "PIPELINE_HOST", "CONVEYOR_TOKEN", "PIPELINE_TOKEN", "PIPELINE_NS",
                    "CONVEYOR_NAMESPACE", "CONVEYOR_VERIFY_SSL")


@pytest.fixture(autouse=True)
def _no_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@dataclass(frozen=True)
class Server:
    url: str
    home: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per module (its own CONVEYOR_HOME); the commands reach it through PIPELINE_HOST."""
    home = tmp_path_factory.mktemp("client") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVEYOR_HOME", str(home))
        mp.setenv("PATH", f"{os.environ.get('PATH', '')}:{STANDINS}")
        for name in SERVER_VARIABLES:
            mp.delenv(name, raising=False)
        home.mkdir(parents=True, exist_ok=True)
        proc, url = start_server(log_path=home / "server.log")  # many requests: a file, not a pipe
        try:
            yield Server(url, home)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
