"""Writing and safely unpacking Argo's tar+gzip artifacts.

An artifact tarball comes from a task, so it is untrusted: a member could
be an absolute path, climb out with `..`, be a symlink or hardlink pointing
outside, be a device file, or be a small gzip that inflates to fill the disk.
`extract` checks every header before writing anything (so a refused archive
leaves nothing behind), then extracts with tarfile's own "data" filter as a
second line of defence, then checks every symlink on disk once more.
https://argo-workflows.readthedocs.io/en/latest/walk-through/artifacts/
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path

from conveyor.errors import InvalidInput

__all__ = ["DEFAULT_LEVEL", "extract", "is_tgz", "write"]

#: Argo writes with Go's gzip.DefaultCompression, which is level 6
#: (tarfile's own default, 9, is much slower for little gain).
DEFAULT_LEVEL = 6

#: every member costs at least one 512-byte header; counting it bounds
#: archives of millions of empty files, not just large ones.
_HEADER_BYTES = 512

# tarfile.FilterError arrived with the extraction filters in 3.11.4.
_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)


def write(src: Path, blob: Path, level: int | None) -> None:
    """tar+gzip `src` into `blob`; members are named `<basename>/...`, as Argo names them."""
    with tarfile.open(blob, "w:gz", compresslevel=DEFAULT_LEVEL if level is None else level) as tf:
        # dereference=False (the default): links are stored as links, never followed.
        tf.add(src, arcname=src.name or "artifact", recursive=True)


def is_tgz(path: Path) -> bool:
    """Whether `path` is a gzipped tarball with at least one member.

    Argo decides the same way when it loads an artifact (it sniffs content,
    it does not trust the recorded archive strategy).
    """
    if not path.is_file():
        return False
    try:
        with tarfile.open(path, "r:gz") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def _check_member(member: tarfile.TarInfo, label: str) -> None:
    name = member.name

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"artifact {label}: refusing to unpack member {name!r}: {why}")

    if name.startswith("/") or os.path.isabs(name):
        raise bad("absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise bad("'..' in path")
    if member.issym():
        target = member.linkname
        if target.startswith("/"):
            raise bad(f"symlink to absolute path {target!r}")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if resolved == ".." or resolved.startswith("../"):
            raise bad(f"symlink {target!r} points outside the artifact")
    elif member.islnk():
        target = posixpath.normpath(member.linkname)
        if target.startswith("/") or target == ".." or target.startswith("../"):
            raise bad(f"hardlink {member.linkname!r} points outside the artifact")
    elif not (member.isfile() or member.isdir()):
        raise bad("device files, fifos and other special files are not allowed")


def _check_links_on_disk(root: Path, label: str) -> None:
    """Every symlink under `root` must resolve inside it (chains of links included)."""
    real_root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):
        for entry in dirs + files:
            path = os.path.join(folder, entry)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([real_root, target]) != real_root:
                    rel = os.path.relpath(path, root)
                    raise InvalidInput(
                        f"artifact {label}: symlink {rel!r} points outside the artifact"
                    )


def extract(blob: Path, into: Path, *, label: str, limit_bytes: int) -> None:
    """Unpack `blob` into the (empty, existing) folder `into`, or raise InvalidInput."""
    try:
        with tarfile.open(blob, "r:gz") as tf:
            total = 0
            for member in tf:  # pass 1: headers only, nothing is written yet
                _check_member(member, label)
                total += _HEADER_BYTES + (member.size if member.isfile() else 0)
                if total > limit_bytes:
                    raise InvalidInput(
                        f"artifact {label} unpacks to more than {limit_bytes} bytes, the limit "
                        "(ArtifactRepo max_unpacked_bytes); refusing to extract it"
                    )
            # pass 2. The "data" filter (3.11.4+) re-checks paths and links against
            # the real destination and drops setuid bits and ownership.
            if hasattr(tarfile, "data_filter"):
                tf.extractall(into, filter="data")
            else:  # pragma: no cover - older 3.11 patch releases
                tf.extractall(into)
    except _FILTER_ERRORS as exc:
        raise InvalidInput(f"artifact {label}: refusing to unpack: {exc}") from None
    except (tarfile.ReadError, EOFError) as exc:
        raise InvalidInput(f"artifact {label} is not a readable tar.gz: {exc}") from None
    _check_links_on_disk(into, label)
