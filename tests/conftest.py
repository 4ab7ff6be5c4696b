"""Shared fixtures: an isolated CONVEYOR_HOME, stand-in tools on PATH, and a
factory that runs a workflow in-process through the real runtime."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import Settings
from conveyor.runtime import WorkflowRunner, choose_executor, prepare_workflow
from conveyor.store import ArtifactRepo, Store

ROOT = Path(__file__).resolve().parents[1]
STANDINS = ROOT / "tests" / "standins"
#: ../shared beside the repository (read-only material: Argo's schema and examples)
SHARED = Path(os.environ.get("CONVEYOR_SHARED", ROOT.parent / "shared"))
#: what tests keep between runs (virtualenvs, downloaded wheels): .cache/ in the repository
CACHE = Path(os.environ.get("CONVEYOR_TEST_CACHE", ROOT / ".cache"))
#: legacy Hera as the seed platform pins it (hera 4 needs argo-workflows 6.3.5, beside which current Hera cannot live)
HERA4_PACKAGES = ["hera-workflows==4.4.2", "argo-workflows==6.3.5", "typing_extensions"]

# The suite tests the engine, server and clients with the process executor (milliseconds a
# task); container executors have their own tests that ask for them. Set
# CONVEYOR_TEST_EXECUTOR=podman to run everything in containers instead.
os.environ["CONVEYOR_EXECUTOR"] = os.environ.get("CONVEYOR_TEST_EXECUTOR", "process")


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: these checks read Argo's material from ../shared beside the repository")
    return path


@pytest.fixture
def conveyor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    monkeypatch.setenv("PATH", f"{os.environ.get('PATH', '')}:{STANDINS}")
    return home


@pytest.fixture(scope="session")
def hera4_python() -> Path:
    """The python of a virtualenv holding legacy Hera (HERA4_PACKAGES), for the tests that run
    the seed platform's hera 4 scripts; built once under CACHE, reused while its package list matches."""
    home = CACHE / "venv-hera-4.4.2"
    python = home / "bin" / "python"
    stamp = home / "conveyor-packages.txt"
    if not (python.exists() and stamp.exists() and stamp.read_text() == "\n".join(HERA4_PACKAGES)):
        venv.EnvBuilder(clear=True, with_pip=True).create(home)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               *HERA4_PACKAGES], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            # no skip: CI installs from PyPI, and a missing legacy client is exactly what these tests guard
            pytest.fail(f"could not install {HERA4_PACKAGES} into {home}:\n{done.stderr[-3000:]}")
        stamp.write_text("\n".join(HERA4_PACKAGES))
    return python


@pytest.fixture
def settings(conveyor_home: Path) -> Settings:
    return Settings.from_env()


RunWorkflow = Callable[..., dict[str, Any]]


@pytest.fixture
def run_workflow(settings: Settings) -> RunWorkflow:
    """run_workflow(manifest, parameters={}, templates=[...], timeout_s=60) -> final Workflow."""
    store = Store.open(settings.db_path)
    repo = ArtifactRepo(settings.artifact_dir)

    def run(
        manifest: Mapping[str, Any],
        *,
        parameters: Mapping[str, str] | None = None,
        templates: list[Mapping[str, Any]] | None = None,
        timeout_s: float = 60,
    ) -> dict[str, Any]:
        for t in templates or []:
            store.put_template(t["kind"], dict(t), replace=True)
        wf, resolved = prepare_workflow(manifest, templates=store, namespace="default", parameters=parameters)
        store.create_workflow(wf)
        return asyncio.run(drive(settings, store, repo, wf, resolved, timeout_s))

    return run


async def drive(
    settings: Settings, store: Store, repo: ArtifactRepo, wf: dict[str, Any], resolved: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    executor, _ = await choose_executor(settings, lambda msg: None)
    runner = WorkflowRunner(settings, store, repo, executor, wf, resolved=resolved)
    try:
        return await asyncio.wait_for(runner.run(), timeout_s)
    finally:
        await executor.close()


def path_without(tool: str, folder: Path) -> str:
    """PATH as it is, but with no `tool` on it: each folder that holds one is replaced by
    `folder`, full of links to that folder's other entries (so sh, bwrap, ... stay)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    for part in os.environ.get("PATH", "").split(os.pathsep):
        if not part or not (Path(part) / tool).exists():
            parts.append(part)
            continue
        for entry in Path(part).iterdir():
            link = folder / entry.name
            if entry.name != tool and not os.path.lexists(link):
                link.symlink_to(entry)
        if str(folder) not in parts:
            parts.append(str(folder))
    assert shutil.which(tool, path=os.pathsep.join(parts)) is None
    return os.pathsep.join(parts)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(*args: str, port: int | None = None, new_session: bool = False,
                 log_path: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """`conveyor server ARGS` as users start it, on a free port; (process, base URL) once
    /api/v1/version answers. Fails the test with the server's stderr if it never does.

    Its output goes to pipes the caller may read, or with `log_path` to that file: a server
    that lives for many requests must get a file, since a pipe nobody reads fills up with
    access-log lines and then blocks the server mid-request."""
    import httpx

    port = port or free_port()
    out: Any = subprocess.PIPE if log_path is None else log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "conveyor", "server", "--port", str(port), *args], cwd=ROOT,
                            env={**os.environ}, stdout=out, stderr=subprocess.STDOUT if log_path else subprocess.PIPE,
                            text=True, start_new_session=new_session)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/api/v1/version", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            said = log_path.read_text() if log_path else proc.communicate()[1]
            pytest.fail(f"conveyor server did not come up: {said[-2000:]}")
        time.sleep(0.05)
