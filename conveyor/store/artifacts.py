"""The local default artifact repository: a folder whose relative paths are keys.

`put` stores a task's output file or folder under a key, as Argo does:
`archive="tar"` (Argo's default) writes one tar+gzip blob, `archive="none"`
copies the file, or the folder as a folder. `get` materializes an artifact
at a task's input path the way Argo's executor does: a tarball is unpacked,
and when it holds a single entry (which is how Argo packs one file or one
folder) that entry *becomes* the destination.
https://argo-workflows.readthedocs.io/en/latest/walk-through/artifacts/
https://argo-workflows.readthedocs.io/en/latest/fields/#archivestrategy

Keys and sub-paths come from manifests, so they are confined to the root:
no absolute paths, no `.`/`..`/empty segments, no NUL, and the resolved
path must stay under the root even through symlinks. Stored artifacts never
contain links that point outside themselves (`put` refuses them).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conveyor.errors import InvalidInput, NotFound, StoreError
from conveyor.store import _tarsafe

__all__ = ["ArtifactRepo"]

_ARCHIVES = ("tar", "none")


def _check_relative(value: str, what: str) -> list[str]:
    """The segments of a slash-separated relative path, or InvalidInput naming it."""
    if not isinstance(value, str) or value == "":
        raise InvalidInput(f"{what} {value!r} is empty; use a relative path like 'wf/node/out.tgz'")
    if "\x00" in value:
        raise InvalidInput(f"{what} {value!r} contains a NUL byte")
    if value.startswith("/") or os.path.isabs(value):
        raise InvalidInput(f"{what} {value!r} is absolute; use a path relative to the repository")
    parts = value.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in value:
        raise InvalidInput(
            f"{what} {value!r} has an empty, '.' or '..' segment or a backslash; "
            "use plain names joined by '/'"
        )
    return parts


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def _scratch_name(path: Path) -> Path:
    # Beside the target so the final os.replace is a same-filesystem rename.
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink(missing_ok=True)


def _check_source(src: Path) -> int:
    """Refuse links leaving `src` and special files; return the bytes of regular files."""

    def bad(path: str, why: str) -> InvalidInput:
        return InvalidInput(
            f"artifact path {path} {why}; conveyor stores only regular files, "
            "folders and links that stay inside the artifact"
        )

    if src.is_symlink():
        raise bad(str(src), "is a symbolic link")
    if src.is_file():
        return src.stat().st_size
    if not src.is_dir():
        raise bad(str(src), "is a special file")
    real_root = os.path.realpath(src)
    total = 0
    for folder, dirs, files in os.walk(src):
        for entry in dirs + files:
            path = os.path.join(folder, entry)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                target = os.path.realpath(path)
                if os.path.commonpath([real_root, target]) != real_root:
                    raise bad(path, "is a symbolic link pointing outside the artifact")
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
            elif not stat.S_ISDIR(info.st_mode):
                raise bad(path, "is a special file")
    return total


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy a folder, links as links; file data moves in kernel-side chunks (copy2)."""
    dst.mkdir()
    for entry in os.scandir(src):
        target = dst / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_dir():
            _copy_tree(Path(entry.path), target)
        else:
            shutil.copy2(entry.path, target, follow_symlinks=False)
    shutil.copystat(src, dst)


class ArtifactRepo:
    def __init__(self, root: Path, *, max_unpacked_bytes: int = 10 * 1024**3) -> None:
        self.root = Path(root)
        self.max_unpacked_bytes = max_unpacked_bytes

    def _blob(self, key: str) -> Path:
        _check_relative(key, "artifact key")
        path = self.root / key
        # Catches a key that walks through a symlinked folder inside the root.
        if not _inside(path, self.root):
            raise InvalidInput(f"artifact key {key!r} resolves outside the repository {self.root}")
        return path

    @contextmanager
    def _disk_errors(self, key: str, folder: Path, doing: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreError(
                    f"no space left in {folder} while {doing} artifact {key!r}; free disk space "
                    "there (or point CONVEYOR_ARTIFACT_DIR at a larger disk)"
                ) from exc
            raise StoreError(
                f"could not finish {doing} artifact {key!r} in {folder}: {exc}"
            ) from exc

    def put(
        self, key: str, src: Path, *, archive: str = "tar", compression_level: int | None = None
    ) -> dict[str, Any]:
        """Store `src` (a file or folder) under `key`, replacing what was there."""
        blob = self._blob(key)
        src = Path(src)
        if archive not in _ARCHIVES:
            raise InvalidInput(f"archive {archive!r} is not supported; use 'tar' or 'none'")
        if compression_level is not None and not 0 <= compression_level <= 9:
            raise InvalidInput(f"compression_level={compression_level} is not between 0 and 9")
        if not os.path.lexists(src):
            raise NotFound(f"artifact path {src} does not exist; the task did not create it")
        unpacked = _check_source(src)
        blob.parent.mkdir(parents=True, exist_ok=True)
        scratch = _scratch_name(blob)
        with self._disk_errors(key, blob.parent, "storing"):
            try:
                if archive == "tar":
                    _tarsafe.write(src, scratch, compression_level)
                    size = scratch.stat().st_size
                elif src.is_dir():
                    _copy_tree(src, scratch)
                    size = unpacked
                else:
                    shutil.copy2(src, scratch, follow_symlinks=False)
                    size = unpacked
                self._replace(scratch, blob)
            finally:
                _remove(scratch)
        return {"key": key, "archive": archive, "size": size}

    @staticmethod
    def _replace(new: Path, blob: Path) -> None:
        # os.replace cannot put a folder over a folder, nor mix files and folders:
        # move the old entry aside first, then drop it once the new one is in.
        if os.path.lexists(blob) and (new.is_dir() or (blob.is_dir() and not blob.is_symlink())):
            old = _scratch_name(blob)
            os.replace(blob, old)
            os.replace(new, blob)
            _remove(old)
        else:
            os.replace(new, blob)

    def get(
        self, key: str, dest: Path, *, sub_path: str | None = None, mode: int | None = None
    ) -> Path:
        """Materialize the artifact (or `sub_path` inside it) at `dest`, which must not exist."""
        blob = self.open_raw(key)
        dest = Path(dest)
        if sub_path:
            _check_relative(sub_path, f"artifact {key!r}: sub_path")
        if mode is not None and not 0 <= mode <= 0o7777:
            raise InvalidInput(f"mode {mode:#o} for artifact {key!r} is not between 0 and 0o7777")
        if os.path.lexists(dest):
            raise InvalidInput(f"cannot load artifact {key!r}: {dest} already exists")
        dest.parent.mkdir(parents=True, exist_ok=True)
        scratch = _scratch_name(dest)
        with self._disk_errors(key, dest.parent, "loading"):
            try:
                if _tarsafe.is_tgz(blob):
                    scratch.mkdir()
                    _tarsafe.extract(
                        blob, scratch, label=repr(key), limit_bytes=self.max_unpacked_bytes
                    )
                    entries = list(scratch.iterdir())
                    top = entries[0] if len(entries) == 1 else scratch
                    chosen = self._select(key, top, sub_path)
                    os.replace(chosen, dest)
                else:
                    chosen = self._select(key, blob, sub_path)
                    if chosen.is_dir():
                        _copy_tree(chosen, scratch)
                    else:
                        shutil.copy2(chosen, scratch, follow_symlinks=False)
                    os.replace(scratch, dest)
            finally:
                _remove(scratch)
            if mode is not None:
                os.chmod(dest, mode)
        return dest

    @staticmethod
    def _select(key: str, top: Path, sub_path: str | None) -> Path:
        if not sub_path:
            return top
        chosen = top / sub_path
        if not os.path.lexists(chosen):
            raise NotFound(f"sub_path {sub_path!r} not found in artifact {key!r}")
        if not _inside(chosen, top):
            raise InvalidInput(f"sub_path {sub_path!r} resolves outside artifact {key!r}")
        return chosen

    def exists(self, key: str) -> bool:
        return os.path.lexists(self._blob(key))

    def open_raw(self, key: str) -> Path:
        """Host path of the stored blob (a .tgz file, a file, or a folder)."""
        blob = self._blob(key)
        if not os.path.lexists(blob):
            raise NotFound(f"artifact {key!r} not found in {self.root}")
        return blob

    def delete(self, key: str) -> None:
        """Remove the artifact, then any folders its key left empty."""
        blob = self.open_raw(key)
        _remove(blob)
        root = self.root.resolve()
        parent = blob.parent
        while parent.resolve() != root and parent.resolve().is_relative_to(root):
            try:
                parent.rmdir()
            except OSError:
                break  # not empty: other artifacts live here
            parent = parent.parent
