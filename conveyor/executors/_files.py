"""Moving files across the sandbox boundary: input artifacts in, outputs out.

Blocking helpers, meant for `asyncio.to_thread` when the files may be big.
See https://argo-workflows.readthedocs.io/en/latest/walk-through/output-parameters/
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

__all__ = ["place_input", "copy_out", "read_parameter"]


def _special(folder: str, names: list[str]) -> set[str]:
    """Names that are neither files, folders nor links (fifos, sockets): copying a fifo blocks."""
    skip = set()
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skip.add(name)
    return skip


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    elif dest.exists() or dest.is_symlink():
        dest.unlink()
    if src.is_dir():
        # symlinks=True copies links as links: one pointing out of the sandbox is
        # never followed to the host file it names.
        shutil.copytree(src, dest, symlinks=True, ignore=_special)
    else:
        shutil.copy2(src, dest)


def place_input(src: Path, dest: Path, mode: int | None) -> None:
    """Put an input artifact (host file or folder) at its path inside the task."""
    _copy(src, dest)
    if mode is None:
        return
    if dest.is_dir():
        # Argo applies `mode` to the files of a folder artifact; folders keep theirs
        # so they stay searchable.
        for folder, _, files in os.walk(dest):
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, mode)
    else:
        dest.chmod(mode)


def copy_out(src: Path, dest: Path) -> None:
    """Copy an output artifact (file or folder, links kept as links) to `dest`."""
    _copy(src, dest)


def read_parameter(path: Path) -> str:
    """An output parameter's value: the file's text with ONE trailing newline removed.

    That is Argo's rule (`strings.TrimSuffix(output, "\\n")` in argoexec's
    saveParameters), not TrimSpace: other whitespace is kept.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    return text.removesuffix("\n")
