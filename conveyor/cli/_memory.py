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

The smaller blocks freed in each arena stay there too, and a server that has run
many workflows keeps some of every thread's: six 1,000-task fans one after the other
left the server at 123-138 MB of RSS with glibc's default (8 arenas a core), 113-121 MB
with two. The worker threads hold the GIL for most of what they allocate, so two
arenas cost them no waiting that shows.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["ARENAS", "MMAP_THRESHOLD_BYTES", "bound_arenas", "return_large_blocks"]

#: blocks of at least this size get a mapping of their own
MMAP_THRESHOLD_BYTES = 1 << 20
#: most malloc arenas the process keeps (the main one and one for the worker threads)
ARENAS = 2
#: mallopt's parameter numbers (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process; whether it was set.

    A no-op off glibc (musl's malloc, macOS), and when the environment already
    chooses a threshold (glibc reads MALLOC_MMAP_THRESHOLD_ itself).
    """
    return _mallopt("MALLOC_MMAP_THRESHOLD_", _M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def bound_arenas() -> bool:
    """At most ARENAS malloc arenas for the threads started from now on; whether it was
    set (not off glibc, nor when MALLOC_ARENA_MAX chooses)."""
    return _mallopt("MALLOC_ARENA_MAX", _M_ARENA_MAX, ARENAS)


def _mallopt(variable: str, param: int, value: int) -> bool:
    if os.environ.get(variable):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018  # glibc only: musl has a mallopt that does nothing
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(param, value))
