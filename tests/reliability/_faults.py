"""What the task and executor fault suites share: a server to submit to, finding processes."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import start_server

__all__ = ["Server", "processes_running", "retried_demo", "rss_bytes", "wait_until"]

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
