"""One container of a task, run as a host process: its argv, its executable, its exit.

Kubernetes semantics for argv: `command` replaces the image's ENTRYPOINT and `args`
its CMD; with no command the entrypoint stands in from `Settings.image_entrypoints`
(there is no image to read it from). https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

from conveyor.executors._streams import LogSink, ResultTail, pump
from conveyor.executors.base import ContainerSpec

__all__ = [
    "image_name",
    "container_argv",
    "missing_executable",
    "exit_code",
    "exit_message",
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
    for folder in path_env.split(os.pathsep):
        if folder.startswith("/"):
            place = visible(folder) / argv0
            if place.is_file() and os.access(place, os.X_OK):
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


class _Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """asyncio's own protocol, plus a future set as soon as the process exits.

    `Process.wait()` also waits for stdout and stderr to close, which never happens
    while a background child the task left behind still holds them.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=2**16, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


class Running:
    """A started container process: its log pumps, its process group, its exit."""

    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _Protocol,
        sink: LogSink,
        tail: ResultTail | None,
    ) -> None:
        self.pid = transport.get_pid()
        self.tail = tail
        self._transport = transport
        self._protocol = protocol
        self._sink = sink
        stdout, stderr = protocol.stdout, protocol.stderr
        assert stdout is not None and stderr is not None
        self._pumps = [
            asyncio.create_task(pump(stdout, sink, tail)),
            asyncio.create_task(pump(stderr, sink)),
        ]

    @classmethod
    async def spawn(
        cls, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path, capture: bool,
        max_log_bytes: int = 0,
    ) -> Running:
        """Start `argv` in a new session (its own process group); raises OSError."""
        sink = LogSink(log_path, max_log_bytes)
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(loop),
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except BaseException:
            sink.close()
            raise
        return cls(transport, protocol, sink, ResultTail() if capture else None)

    def signal(self, sig: int) -> None:
        """Signal the whole process group (with bwrap: bwrap and the task inside it)."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def wait(self) -> int:
        await self._protocol.exited
        returncode = self._transport.get_returncode()
        assert returncode is not None
        # Children the task left behind share its process group: end them so a task
        # that forks `sleep 1000 &` and exits leaves nothing running (with bwrap the
        # pid namespace already took them down). The group id cannot be reused while
        # members remain, so this never reaches a stranger.
        self.signal(signal.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.gather(*self._pumps), _DRAIN_TIMEOUT_S)
        except TimeoutError:
            pass  # a process that left the group still holds the pipes; stop reading them
        finally:
            self._sink.close()
            self._transport.close()
        return exit_code(returncode)
