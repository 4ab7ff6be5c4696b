"""What the task and executor fault suites share: a server to submit to, finding processes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import start_server

__all__ = ["RssSampler", "Server", "plateau_problem", "processes_running", "retried_demo", "rss_bytes", "wait_until"]

DONE = ("Succeeded", "Failed", "Error")


def retried_demo(image: str = "docker.io/library/alpine:3.23") -> dict[str, Any]:
    """Workflow `demo`: a container sleeping 4 s, retried once whatever failed it (after 3 s)."""
    main = {"name": "main", "retryStrategy": {"limit": 1, "retryPolicy": "Always", "backoff": {"duration": "3s"}},
            "container": {"image": image, "command": ["sh", "-c", "sleep 4; echo attempt-{{retries}}"]}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "demo"},
            "spec": {"entrypoint": "main", "templates": [main]}}


def wait_until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (got := check()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.1)
    return got


class Server:
    """`conveyor server` for one test, with the environment it runs under (CONVEYOR_HOME included)."""

    def __init__(self, log_path: Path) -> None:
        self.proc, self.url = start_server(log_path=log_path)
        self.log_path = log_path

    def submit(self, manifest: dict[str, Any]) -> str:
        reply = httpx.post(f"{self.url}/api/v1/workflows/default", json={"workflow": manifest}, timeout=30)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["metadata"]["name"])

    def get(self, name: str) -> dict[str, Any]:
        reply = httpx.get(f"{self.url}/api/v1/workflows/default/{name}", timeout=30)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def wait(self, name: str, timeout_s: float = 60) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            wf = self.get(name)
            return wf if (wf.get("status") or {}).get("phase") in DONE else None

        found: dict[str, Any] = wait_until(done, timeout_s, f"workflow {name} to finish")
        return found

    def run(self, manifest: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
        return self.wait(self.submit(manifest), timeout_s)

    def nodes(self, wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Pod nodes by displayName."""
        return {n["displayName"]: n for n in wf["status"]["nodes"].values() if n.get("type") == "Pod"}

    def log(self, name: str, pod: str) -> str:
        reply = httpx.get(f"{self.url}/api/v1/workflows/default/{name}/log",
                          params={"podName": pod, "logOptions.container": "main"}, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.text

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def processes_running(*argv: str) -> list[int]:
    """Pids of live processes whose command line is exactly `argv` (zombies are not running)."""
    want = "\0".join(argv).encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmdline == want and state != "Z":
            found.append(int(entry))
    return found


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


class RssSampler:
    """The RSS of `pid` every `every_s` seconds (in bytes) while the `with` block runs."""

    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        self.pid, self.every_s = pid, every_s
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(rss_bytes(self.pid))
            except (OSError, AssertionError):
                return  # the process is gone; the test says why
            self._stop.wait(self.every_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def plateau_problem(samples: list[int], margin: int, *, what: str, parts: int = 3) -> str | None:
    """Why `samples` (RSS over a run, oldest first) do not level off, or None.

    The run is cut into `parts` equal spans by sample count: memory that levels off peaks in
    the last span no higher than `margin` above the first span's peak, while a leak in step
    with the work keeps climbing, so the last span's peak sits about (parts-1)/parts of the
    whole run's leak above the first's. Peaks, not means: a collector's sawtooth moves means.
    """
    if len(samples) < 3 * parts:
        return f"{what}: only {len(samples)} RSS samples; the run was too short to see a curve"
    span = len(samples) // parts
    first, last = max(samples[:span]), max(samples[-span:])
    if last - first > margin:
        curve = " ".join(f"{max(samples[i * span:(i + 1) * span]) / 2**20:.1f}" for i in range(parts))
        return (f"{what}: the server's RSS still climbs: peak {last / 2**20:.1f} MiB in the last 1/{parts} of the "
                f"run, {(last - first) / 2**20:.1f} MiB above the first's (margin {margin / 2**20:.1f} MiB); "
                f"peaks per span, MiB: {curve}")
    return None
