"""Task roots kept for reuse: a finished task's root is emptied and given to a later task.

Why: every folder a root holds costs a directory delete when the root goes, and
on hosts whose filesystem discards freed blocks online (ext4 mounted with
`discard`, as on these VMs) each delete waits for the disk: 10-25 ms for one
task's root, and it sat between one task ending and the next one starting.
Here a root's skeleton (its empty system folders and the mount points bwrap
binds over) stays; only what the task wrote is deleted, in a worker thread,
after the task has reported its result.

Isolation holds: a root goes back to the pool only when, once emptied, it is
exactly the skeleton it was made as (the same entries, kinds, link targets and
modes, every file gone). Anything else (an entry that would not go, a folder
that became a link) and the root is deleted whole instead.

Each pool keeps its roots in a folder of its own (`.roots-<pid>-<random>`), so
a `conveyor run` beside a server, or two executors in one process, never share
one; folders of processes that no longer run are swept when a pool opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from conveyor.executors._ctr import pid_alive
from conveyor.executors._paths import RemapSandbox

__all__ = ["RootPool", "Snapshot", "snapshot"]

#: relative path -> (kind, permission bits, link target)
Snapshot = dict[str, tuple[str, int, str]]
_PREFIX = ".roots-"


def snapshot(root: Path) -> Snapshot:
    """Every entry under `root` (links not followed): what a clean root must hold again."""
    out: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), "")
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), "")
        # os.walk does not descend into links to folders (followlinks=False)
    return out


def _remove(path: str) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def empty(root: Path, skeleton: Snapshot) -> bool:
    """Delete what is not in `skeleton`, restore its folders' modes; True when `root` is clean again.

    One walk: what it keeps must be every skeleton entry, with its kind and link target,
    and nothing else may be left (a failed delete is an OSError, and the root is not clean).
    It runs after every task, so it walks with `scandir` entries (their kind comes with the
    listing) and stats only the folders it keeps, whose modes it checks."""
    kept = 0

    def walk(folder: str, prefix: str) -> None:
        nonlocal kept
        with os.scandir(folder) as entries:
            listed = list(entries)
        for entry in listed:
            rel = prefix + entry.name
            want = skeleton.get(rel)
            link = entry.is_symlink()
            kind = "link" if link else "dir" if entry.is_dir(follow_symlinks=False) else "file"
            if want is None or want[0] != kind or (link and os.readlink(entry.path) != want[2]):
                _remove(entry.path)
                continue
            kept += 1
            if kind == "dir":
                mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
                if mode != want[1]:
                    os.chmod(entry.path, want[1])
                walk(entry.path, rel + "/")

    try:
        walk(str(root), "")
        return kept == len(skeleton)
    except OSError:
        return False


class RootPool:
    """Clean task roots under `<scratch>/.roots-<pid>/N`."""

    def __init__(self, scratch_dir: Path, on_discard: Callable[[Path], None] | None = None) -> None:
        self.scratch_dir = scratch_dir
        #: told of a root that is deleted instead of reused (what lives in it must go too)
        self._on_discard = on_discard
        self.folder: Path | None = None  # made with the first root
        self._free: list[Path] = []
        self._skeleton: Snapshot | None = None
        self._made = 0
        self._pending: set[asyncio.Task[None]] = set()

    def acquire(self, make: Callable[[Path], None]) -> Path:
        """A clean root only this caller uses until it gives it back with `release`;
        a new one is made by `make(root)`, and its shape is what later ones are emptied to."""
        if self._free:
            return self._free.pop()
        if self.folder is None:
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=self.scratch_dir))
            threading.Thread(target=self._sweep_dead, name="sweep-roots", daemon=True).start()
        root = self.folder / str(self._made)
        self._made += 1
        root.mkdir()
        make(root)
        if self._skeleton is None:
            self._skeleton = snapshot(root)
        elif snapshot(root) != self._skeleton:
            # `make` changed (say PATH, and with it the mount points): the new shape wins
            self._skeleton = snapshot(root)
            self._free.clear()
        return root

    def release(self, root: Path) -> None:
        """Empty `root` in a worker thread, then keep it for reuse (or delete it if it won't come clean)."""
        task = asyncio.ensure_future(self._recycle(root, self._skeleton))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _recycle(self, root: Path, skeleton: Snapshot | None) -> None:
        clean = skeleton is not None and await asyncio.to_thread(empty, root, skeleton)
        if clean and skeleton == self._skeleton:
            self._free.append(root)
        else:
            if self._on_discard is not None:
                self._on_discard(root)
            await asyncio.to_thread(shutil.rmtree, root, True)

    async def close(self) -> None:
        """Wait for roots being emptied, then delete every root."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        self._free.clear()
        if self.folder is not None:
            await asyncio.to_thread(shutil.rmtree, self.folder, True)

    def _sweep_dead(self) -> None:
        for old in self.scratch_dir.glob(f"{_PREFIX}*"):
            pid = old.name.removeprefix(_PREFIX).split("-")[0]
            if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                RemapSandbox.reap_under(old)  # tasks (without bwrap) that outlived their killed server
                with contextlib.suppress(OSError):
                    shutil.rmtree(old)
