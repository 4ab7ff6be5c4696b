"""The local image registry `conveyor up` starts: Debian's `docker-registry` on loopback.

Images pushed to it (`conveyor image push 127.0.0.1:5000/NAME:TAG`) are what
the podman and docker executors pull, over plain HTTP as they do for every
loopback registry. Its data lives under CONVEYOR_HOME/registry, so images
outlive the process; the process itself never outlives `up` (stopped after
the server, and sent SIGTERM by Linux if `up` is killed). It is optional: when
the tool is missing or the port is taken, `up` says so and runs without it.
https://distribution.github.io/distribution/about/configuration/
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

__all__ = ["LocalRegistry", "start_registry"]

TOOL = "docker-registry"
_START_S = 10
_STOP_S = 10
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass
class LocalRegistry:
    host: str  # "127.0.0.1:5000"
    root: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop it and wait until it is gone (killed if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(_STOP_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _find_prctl() -> Any:
    try:
        return ctypes.CDLL(None).prctl
    except (OSError, AttributeError):  # not Linux: Ctrl-C and SIGTERM still stop it
        return None


#: looked up in the parent: between fork and exec the child must not import or load anything
_prctl = _find_prctl()


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when `up` dies, even by SIGKILL (no orphan)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _port_problem(port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _answers(host: str) -> bool:
    try:
        httpx.get(f"http://{host}/v2/", timeout=1)  # 200, or 401 behind a login: it listens
    except httpx.TransportError:
        return False
    return True


def start_registry(root: Path, port: int) -> tuple[LocalRegistry | None, str]:
    """Serve a registry on 127.0.0.1:`port` with its data under `root`: (it, a line saying so), or
    (None, a line saying why not and what to do)."""
    if shutil.which(TOOL) is None:
        return None, f"no local registry: {TOOL} is not installed (apt-get install {TOOL}; scripts/containers.sh does it)"
    host = f"127.0.0.1:{port}"
    busy = _port_problem(port)
    if busy is not None:
        return None, (f"no local registry: cannot listen on {host} ({busy}); stop what listens there, "
                      "or choose another --registry-port")
    root.mkdir(parents=True, exist_ok=True)
    config = {"version": 0.1, "log": {"level": "warn"},
              "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
              "http": {"addr": host}}
    (root / "config.yml").write_text(yaml.safe_dump(config))
    log_path = root / "registry.log"
    with log_path.open("ab") as log:
        # its own session: Ctrl-C reaches `up` alone, which stops the registry after the server
        # (`up` starts it before its event loop and threads, so a preexec_fn is safe there)
        proc = subprocess.Popen([TOOL, "serve", str(root / "config.yml")], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, preexec_fn=_die_with_parent)
    registry = LocalRegistry(host, root, proc)
    deadline = time.monotonic() + _START_S
    while not _answers(host):
        if proc.poll() is not None or time.monotonic() > deadline:
            registry.stop()
            said = log_path.read_text(errors="replace").strip().splitlines()
            return None, f"no local registry: {TOOL} did not start ({said[-1] if said else 'no output'}; see {log_path})"
        time.sleep(0.1)
    return registry, (f"registry: {host} (conveyor image push {host}/NAME:TAG; tasks pull from it; "
                      f"data in {root})")
