"""Executor faults with the docker executor: the Docker Engine missing, or going away mid-run.

The server talks to the engine through a Unix-socket relay the test owns (DOCKER_HOST
points at it), so the engine can vanish for the server, every connection cut and the
socket path gone, without stopping the dockerd other test sessions share. An attempt
launched while the socket is gone (before any task ran, or after one did) must end in
Error saying no engine answers there and what to do; the attempt that was running when
the engine went must end in Error saying the engine was lost, and the container it could
not remove must go at the next server start. In each, retryStrategy must run the task
again once the engine is back.

Why a relay, not a stopped dockerd, for "dies mid-run": the dockerd these tests use is
one per machine, shared by every engineer's test session (tests/docker_engine.py: the last
session out stops it), so stopping it inside a test would kill other sessions' containers
mid-test; a second, private dockerd would need its own data-root and the ~1 GB of
stand-in images loaded into it (~20 s). The relay cuts what the server sees of the
engine the way a dead daemon does: every open call and stream ends, the socket is gone.

Counts: one workflow per test, three in all. Skipped, with the reason, where no Docker
Engine can be had.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor.executors._ctr import OWNER_LABEL
from tests.docker_engine import engine
from tests.reliability._faults import Server, retried_demo, wait_until


class Relay:
    """Accepts on `path` and pipes each connection to the engine's socket; `cut` closes everything."""

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def open(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


@pytest.fixture
def relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    found = engine()
    if found.host is None:
        pytest.skip(f"no Docker Engine for the docker executor: {found.problem}")
    if not found.host.startswith("unix://"):
        pytest.skip(f"the engine answers at {found.host}; the relay speaks Unix sockets only")
    r = Relay(tmp_path / "engine.sock", found.host.removeprefix("unix://"))
    r.open()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{r.path}")
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "docker")
    yield r
    r.cut()


def _containers_of(pid: int) -> list[Any]:
    import docker

    client = docker.DockerClient(base_url=engine().host)
    try:
        owner = f"{OWNER_LABEL}={pid}@{socket.gethostname()}"
        return list(client.containers.list(all=True, filters={"label": owner}))
    finally:
        client.close()


def test_the_engine_lost_mid_run_gives_an_error_node_and_the_retry_runs(
        conveyor_home: Path, relay: Relay, tmp_path: Path) -> None:
    server = Server(tmp_path / "server.log")
    first_pid = server.proc.pid
    try:
        name = server.submit(retried_demo())
        wait_until(lambda: any(c.status == "running" for c in _containers_of(first_pid)), 60,
                   "the first attempt's container to run")
        relay.cut()  # the engine is gone for the server
        first = wait_until(lambda: next((n for n in server.nodes(server.get(name)).values()
                                         if n["displayName"] == "demo(0)" and n["phase"] in ("Error", "Failed")),
                                        None), 60, "the first attempt to fail")
        relay.open()  # back before the retry's backoff (3 s) is over
        assert first["phase"] == "Error", first
        # "started": the cut came before the engine's answer to the start reached the server
        assert first["message"].startswith(('lost the Docker Engine while container "main" ran (',
                                            'lost the Docker Engine while container "main" started (')), first["message"]
        assert first["message"].endswith("the container runtime failed mid-run")
        wf = server.wait(name, timeout_s=120)
        second = server.nodes(wf)["demo(1)"]
        assert second["phase"] == "Succeeded" and second["outputs"]["result"] == "attempt-1", second
        assert wf["status"]["phase"] == "Succeeded"
    finally:
        server.close()
    # The lost attempt's container could not be removed while the engine was unreachable;
    # the next server start removes what the previous one left.
    assert [c.name for c in _containers_of(first_pid)], "the lost attempt's container should still be there"
    restarted = Server(tmp_path / "server-2.log")
    try:
        wait_until(lambda: not _containers_of(first_pid), 30, "the lost attempt's container to be swept")
    finally:
        restarted.close()
        for c in _containers_of(first_pid):
            c.remove(force=True)



@pytest.mark.parametrize("before", ["first-task", "after-a-task"])
def test_the_engine_missing_when_a_task_starts_gives_an_error_node_and_the_retry_runs(
        before: str, conveyor_home: Path, relay: Relay, tmp_path: Path) -> None:
    """The docker executor chosen, and its socket gone (DOCKER_HOST names a path that does
    not exist) when a task is launched, before any task ran or after one did: the attempt
    is an Error naming the problem and what to do, and retryStrategy runs it again once
    the engine answers. (A server started with no engine at all refuses to start, saying
    so: tests/runtime/test_select.py.)"""
    server = Server(tmp_path / "server.log")
    try:
        if before == "after-a-task":
            warm = retried_demo()
            warm["metadata"]["name"] = "warm"
            warm["spec"]["templates"][0]["container"]["command"] = ["true"]
            assert server.run(warm, timeout_s=60)["status"]["phase"] == "Succeeded"
        relay.cut()
        name = server.submit(retried_demo())
        first = wait_until(lambda: next((n for n in server.nodes(server.get(name)).values()
                                         if n["displayName"] == "demo(0)" and n["phase"] in ("Error", "Failed")),
                                        None), 60, "the first attempt to fail")
        relay.open()  # back before the retry's backoff (3 s) is over
        assert first["phase"] == "Error", first
        assert first["message"] == (
            f"the container runtime is missing: no Docker Engine answers at unix://{relay.path}: the socket does "
            "not exist (is dockerd running?); start dockerd or point DOCKER_HOST at one that runs, or set "
            "CONVEYOR_EXECUTOR to another executor"), first["message"]
        wf = server.wait(name, timeout_s=120)
        second = server.nodes(wf)["demo(1)"]
        assert second["phase"] == "Succeeded" and second["outputs"]["result"] == "attempt-1", second
        assert wf["status"]["phase"] == "Succeeded"
        assert int(second.get("failedPodRestarts") or 0) == 0  # a retry, not a relaunch
    finally:
        server.close()
