"""Per-task private filesystems with bubblewrap, and the interface both isolation modes share.

A task's scratch folder `<scratch>/<key>/root` is bound as `/` (writable); the host's
system folders are bound read-only on top, so tools work while everything a task
writes (`/tmp/out.txt`, `/result.txt`, `/mnt/out/x`) lands in its own scratch root,
where the executor reads outputs after the containers end. Building the bwrap
command line is a pure function (`bwrap_argv`); finding the host's folders is not.
The fallback without bubblewrap lives in `_paths.py`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import posixpath
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from conveyor.executors import _paths

__all__ = [
    "SYSTEM_DIRS",
    "HostLayout",
    "Sandbox",
    "BwrapSandbox",
    "bwrap_argv",
    "host_layout",
    "bwrap_problem",
    "make_root",
]

#: host folders every task sees read-only at the same place
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt")


class Sandbox(Protocol):
    """Where a task's paths live on the host, and how its commands are started."""

    root: Path
    #: HOME (and TMPDIR when needed) as the task sees them
    env: dict[str, str]

    def prepare(self) -> None: ...

    def host_path(self, path: str) -> Path:
        """Host location of a path the manifest names (inputs, volumes, working dir, script)."""
        ...

    def visible(self, path: str) -> Path:
        """Host location of a path as the started process will see it (argv[0], PATH entries)."""
        ...

    def rewrite(self, text: str) -> str: ...

    def wrap(self, argv: list[str], cwd: str) -> tuple[list[str], Path]:
        """The host argv and host cwd that run `argv` in `cwd` inside the sandbox."""
        ...

    def find_output(self, path: str) -> Path | None:
        """Host location of an output path, or None when it escapes the sandbox."""
        ...


@dataclass(frozen=True)
class HostLayout:
    """Which host folders a sandbox shows, found once per launch from the host and PATH."""

    #: (host source, path inside) bound read-only
    binds: tuple[tuple[str, str], ...]
    #: (path inside, link target) recreated in the root, e.g. ("/bin", "usr/bin") on merged-/usr hosts
    symlinks: tuple[tuple[str, str], ...]
    #: PATH as the task sees it (plain PATH folders are shown under /.conveyor/path/N)
    path_inside: str = ""

    def covers(self, path: str) -> bool:
        """True when `path` is inside a folder the sandbox takes from the host."""
        return any(_paths.is_under(path, dest) for _, dest in self.binds) or any(
            _paths.is_under(path, link) for link, _ in self.symlinks
        )


def bwrap_argv(
    bwrap: str, root: Path, layout: HostLayout, command: Sequence[str], *, cwd: str
) -> list[str]:
    """The bubblewrap command line running `command` with `root` as `/` (pure: no I/O)."""
    argv = [bwrap, "--bind", str(root), "/"]
    for src, dest in layout.binds:
        argv += ["--ro-bind", src, dest]
    # The network stays shared on purpose: tasks call local services and sidecars
    # talk to their main container over 127.0.0.1, as in a pod.
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    argv += ["--chdir", cwd, "--", *command]
    return argv


def _tool_root(entry: Path) -> list[Path]:
    """Folders a PATH entry needs beyond itself: pyenv's root, a venv and its base prefix."""
    parent = entry.parent
    if entry.name in ("shims", "bin") and (parent / "versions").is_dir():
        # pyenv: shims exec `<root>/libexec/pyenv`, which runs `<root>/versions/...`
        return [parent]
    cfg = parent / "pyvenv.cfg"
    if not cfg.is_file():
        return [entry]
    found = [parent]
    for line in cfg.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            found.append(Path(value.strip()).parent)  # the base interpreter's prefix
    return found


#: where plain PATH folders from outside the system folders appear inside a task
PATH_MOUNTS = "/.conveyor/path"


# Every launch asks; the answer depends only on PATH and the host's folders, which
# do not change under a running conveyor, so it is worked out once per PATH.
@functools.lru_cache(maxsize=16)
def host_layout(path_env: str) -> HostLayout:
    """Find the system folders and the PATH folders a task needs (reads the host)."""
    binds: dict[str, str] = {}
    symlinks: list[tuple[str, str]] = []
    for d in SYSTEM_DIRS:
        if not os.path.exists(d):
            continue
        real = os.path.realpath(d)
        if os.path.islink(d) and any(_paths.is_under(real, s) for s in SYSTEM_DIRS if s != d):
            symlinks.append((d, os.readlink(d)))  # merged /usr: keep /bin -> usr/bin a link
        else:
            binds[d] = real
    inside: list[str] = []
    for entry in path_env.split(os.pathsep):
        if not entry.startswith("/") or not os.path.isdir(entry):
            continue
        if any(
            _paths.is_under(entry, d) or _paths.is_under(os.path.realpath(entry), d)
            for d in SYSTEM_DIRS
        ):
            inside.append(entry)
            continue
        roots = _tool_root(Path(posixpath.normpath(entry)))
        if roots == [Path(posixpath.normpath(entry))]:
            # A plain folder of tools (say a checkout under /tmp) is shown at a path of
            # conveyor's own, so it never appears inside the /tmp or /mnt a task writes to.
            dest = f"{PATH_MOUNTS}/{len(inside)}"
            binds[dest] = os.path.realpath(entry)
            inside.append(dest)
            continue
        # pyenv and venv roots stay where they are: their scripts name them by absolute path.
        inside.append(entry)
        for folder in roots:
            if folder.is_dir():
                binds.setdefault(str(folder), os.path.realpath(folder))
    dests = sorted(binds)
    kept = [d for d in dests if not any(o != d and _paths.is_under(d, o) for o in dests)]
    return HostLayout(tuple((binds[d], d) for d in kept), tuple(symlinks), os.pathsep.join(inside))


def make_root(root: Path, layout: HostLayout) -> None:
    """The skeleton every task root starts as (idempotent: a reused root passes through unchanged)."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "root").mkdir(exist_ok=True)
    # The empty folders every Linux image has, so `os.mkdir("/mnt/out")` works as in a container.
    for folder in ("mnt", "home", "srv", "media", "run", "var/tmp"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    # Where script templates' source goes (SCRIPT_PATH, /argo/staging/script): kept in the
    # skeleton, so a reused root loses only the file after a script task, not two folders
    # (a folder delete is what a pooled root saves; see `_roots.py`).
    (root / "argo" / "staging").mkdir(parents=True, exist_ok=True)
    # The mount points bwrap binds over: made once with the root, so a reused root
    # (`_roots.py`) keeps them instead of bwrap creating them again for every task.
    for folder in ("proc", "dev", *(dest.lstrip("/") for _, dest in layout.binds)):
        if not (root / folder).is_symlink():
            (root / folder).mkdir(parents=True, exist_ok=True)
    for link, target in layout.symlinks:
        # bwrap's --symlink fails when the link exists, and every container of a task
        # reuses the root, so the links are made once here instead.
        place = root / link.lstrip("/")
        if not place.is_symlink():
            place.parent.mkdir(parents=True, exist_ok=True)
            place.symlink_to(target)


class BwrapSandbox:
    """A task's scratch root seen as `/` through bubblewrap."""

    def __init__(self, root: Path, layout: HostLayout, bwrap: str, *, made: bool = False) -> None:
        self.root = root
        self.layout = layout
        self.bwrap = bwrap
        #: the root already is this layout's skeleton (a pooled root): nothing to prepare
        self.made = made
        self.env = {"HOME": "/root"}
        if layout.path_inside:
            self.env["PATH"] = layout.path_inside

    def prepare(self) -> None:
        if not self.made:
            make_root(self.root, self.layout)

    def host_path(self, path: str) -> Path:
        path = posixpath.normpath(posixpath.join("/", path))
        for src, dest in self.layout.binds:
            if _paths.is_under(path, dest):  # the host's own file, bound read-only
                return Path(src) / posixpath.relpath(path, dest) if path != dest else Path(src)
        if self.layout.covers(path):
            return Path(path)
        return self.root / path.lstrip("/") if path != "/" else self.root

    visible = host_path

    def rewrite(self, text: str) -> str:
        return text  # paths need no rewriting: the sandbox shows them where the task names them

    def wrap(self, argv: list[str], cwd: str) -> tuple[list[str], Path]:
        return bwrap_argv(self.bwrap, self.root, self.layout, argv, cwd=cwd), self.root

    def find_output(self, path: str) -> Path | None:
        path = posixpath.normpath(posixpath.join("/", path))
        if self.layout.covers(path):
            return self.host_path(path)
        return _paths.resolve_in_root(self.root, path)


async def bwrap_problem(bwrap: str, scratch_dir: Path, path_env: str) -> str | None:
    """Run `bwrap ... true` once; None when bubblewrap works here, else why not."""
    if not os.access(bwrap, os.X_OK):
        return f"{bwrap} is not installed"
    scratch_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=".bwrap-probe-", dir=scratch_dir))
    try:
        layout = host_layout(path_env)
        make_root(root, layout)
        proc = await asyncio.create_subprocess_exec(
            *bwrap_argv(bwrap, root, layout, ["true"], cwd="/"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={"PATH": path_env},
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return "`bwrap ... true` did not finish within 10 s"
        if proc.returncode != 0:
            return (
                err.decode(errors="replace").strip() or f"`bwrap ... true` exited {proc.returncode}"
            )
        return None
    except OSError as e:
        return str(e)
    finally:
        shutil.rmtree(root, ignore_errors=True)
