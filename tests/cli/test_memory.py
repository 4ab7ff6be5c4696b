"""The server's allocator setting: large blocks keep their own mapping after glibc would stop giving them one."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter (this one may have the setting from a server test): free one
# 8 MiB block, which raises glibc's dynamic mmap threshold past it, then count the
# mappings a 2 MiB block adds.
_PROBE = """
import ctypes, sys
from conveyor.cli._memory import return_large_blocks

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
was_set = return_large_blocks() if sys.argv[1] == "set" else False
libc.free(libc.malloc(8 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(2 << 20)
print(was_set, libc.mallinfo2().hblks - before)
libc.free(block)
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallinfo2")
    except OSError:
        return False


def _probe(mode: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True,
                         env={**clean, "PYTHONPATH": str(ROOT), **env})
    return out.stdout.strip()


pytestmark = pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="needs glibc 2.33+ (mallinfo2)")


def test_large_blocks_stay_mapped_after_a_large_free() -> None:
    assert _probe("leave") == "False 0"  # glibc's own rule: the 2 MiB block comes from the heap
    assert _probe("set") == "True 1"


def test_a_threshold_in_the_environment_wins() -> None:
    assert _probe("set", MALLOC_MMAP_THRESHOLD_="4194304") == "False 0"


# Eight threads, each holding a block it allocated; malloc_stats (on stderr) lists one
# "Arena N:" per arena.
_THREADS = """
import ctypes, sys, threading
from conveyor.cli._memory import bound_arenas

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
was_set = bound_arenas() if sys.argv[1] == "set" else False
started, hold = threading.Barrier(9), threading.Event()

def work():
    libc.malloc(4096)
    started.wait()
    hold.wait()

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
started.wait()
libc.malloc_stats()
hold.set()
print(was_set)
"""


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _THREADS, mode], capture_output=True, text=True, check=True,
                         env={**clean, "PYTHONPATH": str(ROOT), **env})
    return out.stdout.strip(), sum(line.startswith("Arena ") for line in out.stderr.splitlines())


def test_threads_share_a_bounded_number_of_arenas() -> None:
    said, unbounded = _arenas("leave")
    assert said == "False" and unbounded > 2  # glibc's own rule: an arena for each new thread, up to 8 a core
    assert _arenas("set") == ("True", 2)
    assert _arenas("set", MALLOC_ARENA_MAX="3")[0] == "False"  # the environment's choice wins
