"""Fixtures for the API tests: a real server (uvicorn in a thread, the real
Service and the process executor) on a free port, and an HTTP client for it.

A real server rather than an in-process transport, so streams (logs, watch)
are read as clients read them, chunk by chunk, and closing one is a real
disconnect.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from conveyor.api import create_app
from conveyor.config import Settings
from conveyor.runtime import Service, choose_executor
from conveyor.store import ArtifactRepo, Store

DONE = ("Succeeded", "Failed", "Error")


class LiveServer:
    def __init__(self, settings: Settings, auth_mode: str = "server", ui: bool = False) -> None:
        self.settings = settings
        self.auth_mode = auth_mode
        self.ui = ui  # serve the web UI too, as `conveyor server` does
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # Nagle off, as conveyor server
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server: uvicorn.Server | None = None
        self.service: Service | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="api-server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self.failure = exc

    async def _main(self) -> None:
        store = Store.open(self.settings.db_path)
        executor, _ = await choose_executor(self.settings, lambda msg: None)
        self.service = Service(self.settings, store, ArtifactRepo(self.settings.artifact_dir), executor)
        app = create_app(self.service, auth_mode=self.auth_mode)
        if self.ui:
            from conveyor.ui import mount_ui

            mount_ui(app)
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            store.close()

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not (self.server is not None and self.server.started):
            assert self.failure is None, f"the server did not start: {self.failure!r}"
            assert time.monotonic() < deadline, "the server did not start within 20 s"
            time.sleep(0.01)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(20)


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    # No keep-alive: a reused connection waits ~40 ms per request on delayed ACKs here.
    with httpx.Client(base_url=live.url, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)) as c:
        yield c


def manifest(command: str, *, name: str | None = None, generate: str = "t-",
             labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A one-container Workflow running `sh -c COMMAND`."""
    meta: dict[str, Any] = {"name": name} if name else {"generateName": generate}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": meta,
        "spec": {"entrypoint": "main",
                 "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", command]}}],
                 **spec},
    }


def create(client: httpx.Client, wf: dict[str, Any], namespace: str = "default") -> dict[str, Any]:
    resp = client.post(f"/api/v1/workflows/{namespace}", json={"workflow": wf})
    assert resp.status_code == 200, resp.text
    created: dict[str, Any] = resp.json()
    return created


def wait_done(client: httpx.Client, name: str, namespace: str = "default", timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        wf: dict[str, Any] = client.get(f"/api/v1/workflows/{namespace}/{name}").json()
        if (wf.get("status") or {}).get("phase") in DONE:
            return wf
        assert time.monotonic() < deadline, f"{name} did not finish: {json.dumps(wf.get('status'))[:500]}"
        time.sleep(0.05)


def wait_for(predicate: Any, what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


def stream_lines(resp: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON objects of a newline-delimited or server-sent-events stream, as they arrive."""
    for line in resp.iter_lines():
        line = line.removeprefix("data: ").strip()
        if line:
            yield json.loads(line)
