"""The bound on a container's log file (CONVEYOR_MAX_LOG_BYTES): head and tail kept, the cut said."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import Settings
from conveyor.errors import InvalidInput
from conveyor.executors._streams import LogSink


def _write(path: Path, cap: int, lines: list[bytes], chunk_lines: int = 1) -> bytes:
    sink = LogSink(path, cap)
    for i in range(0, len(lines), chunk_lines):
        sink.write(b"".join(lines[i:i + chunk_lines]))
    sink.close()
    return path.read_bytes()


def _lines(n: int) -> list[bytes]:
    return [f"line {i:06d}\n".encode() for i in range(n)]  # 12 bytes each


def test_without_a_bound_everything_is_kept(tmp_path: Path) -> None:
    lines = _lines(10_000)
    assert _write(tmp_path / "a.log", 0, lines) == b"".join(lines)


def test_a_log_within_the_bound_is_kept_as_it_came(tmp_path: Path) -> None:
    lines = _lines(340)  # 4080 bytes
    assert _write(tmp_path / "a.log", 4096, lines) == b"".join(lines)


@pytest.mark.parametrize("chunk_lines", [1, 7, 1000, 5000])
def test_past_the_bound_the_head_and_tail_are_kept_and_the_cut_is_counted(tmp_path: Path, chunk_lines: int) -> None:
    cap = 8192
    lines = _lines(5_000)
    everything = b"".join(lines)
    kept = _write(tmp_path / "a.log", cap, lines, chunk_lines)
    head, half = cap - cap // 2, cap // 2
    assert kept.startswith(everything[:head])
    assert kept.endswith(everything[-half:])
    cut = len(everything) - head - half
    assert f"[conveyor: {cut} bytes cut here (CONVEYOR_MAX_LOG_BYTES={cap}".encode() in kept
    notes = len(kept) - head - half
    assert 0 < notes < 400, "only the two notes are added"


def test_the_held_tail_stays_within_half_the_bound(tmp_path: Path) -> None:
    cap = 64 * 1024
    sink = LogSink(tmp_path / "a.log", cap)
    chunk = b"x" * 4095 + b"\n"
    for _ in range(2_000):  # 8 MB
        sink.write(chunk)
        assert sink._tail_bytes <= cap // 2
    sink.close()
    assert (tmp_path / "a.log").stat().st_size < cap + 400


def test_the_bound_is_a_setting(tmp_path: Path) -> None:
    assert Settings.from_env({"CONVEYOR_HOME": str(tmp_path)}).max_log_bytes == 10 * 1024 * 1024
    assert Settings.from_env({"CONVEYOR_HOME": str(tmp_path), "CONVEYOR_MAX_LOG_BYTES": "0"}).max_log_bytes == 0
    with pytest.raises(InvalidInput, match="CONVEYOR_MAX_LOG_BYTES=100 is too small"):
        Settings.from_env({"CONVEYOR_HOME": str(tmp_path), "CONVEYOR_MAX_LOG_BYTES": "100"})
    with pytest.raises(InvalidInput, match="not an integer"):
        Settings.from_env({"CONVEYOR_HOME": str(tmp_path), "CONVEYOR_MAX_LOG_BYTES": "lots"})
