"""Browser tests of the web UI: Playwright driving Debian's Chromium against a
real `conveyor server` (client auth mode, tokens of three kinds).

Screenshots of every page go to test-output/ui/ (kept by CI as the test
output); the render timings of the large workflows go to
test-output/ui/timings.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, STANDINS, start_server

CHROMIUM = os.environ.get("CONVEYOR_CHROMIUM", "/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "ui"
#: as the machine notes say: without the networking flags Chromium keeps dialling Google's hosts
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@dataclass
class UiServer:
    url: str
    home: Path
    tokens: dict[str, str] = field(default_factory=dict)
    planted: str = ""  # a secret in the server's environment that no page may show

    def api(self, method: str, path: str, token: str = "admin", **kw: Any) -> Any:
        r = httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {self.tokens[token]}"},
                          timeout=30, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def submit(self, manifest: dict[str, Any], namespace: str = "default") -> str:
        created = self.api("POST", f"/api/v1/workflows/{namespace}", json={"workflow": manifest})
        name: str = created["metadata"]["name"]
        return name

    def workflow(self, name: str, namespace: str = "default") -> dict[str, Any]:
        wf: dict[str, Any] = self.api("GET", f"/api/v1/workflows/{namespace}/{name}")
        return wf


def _token(home: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "conveyor", "token", "create", *args], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={**os.environ, "CONVEYOR_HOME": str(home)})
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    from conveyor.store import Store
    from tests.ui.bigflow import big_workflow

    home = tmp_path_factory.mktemp("ui") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVEYOR_HOME", str(home))
        mp.setenv("CONVEYOR_EXECUTOR", "process")
        mp.setenv("PATH", f"{os.environ.get('PATH', '')}:{STANDINS}")
        mp.setenv("PIPELINE_TOKEN", "cvy_planted-" + uuid.uuid4().hex)  # the config page must mask it
        for var in ("CONVEYOR_HOST", "CONVEYOR_TOKEN", "PIPELINE_HOST"):
            mp.delenv(var, raising=False)
        tokens = {
            "admin": _token(home, "--namespace", "*", "--role", "admin", "--name", "admin"),
            "reader": _token(home, "--namespace", "team-a", "--role", "read", "--name", "reader-a"),
            "writer": _token(home, "--namespace", "team-a", "--role", "write", "--name", "writer-a"),
        }
        # Large finished workflows, stored as the engine stores them: the UI tests are
        # about drawing them, not about running 12,000 tasks first.
        home.mkdir(parents=True, exist_ok=True)
        with Store.open(home / "conveyor.db") as store:
            store.create_workflow(big_workflow("big-2000", 2000))
            store.create_workflow(big_workflow("big-10000", 10000))
            store.create_workflow(big_workflow("small-10", 10))
        proc, url = start_server("--auth-mode", "client", log_path=home.parent / "server.log")
        server = UiServer(url, home, tokens, os.environ["PIPELINE_TOKEN"])
        try:
            yield server
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; scripts/setup.sh does it)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh does it as root)")
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_for(browser: Any, ui_server: UiServer) -> Iterator[Any]:
    """page_for(token_kind) -> a new page signed in with that token; page errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(kind: str = "admin", width: int = 1400, height: int = 860) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        if kind:  # signed in before the page's own scripts run, as after the login box
            ctx.add_init_script(f"sessionStorage.setItem('conveyor.token', {json.dumps(ui_server.tokens[kind])})")
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(20_000)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def shot(page: Any, name: str) -> Path:
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def record_timing(name: str, value: dict[str, Any]) -> None:
    path = OUTPUT / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = value
    path.write_text(json.dumps(data, indent=2))
