"""A `conveyor server` process for the benchmark: start, submit, wait, read its memory.

The server is started as users start it (`python -m conveyor server --port P`) and
reached only over Argo's REST API, so what is timed is what a client sees.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Server", "bench_path", "cpu_s", "environment", "free_port", "pods_succeeded", "rss_kb"]

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "default"
#: phases after which a workflow changes no more
DONE = ("Succeeded", "Failed", "Error")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kb(pid: int, field: str = "VmHWM") -> int:
    """A memory figure of a live process from /proc (VmHWM: its peak resident set), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of a live process, and of the children it has reaped."""
    # After the command name (in parentheses, and free to hold spaces): state, ppid, ...
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(stat[11]) + int(stat[12])) / tick, (int(stat[13]) + int(stat[14])) / tick


def pods_succeeded(wf: dict[str, Any]) -> int:
    """How many tasks ran: the workflow's Pod nodes that Succeeded."""
    nodes = (wf.get("status") or {}).get("nodes") or {}
    return sum(1 for n in nodes.values() if n.get("type") == "Pod" and n.get("phase") == "Succeeded")


class Server:
    """One running `conveyor server`; a context manager that stops it on exit."""

    def __init__(self, env: dict[str, str], log_path: Path, *, timeout_s: float = 60,
                 args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its output goes to a file: a pipe nobody reads would fill up and block the server.
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conveyor", "server", "--port", str(self.port), *args],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.log_path = log_path
        self.client = httpx.Client(base_url=self.url, timeout=600)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.client.get("/api/v1/version").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"conveyor server did not come up: {self.log_tail()}")
            time.sleep(0.05)
        self.rss_at_start_kb = rss_kb(self.proc.pid, "VmRSS")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def log_tail(self, chars: int = 2000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def peak_rss_kb(self) -> int:
        return rss_kb(self.proc.pid)

    def submit(self, manifest: dict[str, Any]) -> str:
        reply = self.client.post(f"/api/v1/workflows/{NAMESPACE}", json={"workflow": manifest})
        if reply.status_code != 200:
            raise RuntimeError(f"POST of a workflow answered {reply.status_code}: {reply.text[:500]}")
        name: str = reply.json()["metadata"]["name"]
        return name

    def get(self, name: str, fields: str | None = None) -> dict[str, Any]:
        params = {"fields": fields} if fields else None
        reply = self.client.get(f"/api/v1/workflows/{NAMESPACE}/{name}", params=params)
        reply.raise_for_status()
        wf: dict[str, Any] = reply.json()
        return wf

    def terminate(self, name: str) -> None:
        self.client.put(f"/api/v1/workflows/{NAMESPACE}/{name}/terminate", json={})

    def wait(
        self, name: str, *, timeout_s: float, on_progress: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Poll until the workflow ends; its final status (phase, progress, finishedAt).

        The interval grows with the time waited (2 %, from 5 ms up to 2 s), and is at least
        ten times the last poll's round trip: a poll of a 10,000-node workflow costs the
        server a good part of a second even when it asks for the phase only, and polling
        back to back would time the polls, not the workflow.
        """
        start = time.perf_counter()
        while True:
            asked = time.perf_counter()
            status = self.get(name, fields="status.phase,status.progress,status.finishedAt").get("status") or {}
            cost = time.perf_counter() - asked
            phase = status.get("phase") or "Pending"
            if phase in DONE:
                return status
            waited = time.perf_counter() - start
            if waited > timeout_s:
                raise TimeoutError(f"workflow {name} still {phase} after {timeout_s:.0f} s")
            if on_progress is not None:
                on_progress(str(status.get("progress") or phase))
            time.sleep(max(min(max(waited * 0.02, 0.005), 2.0), 10 * cost))

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def environment(home: Path, executor: str = "process", sandbox: str = "auto") -> dict[str, str]:
    """The environment conveyor runs in: a fresh home, the chosen executor and sandbox
    (CONVEYOR_SANDBOX), and this interpreter's folder first on PATH, so a script
    template's `python3` is the very interpreter the baseline's process pool uses (not a
    version manager's shim)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "PIPELINE_"))}
    return {**keep, "PATH": bench_path(), "CONVEYOR_HOME": str(home), "CONVEYOR_EXECUTOR": executor,
            "CONVEYOR_SANDBOX": sandbox}


def bench_path() -> str:
    """PATH for conveyor's tasks and the sandboxed floor: this interpreter's folder first."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
