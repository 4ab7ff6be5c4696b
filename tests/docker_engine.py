"""A Docker Engine for the docker executor's tests: the one that answers, or one started here.

`dockerd` is only installed on these machines (scripts/containers.sh), never running,
so when no engine answers at DOCKER_HOST / the default socket, `engine()` starts one as
../shared/notes/containers.md found it works (`--iptables=false --ip6tables=false
--bridge=none`), with its own data-root (under ~/.cache/conveyor/dockerd), exec-root,
pidfile and socket (under /run), and stops it (SIGTERM) at exit - unless another test
session still uses it, in which case the last one out stops it. Docker keeps its
own image store, so the stand-in images podman holds are loaded into it once per
data-root (`podman save` | `images.load`), and again only when they change.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Engine", "engine", "STANDIN_TAGS"]

_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "conveyor" / "dockerd"
#: the tags the tests and Argo's examples use; scripts/containers.sh makes them in podman
STANDIN_TAGS = (
    "docker.io/library/busybox:latest", "docker.io/library/alpine:3.23", "docker.io/library/alpine:latest",
    "docker.io/library/python:alpine3.23", "docker.io/library/python:3.11", "docker.io/library/python:3.11-slim",
    "docker.io/library/debian:latest", "docker.io/library/ubuntu:latest", "docker.io/library/debian:9.1",
    "docker.io/library/debian:8.9", "docker.io/library/alpine:3.6", "docker.io/library/ubuntu:17.10",
    "docker.io/library/influxdb:1.2", "docker.io/library/nginx:1.13", "docker.io/docker/whalesay:latest",
    "docker.io/library/bash:5", "docker.io/argoproj/argosay:v2", "docker.io/argoproj/argosay:v1",
)


@dataclass
class Engine:
    host: str | None = None  # DOCKER_HOST of a daemon that answers
    problem: str | None = None  # why there is none (the tests skip with it)
    bridge: bool = False  # whether the daemon has a "bridge" network


_engine: Engine | None = None
_children: dict[int, subprocess.Popen[bytes]] = {}  # dockerd processes this session started


def _ping(host: str) -> str | None:
    import docker

    try:
        client = docker.DockerClient(base_url=host, timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as e:  # noqa: BLE001 - any failure means "no daemon there"
        return f"{type(e).__name__}: {e}"
    return None


def _run_dir() -> Path:
    # a unix socket path is limited to ~107 bytes, so the socket and exec-root live under /run
    base = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    return base / f"conveyor-dockerd-{os.getuid()}"


def _start(folder: Path, run: Path) -> str | None:
    """Start a dockerd of our own (its data under `folder`, its socket in `run`); why not, or None."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        return "dockerd is not installed (scripts/containers.sh installs docker.io)"
    run.mkdir(parents=True, exist_ok=True)
    host = f"unix://{run}/docker.sock"
    log = (folder / "dockerd.log").open("wb")
    # its own session: it serves every test session on this machine, and outlives this one
    # when another still uses it (see engine())
    proc = subprocess.Popen(
        [dockerd, "--iptables=false", "--ip6tables=false", "--bridge=none", f"--data-root={folder / 'data'}",
         f"--exec-root={run / 'exec'}", f"--pidfile={run / 'dockerd.pid'}", "-H", host],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    _children[proc.pid] = proc
    deadline = time.monotonic() + 30
    problem: str | None = "dockerd did not answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (folder / "dockerd.log").read_text(errors="replace").strip().splitlines()[-3:]
            return f"dockerd exited {proc.returncode}: {' | '.join(tail)}"
        problem = _ping(host)
        if problem is None:
            return None
        time.sleep(0.1)
    _stop(run)
    return f"dockerd did not answer within 30 s ({problem})"


def _stop(run: Path) -> None:
    """SIGTERM the dockerd whose pidfile is in `run`, and wait for it to go."""
    try:
        pid = int((run / "dockerd.pid").read_text().strip())
        # a pidfile left by a killed dockerd may name a recycled pid: signal only a dockerd
        if b"dockerd" not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    child = _children.pop(pid, None)
    if child is not None:  # started by this session: reap it, or it stays a zombie
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.1)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie, which only its parent can reap, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _release(users: IO[bytes], folder: Path, run: Path) -> None:
    """At exit: the last test session using our dockerd stops it."""
    try:
        fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        users.close()  # another session still holds its shared lock: it stops dockerd later
        return
    try:
        with _locked(folder / "start.lock"):
            _stop(run)
    finally:
        users.close()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_standins(host: str, stamp_dir: Path) -> str | None:
    """Copy the stand-in images from podman into the daemon at `host`; why not, or None.

    Cached: the podman image ids loaded last are recorded beside the data-root, and the
    (~1 GB, ~20 s) copy is skipped while they match and the daemon still has the tags.
    """
    import docker

    if shutil.which("podman") is None:
        return "podman is not installed, so there are no stand-in images to load"
    ids = subprocess.run(["podman", "image", "inspect", "--format", "{{.Id}}", *STANDIN_TAGS],
                         capture_output=True, text=True)
    if ids.returncode != 0:
        return f"podman has no stand-in images ({ids.stderr.strip()[:200]}); run scripts/containers.sh"
    stamp = stamp_dir / "standins.ids"
    client = docker.DockerClient(base_url=host, timeout=600)
    try:
        have = {t for image in client.images.list() for t in image.tags}
        wanted = {t.removeprefix("docker.io/library/").removeprefix("docker.io/") for t in STANDIN_TAGS}
        if stamp.exists() and stamp.read_text() == ids.stdout and wanted <= have:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "standins.tar"
            # one multi-image docker-archive: shared layers are written once
            saved = subprocess.run(["podman", "save", "--quiet", "--format", "docker-archive", "-m", "-o",
                                    str(archive), *STANDIN_TAGS], capture_output=True, text=True)
            if saved.returncode != 0:
                return f"podman save failed: {saved.stderr.strip()[:300]}"
            with archive.open("rb") as f:
                client.images.load(f)
        stamp_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(ids.stdout)
    finally:
        client.close()
    return None


def engine() -> Engine:
    """The Docker Engine for this test session (started once; stopped at exit)."""
    global _engine
    if _engine is not None:
        return _engine
    try:
        import docker  # noqa: F401
    except ImportError:
        _engine = Engine(problem="the docker SDK is not installed (pip install 'docker>=7')")
        return _engine
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if _ping(host) is not None:
        # Test sessions of several engineers may run at once: they share one dockerd (one
        # data-root cannot serve two), each holding a shared lock on users.lock while it
        # runs; starting and stopping happen under start.lock, and the last user stops it.
        folder, run = _CACHE, _run_dir()
        folder.mkdir(parents=True, exist_ok=True)
        host = f"unix://{run}/docker.sock"
        users = (folder / "users.lock").open("ab")
        fcntl.flock(users, fcntl.LOCK_SH)
        atexit.register(_release, users, folder, run)
        with _locked(folder / "start.lock"):
            problem = _start(folder, run) if _ping(host) is not None else None
            if problem is None:
                problem = load_standins(host, folder)
        if problem is not None:
            _engine = Engine(problem=problem)
            return _engine
    else:
        problem = load_standins(host, _CACHE)
        if problem is not None:
            _engine = Engine(problem=problem)
            return _engine
    import docker

    client = docker.DockerClient(base_url=host)
    try:
        bridge = bool(client.networks.list(names=["bridge"]))
    finally:
        client.close()
    os.environ["DOCKER_HOST"] = host
    _engine = Engine(host=host, bridge=bridge)
    return _engine
