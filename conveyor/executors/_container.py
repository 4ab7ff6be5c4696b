"""One container of a task, run as a host process: its argv, its executable, its exit.

Kubernetes semantics for argv: `command` replaces the image's ENTRYPOINT and `args`
its CMD; with no command the entrypoint stands in from `Settings.image_entrypoints`
(there is no image to read it from). https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from conveyor.executors._streams import CHUNK_BYTES, LineCopier, LogSink, ResultTail
from conveyor.executors.base import ContainerSpec

__all__ = [
    "image_name",
    "container_argv",
    "find_executable",
    "missing_executable",
    "exit_code",
    "exit_message",
    "OutputPipes",
    "PipeReader",
    "Running",
]

#: how long to wait for pipes to close after a process ended (an escaped daemon may hold them)
_DRAIN_TIMEOUT_S = 2.0


def image_name(image: str) -> str:
    """`docker.io/argoproj/argosay:v2@sha256:...` -> `docker.io/argoproj/argosay`."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _entrypoint(image: str | None, entrypoints: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    if not image:
        return ()
    name = image_name(image)
    first, _, rest = name.partition("/")
    candidates = [name]
    if rest and ("." in first or ":" in first or first == "localhost"):
        candidates.append(rest)  # drop the registry host
    candidates += [c.removeprefix("library/") for c in candidates]
    for c in candidates:
        if c in entrypoints:
            return tuple(entrypoints[c])
    return ()


def container_argv(c: ContainerSpec, entrypoints: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The container's argv before any script path; empty when nothing says what to run."""
    command = c.command or _entrypoint(c.image, entrypoints)
    return [*command, *c.args]


def find_executable(argv0: str, path_env: str, visible: Callable[[str], Path]) -> str | None:
    """The path (as the sandboxed process sees it) that a bare `argv0` runs from PATH, or None."""
    for folder in path_env.split(os.pathsep):
        if folder.startswith("/"):
            # os.path, not pathlib: this runs for every task start, once per PATH entry
            place = os.path.join(visible(folder), argv0)
            if os.path.isfile(place) and os.access(place, os.X_OK):
                return os.path.join(folder, argv0)
    return None


def missing_executable(
    argv0: str, path_env: str, cwd: Path, visible: Callable[[str], Path]
) -> str | None:
    """Why `argv0` cannot be executed (as the sandboxed process will look it up), or None."""
    if "/" in argv0:
        place = visible(argv0) if argv0.startswith("/") else cwd / argv0
        if not place.exists():
            return f'executable "{argv0}" not found'
        if place.is_dir() or not os.access(place, os.X_OK):
            return f'"{argv0}" is not executable'
        return None
    if find_executable(argv0, path_env, visible) is not None:
        return None
    return f'executable "{argv0}" not found on PATH'


def exit_code(returncode: int) -> int:
    """asyncio reports death by signal N as -N; shells, bwrap and Kubernetes say 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def exit_message(code: int) -> str:
    """Argo's wording, plus the signal's name for codes the 128+N convention explains.

    bubblewrap turns a child's death by signal into exit 128+N, so 137 from a program
    that really called exit(137) reads the same; Kubernetes has the same ambiguity.
    """
    message = f"Error (exit code {code})"
    if 128 < code < 128 + signal.NSIG:
        try:
            message += f": killed by signal {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return message


class PipeReader:
    """One of a process's output pipes, read straight from the event loop's selector.

    Cheaper per process than asyncio's subprocess transports (a protocol, a stream
    reader and a task per pipe), which showed in the benchmark's per-task cost."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, lines: LineCopier) -> None:
        self._loop, self._fd, self._lines = loop, fd, lines
        self.closed: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self._lines.feed(chunk)
        else:
            self.close()

    def close(self) -> None:
        """Stop reading (at end of file, or when a leftover process still holds the pipe)."""
        if self.closed.done():
            return
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._lines.end()
        self.closed.set_result(None)


class OutputPipes:
    """A container's stdout and stderr pipes, and the log (and result tail) they feed."""

    def __init__(self, log_path: Path, capture: bool, max_log_bytes: int = 0) -> None:
        self.sink = LogSink(log_path, max_log_bytes)
        self.tail = ResultTail() if capture else None
        self._fds: list[int] = []
        try:
            self.out_r, self.out_w = os.pipe2(os.O_CLOEXEC)
            self._fds += [self.out_r, self.out_w]
            self.err_r, self.err_w = os.pipe2(os.O_CLOEXEC)
            self._fds += [self.err_r, self.err_w]
        except BaseException:
            self.abandon()
            raise

    def started(self, loop: asyncio.AbstractEventLoop) -> list[PipeReader]:
        """The process holds the write ends now: close ours and read the other ends."""
        for fd in (self.out_w, self.err_w):
            os.close(fd)
            self._fds.remove(fd)
        self._fds = []  # the readers own the read ends from here on
        return [PipeReader(loop, self.out_r, LineCopier(self.sink, self.tail)),
                PipeReader(loop, self.err_r, LineCopier(self.sink))]

    def abandon(self) -> None:
        """Nothing started: close every end and the log."""
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
        self.sink.close()


class Running:
    """A started container process: its output pipes, its process group, its exit.

    The process is started with `subprocess.Popen` (vfork, so the cost does not grow
    with the server's memory) and its exit is noticed through a pidfd on the event
    loop, so no thread waits for it; where pidfds are missing a worker thread waits."""

    def __init__(self, proc: subprocess.Popen[bytes], readers: list[PipeReader], sink: LogSink,
                 tail: ResultTail | None) -> None:
        self.pid = proc.pid
        self.tail = tail
        #: the process's own exit status once it ended (-N: killed by signal N), as Popen reports it
        self.returncode: int | None = None
        self._proc = proc
        self._readers = readers
        self._sink = sink
        loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = loop.create_future()
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            thread = asyncio.ensure_future(asyncio.to_thread(proc.wait))
            thread.add_done_callback(lambda t: self._exit(t.result()))
        else:
            def exited() -> None:
                loop.remove_reader(pidfd)
                os.close(pidfd)
                self._exit(proc.wait())  # it has exited: this only reaps it

            loop.add_reader(pidfd, exited)

    def _exit(self, returncode: int) -> None:
        if not self._exited.done():
            self.returncode = returncode
            self._exited.set_result(returncode)

    @classmethod
    async def spawn(
        cls, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path, capture: bool,
        max_log_bytes: int = 0,
    ) -> Running:
        """Start `argv` in a new session (its own process group); raises OSError."""
        pipes = OutputPipes(log_path, capture, max_log_bytes)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=pipes.out_w, stderr=pipes.err_w,
                                    env=env, cwd=cwd, start_new_session=True)
        except BaseException:
            pipes.abandon()
            raise
        readers = pipes.started(asyncio.get_running_loop())
        sink, tail = pipes.sink, pipes.tail
        return cls(proc, readers, sink, tail)

    def signal(self, sig: int) -> None:
        """Signal the whole process group (with bwrap: bwrap and the task inside it)."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def wait(self) -> int:
        returncode = await asyncio.shield(self._exited)
        # Children the task left behind share its process group: end them so a task
        # that forks `sleep 1000 &` and exits leaves nothing running (with bwrap the
        # pid namespace already took them down). The group id cannot be reused while
        # members remain, so this never reaches a stranger.
        self.signal(signal.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.gather(*(r.closed for r in self._readers)), _DRAIN_TIMEOUT_S)
        except TimeoutError:
            pass  # a process that left the group still holds the pipes; stop reading them
        finally:
            for r in self._readers:
                r.close()
            self._sink.close()
        return exit_code(returncode)
