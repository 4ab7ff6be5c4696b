"""Blocking Docker SDK streams, bridged to asyncio: a running container's output and exit,
and a path copied out of a container as a tar (`get_archive`), unpacked safely.

A task's files are untrusted: the copied tar may name absolute paths, climb out
with `..`, or carry links and device files. Such an archive is refused whole,
before anything is written (tarfile's "data" filter then checks once more).
https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerArchive
"""

from __future__ import annotations

import asyncio
import posixpath
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.executors._streams import LogSink, ResultTail, pump

__all__ = ["DockerRunning", "archive_out", "error_text"]

#: how long the log pumps may take to drain once the container exited
_DRAIN_TIMEOUT_S = 10.0
#: exit code reported when the engine lost the container (it was removed, the daemon died)
LOST_EXIT_CODE = 255


def error_text(e: BaseException) -> str:
    """The engine's own words for an SDK error (its `explanation`), else the exception's."""
    explanation = getattr(e, "explanation", None)
    text = explanation.decode(errors="replace") if isinstance(explanation, bytes) else explanation
    return str(text or e).strip() or type(e).__name__


class DockerRunning:
    """A started container: its output streams, its exit code; what PodTask needs of `Running`.

    `client` must have no read timeout: a container may be quiet for longer than any."""

    def __init__(self, client: Any, cid: str, log_path: Path, capture: bool,
                 kill: Callable[[str, int], None], *, max_log_bytes: int = 0) -> None:
        self.tail = ResultTail() if capture else None
        self._client = client
        self._cid = cid
        self._kill = kill
        self._sink = LogSink(log_path, max_log_bytes)
        self._loop = asyncio.get_running_loop()
        self._exit: asyncio.Future[int] = self._loop.create_future()
        self._pumps: list[asyncio.Task[None]] = []
        self._streams: list[Any] = []
        #: why the engine could not say how the container ended (it went away), or None
        self.lost: str | None = None

    def abandon(self) -> None:
        """The container never started: nothing will be written."""
        for stream in self._streams:
            stream.close()
        self._sink.close()

    def attach(self) -> None:
        """Attach to stdout and stderr (blocking; before the container starts, so nothing is
        missed: following `logs` after the start loses the output of short-lived containers)."""
        for stdout in (True, False):
            self._streams.append(self._client.api.attach(self._cid, stdout=stdout, stderr=not stdout,
                                                         stream=True, logs=True))

    def follow(self) -> None:
        """Read both streams, each on a thread of its own for the container's life."""
        for stdout, stream in zip((True, False), self._streams, strict=True):
            reader = asyncio.StreamReader(limit=2**16, loop=self._loop)
            tail = self.tail if stdout else None
            self._pumps.append(self._loop.create_task(pump(reader, self._sink, tail)))
            threading.Thread(target=self._follow, args=(stream, reader, stdout), daemon=True,
                             name=f"docker attach {self._cid[:12]}").start()

    def _soon(self, fn: Callable[..., object], *args: object) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass  # the loop is closed: nobody waits any more

    def _follow(self, stream: Any, reader: asyncio.StreamReader, stdout: bool) -> None:
        try:
            for chunk in stream:  # ends when the container has exited
                self._soon(reader.feed_data, chunk)
        except Exception as e:  # noqa: BLE001 - the log is incomplete; say so in it
            self._soon(reader.feed_data, f"\n[conveyor: log stream broke: {error_text(e)}]\n".encode())
        finally:
            self._soon(reader.feed_eof)
            stream.close()
        if stdout:
            try:
                code = int(self._client.api.wait(self._cid, timeout=None).get("StatusCode", LOST_EXIT_CODE))
            except Exception as e:  # noqa: BLE001 - removed under us, or the daemon went away
                self.lost = error_text(e)
                code = LOST_EXIT_CODE
            self._soon(self._set_exit, code)

    def _set_exit(self, code: int) -> None:
        if not self._exit.done():
            self._exit.set_result(code)

    def signal(self, sig: int) -> None:
        self._kill(self._cid, sig)

    async def wait(self) -> int:
        code = await asyncio.shield(self._exit)
        try:
            await asyncio.wait_for(asyncio.gather(*self._pumps), _DRAIN_TIMEOUT_S)
        except TimeoutError:
            pass
        finally:
            self._sink.close()
        return code


def _refusal(member: tarfile.TarInfo) -> str | None:
    name = member.name
    if name.startswith("/") or ".." in name.split("/"):
        return f"member {name!r} would land outside the destination"
    if member.issym() or member.islnk():
        return f"member {name!r} is a link ({member.linkname!r}); links are not copied out"
    if not (member.isfile() or member.isdir()):
        return f"member {name!r} is a device, fifo or other special file"
    return None


def archive_out(client: Any, cid: str, path: str, dest: Path, scratch: Path) -> str | None:
    """Copy `path` out of container `cid` to `dest` (blocking): None when copied or when the
    path does not exist (then `dest` does not either), else why it was refused."""
    import docker

    try:
        chunks, _ = client.api.get_archive(cid, path)
    except docker.errors.NotFound:
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        blob = Path(tmp) / "out.tar"
        with blob.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
        unpacked = Path(tmp) / "unpacked"
        unpacked.mkdir()
        try:
            with tarfile.open(blob, "r:") as tf:
                members = tf.getmembers()
                for member in members:  # every header first: a refused archive writes nothing
                    why = _refusal(member)
                    if why:
                        return why
                tf.extractall(unpacked, filter="data")
        except (tarfile.TarError, OSError) as e:
            return f"could not unpack the copy: {e}"
        top = unpacked / (posixpath.basename(path.rstrip("/")) or ".")
        if not (top.exists() or top.is_symlink()):
            return None
        shutil.move(str(top), str(dest))
    return None
