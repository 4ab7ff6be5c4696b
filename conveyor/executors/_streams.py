"""Container output: streamed line by line to a log file, stdout's tail kept as Argo's result.

Memory stays flat whatever a task prints: output is copied in 64 KiB chunks and
only the last `RESULT_LIMIT_BYTES` of stdout are held, which is what Argo keeps
for `outputs.result` ("only the last 256 kB were saved").
See https://argo-workflows.readthedocs.io/en/latest/variables/ (outputs.result).
"""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

__all__ = ["CHUNK_BYTES", "RESULT_LIMIT_BYTES", "LineCopier", "LogSink", "ResultTail", "pump"]

RESULT_LIMIT_BYTES = 256 * 1024
CHUNK_BYTES = 64 * 1024


class LogSink:
    """One container's log file; stdout and stderr interleave by whole lines.

    With `max_bytes` (CONVEYOR_MAX_LOG_BYTES) a log that grows past it keeps its first
    half and, once the container ends, its last half, with a line between them saying
    how much was cut, as kubelet bounds a container's log. A log within the bound is
    written as it comes, untouched. Past it the tail is held as a queue of chunks, so
    memory stays within `max_bytes / 2` however much a task prints.
    """

    def __init__(self, path: Path, max_bytes: int = 0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w+b")
        self._max = max_bytes
        self._written = 0
        self._holding = False  # past the bound: the tail goes to `_tail`, not the file
        self._tail: deque[bytes] = deque()
        self._tail_bytes = 0
        self._cut = 0  # bytes dropped from the front of the tail

    def write(self, data: bytes | bytearray) -> None:
        if self._file.closed or not data:
            return
        if self._holding:
            self._keep(bytes(data))
        elif self._max <= 0 or self._written + len(data) <= self._max:
            self._file.write(data)
            self._written += len(data)
            self._file.flush()  # readers tail the file while the task runs
        else:
            # Over the bound: what is past the head moves from the file to the held tail.
            head = self._max - self._max // 2
            if self._written < head:
                self._file.write(data[: head - self._written])
                data = data[head - self._written :]
            self._file.seek(head)
            past_head = self._file.read()
            self._file.seek(head)
            self._file.truncate()
            self._file.write(
                f"\n[conveyor: this log passed CONVEYOR_MAX_LOG_BYTES={self._max}; its last "
                f"{self._max // 2} bytes are written here when the container ends]\n".encode()
            )
            self._file.flush()
            self._holding = True
            self._keep(past_head + bytes(data))

    def _keep(self, data: bytes) -> None:
        self._tail.append(data)
        self._tail_bytes += len(data)
        while (excess := self._tail_bytes - self._max // 2) > 0:
            first = self._tail[0]
            if len(first) <= excess:
                self._tail.popleft()
            else:
                self._tail[0] = first[excess:]
            dropped = min(len(first), excess)
            self._tail_bytes -= dropped
            self._cut += dropped

    def close(self) -> None:
        if self._file.closed:
            return
        if self._holding:
            self._file.write(
                f"[conveyor: {self._cut} bytes cut here (CONVEYOR_MAX_LOG_BYTES={self._max} keeps "
                f"the first and the last {self._max // 2} bytes)]\n".encode()
            )
            self._file.writelines(self._tail)
            self._tail.clear()
        self._file.close()


class ResultTail:
    """The last `limit` bytes of a stream (plus one, for the trailing newline Argo drops)."""

    def __init__(self, limit: int = RESULT_LIMIT_BYTES) -> None:
        self.limit = limit
        self.total = 0
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self._buf += data
        extra = len(self._buf) - (self.limit + 1)
        if extra > 0:
            del self._buf[:extra]

    def text(self) -> tuple[str, bool]:
        """The result (one trailing newline removed, as Argo does) and whether it was cut."""
        data = bytes(self._buf)
        total = self.total
        if data.endswith(b"\n"):
            data, total = data[:-1], total - 1
        cut = total > self.limit
        if cut:
            data = data[-self.limit :]
            while data and 0x80 <= data[0] < 0xC0:
                data = data[1:]  # don't start on half a UTF-8 character
        return data.decode("utf-8", errors="replace"), cut


class LineCopier:
    """Copies one stream's chunks to the log as whole lines arrive (stdout and stderr
    share the log: a line of one never splits a line of the other); feeds `tail` with everything."""

    def __init__(self, sink: LogSink, tail: ResultTail | None = None) -> None:
        self._sink = sink
        self._tail = tail
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> None:
        if self._tail is not None:
            self._tail.feed(chunk)
        pending = self._pending
        pending += chunk
        cut = pending.rfind(b"\n")
        if cut >= 0:
            self._sink.write(pending[: cut + 1])
            del pending[: cut + 1]
        elif len(pending) >= CHUNK_BYTES:
            self._sink.write(pending)  # a very long line: don't hold it all
            pending.clear()

    def end(self) -> None:
        if self._pending:
            self._sink.write(self._pending)
            self._pending.clear()


async def pump(reader: asyncio.StreamReader, sink: LogSink, tail: ResultTail | None = None) -> None:
    """Copy a pipe to the log as whole lines arrive; feed `tail` with everything."""
    lines = LineCopier(sink, tail)
    while chunk := await reader.read(CHUNK_BYTES):
        lines.feed(chunk)
    lines.end()
