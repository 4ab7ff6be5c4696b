"""The server process's allocator: large blocks go back to the OS when they are freed.

A workflow's status is written as one JSON document (5.6 MB for 10,000 nodes),
rendered anew every few hundred milliseconds, serialized in the journal's
worker thread and parsed again by GETs. glibc's malloc serves a block this
large with mmap at first, but each such block freed raises its mmap threshold
to the block's size (up to 32 MiB), and from then on the ever-growing documents
are carved out of the arenas, one per thread that allocates them. The arenas
keep what is freed: after a 10,000-item loop the server held ~130 MB of arena
memory of which ~80 MB was free (mallinfo2), and its peak RSS was ~270 MB.
A fixed threshold (which also turns the adjustment off) keeps every block of
1 MiB or more in its own mapping, unmapped on free: the same run peaked at
~215 MB. Blocks that large are few (documents, not nodes), so the extra
mmap/munmap calls cost nothing measurable.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["MMAP_THRESHOLD_BYTES", "return_large_blocks"]

#: blocks of at least this size get a mapping of their own
MMAP_THRESHOLD_BYTES = 1 << 20
#: mallopt's parameter number for the threshold (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process; whether it was set.

    A no-op off glibc (musl's malloc, macOS), and when the environment already
    chooses a threshold (glibc reads MALLOC_MMAP_THRESHOLD_ itself).
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018  # glibc only: musl has a mallopt that does nothing
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
