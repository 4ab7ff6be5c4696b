"""Warm interpreters for Python script templates: each task still its own process.

A script template whose command is just `python`/`python3` would pay a fresh
interpreter's start-up per task (20-50 ms here, most of such a task's time). The
process executor keeps instead one warm interpreter (`_zygote.py`) per task root,
started inside that root's sandbox, and each task is a child forked from it: its
own process, session, stdout/stderr, environment and working folder, in the same
private filesystem a fresh `python3` would have had.

A warm interpreter serves the tasks of one workflow only: when its root is handed to
another workflow's task (or the executor stops) it ends, and with it its sandbox and
anything a task left running there, so nothing reaches another workflow's tasks. After
each task the task's session is killed, as for any task.
`CONVEYOR_WARM_PYTHON=false` turns this off. Tasks that set `PYTHON*` variables,
pass interpreter options or arguments start a fresh interpreter as before: those
settings act at start-up, which a warm interpreter has behind it.

The same interpreter is the launcher of a kept sandbox (`WarmPython.launcher`): under
bubblewrap, a new sandbox per task (namespaces, a dozen mounts) costs a few ms, more
than `true` itself. Once a workflow's second task in a row lands in a root, an
interpreter is started there (in the background: that task runs as before), and the
workflow's next plain-command tasks in that root are forked from it and exec their
command, each still its own process and session, its strays killed after it as for
Python tasks. A workflow with one or two tasks never waits for an interpreter.
`CONVEYOR_KEEP_SANDBOX=false` turns this off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import posixpath
import re
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.executors._container import OutputPipes, PipeReader, exit_code
from conveyor.executors._streams import LogSink, ResultTail

__all__ = ["WarmPython", "Zygote", "interpreter"]

_SOURCE = Path(__file__).with_name("_zygote.py")
_PYTHON = re.compile(r"python(3(\.\d+)?)?")
#: how long to wait for pipes to close after the child ended (an escaped daemon may hold them)
_DRAIN_TIMEOUT_S = 2.0


def interpreter(argv: list[str], env: dict[str, str], script: str) -> bool:
    """Whether `argv` (the container's, script path last) can run in a warm interpreter."""
    return (len(argv) == 2 and argv[1] == script and _PYTHON.fullmatch(posixpath.basename(argv[0])) is not None
            and not any(k.startswith("PYTHON") for k in env))


class Zygote:
    """One warm interpreter: started with `wrap` (the sandbox's argv for a command), it
    forks each task asked of it. Not for two tasks at once (one root, one task)."""

    def __init__(self, python: str, owner: tuple[str, str], wrap: Callable[[list[str]], tuple[list[str], Path]]) -> None:
        self.python, self.owner = python, owner
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            argv, cwd = wrap([python, "-c", _SOURCE.read_text(), str(theirs.fileno())])
            self._proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                                          start_new_session=True, env={"PATH": os.defpath, "LANG": "C.UTF-8"})
        except BaseException:
            self._sock.close()
            raise
        finally:
            theirs.close()
        self._sock.setblocking(False)
        self.broken = False
        #: tasks forked so far
        self.served = 0
        self._ready = asyncio.ensure_future(self._recv())
        # retrieved here, so an interpreter that died before anyone asked logs no warning
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())

    def ready(self) -> bool:
        """Up and waiting for a task (a launcher is used only then: never waited for)."""
        return (not self.broken and self._ready.done() and not self._ready.cancelled()
                and self._ready.exception() is None)

    async def _recv(self) -> dict[str, Any]:
        data = await asyncio.get_running_loop().sock_recv(self._sock, 1 << 16)
        if not data:
            raise ConnectionError("the warm interpreter ended")
        message: dict[str, Any] = json.loads(data)
        return message

    async def start(self, argv: list[str], env: dict[str, str], cwd: str, log_path: Path, capture: bool,
                    max_log_bytes: int = 0, *, exec_: bool = False) -> WarmRunning:
        """Fork the task (a script run by this interpreter, or with `exec_` any command);
        raises OSError (also ConnectionError) when the interpreter cannot."""
        try:
            await asyncio.shield(self._ready)
        except BaseException:
            self.broken = True
            raise
        pipes = OutputPipes(log_path, capture, max_log_bytes)
        try:
            request = json.dumps({"argv": argv, "env": env, "cwd": cwd, "exec": exec_}).encode()
            socket.send_fds(self._sock, [request], [pipes.out_w, pipes.err_w])
            readers = pipes.started(asyncio.get_running_loop())
        except BaseException:
            self.broken = True
            pipes.abandon()
            raise
        try:
            reply = await self._recv()
        except BaseException:
            self.broken = True
            self._drop(readers, pipes)
            raise
        if "pid" not in reply:  # it could not start this one (it is still good for the next)
            self._drop(readers, pipes)
            raise OSError(f"the warm interpreter could not start the task: {reply.get('error')}")
        sink, tail = pipes.sink, pipes.tail
        self.served += 1
        return WarmRunning(self, int(reply["pid"]), readers, sink, tail)

    @staticmethod
    def _drop(readers: list[PipeReader], pipes: OutputPipes) -> None:
        for r in readers:
            r.close()
        pipes.sink.close()

    def signal(self, sig: int) -> None:
        with contextlib.suppress(OSError):
            self._sock.send(json.dumps({"signal": int(sig)}).encode())

    def close(self) -> None:
        """End the interpreter (closing its socket ends it; SIGKILL makes sure)."""
        self._ready.cancel()
        self._sock.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)


class WarmRunning:
    """A task forked by a Zygote; the same face as `Running` (signal, wait, tail)."""

    def __init__(self, zygote: Zygote, pid: int, readers: list[PipeReader], sink: LogSink,
                 tail: ResultTail | None) -> None:
        self.pid = pid  # as the sandbox numbers it
        self.tail = tail
        self._zygote, self._readers, self._sink = zygote, readers, sink
        self._exit = asyncio.ensure_future(zygote._recv())

    def signal(self, sig: int) -> None:
        if not self._exit.done():
            self._zygote.signal(sig)

    async def wait(self) -> int:
        try:
            reply = await asyncio.shield(self._exit)
            code = int(reply["exit"])
        except (ConnectionError, OSError, KeyError, ValueError):
            self._zygote.broken = True
            code = exit_code(-signal.SIGKILL)  # the interpreter (and its sandbox) died under the task
        try:
            await asyncio.wait_for(asyncio.gather(*(r.closed for r in self._readers)), _DRAIN_TIMEOUT_S)
        except TimeoutError:
            pass
        finally:
            for r in self._readers:
                r.close()
            self._sink.close()
        return code


class WarmPython:
    """The executor's warm interpreters, one per task root at most."""

    def __init__(self) -> None:
        self._by_root: dict[Path, Zygote] = {}
        #: the workflow whose plain task ran last in each root, and how many in a row
        self._last: dict[Path, tuple[tuple[str, str], int]] = {}
        #: interpreters started so far
        self.started = 0

    def get(self, root: Path, python: str, owner: tuple[str, str],
            wrap: Callable[[list[str]], tuple[list[str], Path]]) -> Zygote:
        """The root's interpreter for `owner` (namespace, workflow); a new one when there
        is none, it broke, or it served another workflow or interpreter."""
        z = self._by_root.get(root)
        if z is not None and (z.broken or z.owner != owner or z.python != python):
            z.close()
            z = None
        if z is None:
            z = self._by_root[root] = Zygote(python, owner, wrap)
            self.started += 1
        return z

    def launcher(self, root: Path, owner: tuple[str, str], python: str,
                 wrap: Callable[[list[str]], tuple[list[str], Path]]) -> Zygote | None:
        """The root's interpreter to fork a plain command of `owner` from, when one is up;
        None: start the task as usual. Any interpreter of the workflow will do (a command
        does not run in it); the second task in a row of a workflow here starts one."""
        z = self._by_root.get(root)
        if z is not None and (z.broken or z.owner != owner):
            del self._by_root[root]  # the root went to another workflow: its sandbox ends now
            z.close()
            z = None
        if z is not None:
            return z if z.ready() else None
        last, count = self._last.get(root, (None, 0))
        count = count + 1 if last == owner else 1
        self._last[root] = (owner, count)
        if count >= 2:
            self._by_root[root] = Zygote(python, owner, wrap)
            self.started += 1
        return None

    def drop(self, root: Path) -> None:
        self._last.pop(root, None)
        z = self._by_root.pop(root, None)
        if z is not None:
            z.close()

    def close(self) -> None:
        for root in list(self._by_root):
            self.drop(root)
