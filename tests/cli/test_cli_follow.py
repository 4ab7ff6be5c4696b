"""Following a running workflow: `submit --watch`, `watch NAME` and `logs NAME -f`, against a live server.

The live tree is drawn only on a terminal (into a pipe `watch` prints just the
outcome), so those tests run the real `python -m conveyor` on a pseudo-terminal
and read what a user would see. Each watched workflow waits at a suspend step
until the test resumes it, so "the tree showed it Running" is checked without
racing the clock.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from conveyor.cli.main import cli
from tests.cli.conftest import Server
from tests.cli.test_cli_client import (
    HELLO,
    by_name,
    cv,
    get,
    node_is,
    sh,
    submitted,
    until,
    workflow,
    write,
)
from tests.conftest import ROOT

#: CSI sequences (colour, cursor moves, line erases), charset and keypad switches, carriage returns
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")
GATE = {"name": "gate", "suspend": {}}  # holds the workflow Running until `conveyor resume`
RUNNING = "Status:              Running"


def plain(text: str) -> str:
    return _CONTROL.sub("", text)


def last_view(screen: str) -> str:
    """The last `argo get` view printed: what is left on screen once the live redraws stop."""
    return "Name:" + screen.rsplit("Name:", 1)[-1]


class Terminal:
    """`python -m conveyor ARGS` with a pseudo-terminal as its stdout and stderr, as a shell runs it."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        # a wide, tall window, so rich neither wraps the rows nor cuts the live view short
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "conveyor", *args], stdin=subprocess.DEVNULL,
                                     stdout=slave, stderr=slave, cwd=ROOT,
                                     env={**os.environ, "TERM": "xterm-256color", **env})
        os.close(slave)
        self.raw = b""
        self.closed = False

    def screen(self) -> str:
        return plain(self.raw.decode("utf-8", "replace"))

    def _read(self, wait_s: float) -> None:
        if select.select([self.master], [], [], wait_s)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                chunk = b""
            self.closed = not chunk
            self.raw += chunk

    def read_until(self, check: Callable[[str], bool], timeout_s: float = 30) -> str:
        deadline = time.monotonic() + timeout_s
        while not check(self.screen()):
            assert not self.closed, f"ended first (exit {self.proc.wait()}):\n{self.screen()[-3000:]}"
            assert time.monotonic() < deadline, f"gave up waiting; screen so far:\n{self.screen()[-3000:]}"
            self._read(0.1)
        return self.screen()

    def finish(self, timeout_s: float = 30) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout_s
        while not self.closed:
            assert time.monotonic() < deadline, f"did not end; screen so far:\n{self.screen()[-3000:]}"
            self._read(0.1)
        return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.master)


def test_submit_watch_draws_the_live_tree_then_the_outcome(server: Server, tmp_path: Path) -> None:
    doc = workflow("x-", [{"name": "main", "steps": [[{"name": "gate", "template": "gate"}],
                                                     [{"name": "boom", "template": "boom"}]]},
                          GATE, sh("boom", "echo boom; exit 3")])
    name = "watched-submit"
    with Terminal("submit", write(tmp_path, doc), "--name", name, "--watch", env={"PIPELINE_HOST": server.url}) as term:
        live = term.read_until(lambda s: RUNNING in s and "● gate" in s)
        assert "boom" not in live.split(RUNNING, 1)[1].split("Name:")[0]  # not started before the gate opens
        assert cv(server, "resume", name).exit_code == 0
        code = term.finish()
    final = last_view(term.screen())
    assert code == 1, term.screen()  # the workflow Failed
    assert "Status:              Failed" in final and RUNNING not in final
    rows = {line.split()[1]: line for line in final.split("\n\n")[1].splitlines()[1:]}
    assert rows["gate"].split()[0] == "├─✔" and rows["boom"].split()[0] == "└─✖"
    assert rows["boom"].endswith("Error (exit code 3)")
    assert get(server, name)["status"]["phase"] == "Failed"


def test_submit_watch_into_a_pipe_prints_the_outcome(server: Server) -> None:
    result = cv(server, "submit", HELLO, "--generate-name", "piped-", "--watch")
    assert result.exit_code == 0, result.stdout + result.stderr
    first, final = result.stdout.split("Name:")[1:]  # as created, then as it ended
    name = first.split()[0]
    assert "Status:              Pending" in first and "STEP" not in first
    assert final.split()[0] == name and "Status:              Succeeded" in final
    head, row = final.split("\n\n")[1].splitlines()
    assert head.split()[0] == "STEP" and row.split()[:3] == ["✔", name, "hello"]


def test_watch_shows_it_running_then_how_it_ended(server: Server, tmp_path: Path) -> None:
    doc = workflow("gated-", [{"name": "main", "steps": [[{"name": "gate", "template": "gate"}],
                                                         [{"name": "after", "template": "after"}]]},
                              GATE, sh("after", "echo through")])
    name = submitted(server, write(tmp_path, doc))
    until(server, name, node_is("gate", "Running"))
    with Terminal("watch", name, env={"PIPELINE_HOST": server.url}) as term:
        term.read_until(lambda s: RUNNING in s and "● gate" in s)
        assert cv(server, "resume", name).exit_code == 0
        code = term.finish()
    final = last_view(term.screen())
    assert code == 0, term.screen()
    assert f"Name:                {name}" in final and "Status:              Succeeded" in final
    assert RUNNING not in final and "└─✔ after" in final


class _Stamped(io.StringIO):
    """stdout that notes, as each line is printed, the workflow's phase on the server at that moment."""

    def __init__(self, phase_now: Callable[[], str]) -> None:
        super().__init__()
        self.phase_now = phase_now
        self.seen: list[tuple[str, str]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.seen.append((line, self.phase_now()))
        return super().write(text)


def test_logs_follow_streams_a_running_workflow_until_it_ends(server: Server, tmp_path: Path) -> None:
    name = submitted(server, write(tmp_path, workflow("talker-", [sh("main", "echo one; sleep 1; echo two")])))
    deadline = time.monotonic() + 20
    while not (snapshot := cv(server, "logs", name).stdout):
        assert time.monotonic() < deadline, "the task never printed"
        time.sleep(0.05)
    pod = by_name(get(server, name))[name]["podName"]
    assert snapshot == f"{pod}: one\n"  # without -f: what is there now, and done

    def phase_now() -> str:
        wf = httpx.get(f"{server.url}/api/v1/workflows/default/{name}", timeout=10).json()
        return str(wf["status"]["phase"])

    # In-process rather than through CliRunner, which hands back the output only at the end.
    out = _Stamped(phase_now)
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as ended:
        cli.main(["logs", name, "-f", "--host", server.url], prog_name="conveyor")
    assert ended.value.code in (0, None)
    assert out.getvalue() == f"{pod}: one\n{pod}: two\n"
    # The first line was printed while the task still slept: streamed, not collected until the end.
    assert out.seen[0] == (f"{pod}: one", "Running"), out.seen
    assert get(server, name)["status"]["phase"] == "Succeeded"  # it ended because the workflow did
