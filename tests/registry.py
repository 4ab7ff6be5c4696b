"""A real OCI registry on loopback for the tests: Debian's `docker-registry`, as
../shared/notes/containers.md found it works, optionally behind an htpasswd login."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port

__all__ = ["registry_problem", "serve_registry"]


def registry_problem(*, login: bool = False) -> str | None:
    """Why no test registry can run here (a skip reason naming what to install), or None."""
    tools = [("docker-registry", "docker-registry"), ("curl", "curl")]
    tools += [("htpasswd", "apache2-utils")] if login else []
    for tool, package in tools:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package}; scripts/containers.sh does it)"
    return None


@contextlib.contextmanager
def serve_registry(root: Path, login: tuple[str, str] | None = None) -> Iterator[str]:
    """Serve a registry with its data under `root` on a free loopback port; yields its host:port.
    With `login` (user, password) it wants that login for every request, pulls included."""
    root.mkdir(parents=True, exist_ok=True)
    host = f"127.0.0.1:{free_port()}"
    config: dict[str, object] = {
        "version": 0.1, "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
        "http": {"addr": host},
    }
    if login is not None:
        htpasswd = subprocess.run(["htpasswd", "-Bbn", *login], capture_output=True, text=True, check=True)
        (root / "htpasswd").write_text(htpasswd.stdout)
        config["auth"] = {"htpasswd": {"realm": "conveyor-test", "path": str(root / "htpasswd")}}
    (root / "config.yml").write_text(yaml.safe_dump(config))
    log = (root / "registry.log").open("w")
    proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        # /v2/ answers 401 behind a login: curl without -f still exits 0 once it listens
        while subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://{host}/v2/"]).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.1)
        yield host
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
