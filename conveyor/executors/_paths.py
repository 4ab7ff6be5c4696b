"""Path helpers, and the fallback isolation when bubblewrap is not usable: path remapping.

Without a mount namespace a task really runs in the host's filesystem, so every
absolute path the task names (outputs, inputs, working dir, volume mounts, and
anything under `/tmp`) is rewritten to live under the task's scratch root, in argv,
env values and script source. Two parallel tasks writing `/tmp/out.txt` then write
two different files. This is partial isolation: a path the manifest never names
(say `/var/cache/x`) still reaches the host.
"""

from __future__ import annotations

import os
import posixpath
import re
import signal
from collections.abc import Iterable
from pathlib import Path

__all__ = ["is_under", "resolve_in_root", "Remapper", "RemapSandbox"]

_MAX_LINKS = 40  # the kernel's own limit on symlinks followed while resolving one path


def is_under(path: str, folder: str) -> bool:
    """True when `path` is `folder` or inside it (both absolute, normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def resolve_in_root(root: Path, path: str) -> Path | None:
    """Resolve `path` as a process chrooted at `root` would, without ever leaving `root`.

    Symlinks are followed with `root` as `/`, so a task's `/tmp/link -> /etc/x`
    resolves to `<root>/etc/x`, never to the host's `/etc/x`.
    """
    todo = [p for p in path.split("/") if p not in ("", ".")]
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        here = root.joinpath(*done, part)
        if here.is_symlink():
            links += 1
            if links > _MAX_LINKS:
                return None
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            todo = [p for p in target.split("/") if p not in ("", ".")] + todo
            continue
        done.append(part)
    return root.joinpath(*done)


class Remapper:
    """Rewrites absolute paths a task names so they live under its scratch root.

    Remapped: each named path, its parent folders (but never `/` nor a folder holding
    host tools: `keep`), and `/tmp`. Matches are whole path tokens: `/tmp/x` in
    `--out=/tmp/x` is rewritten, `/usr/tmp/x`, `file:///tmp` and `/tmpfile` are not,
    and text already under the root is left alone, so rewriting twice changes nothing.
    """

    def __init__(self, root: Path, named: Iterable[str], keep: Iterable[str]) -> None:
        self.root = str(root)
        keep = [posixpath.normpath(k) for k in keep]
        prefixes = {"/tmp"}
        for raw in named:
            if not raw.startswith("/"):
                continue
            path = posixpath.normpath(raw)
            if path != "/":
                prefixes.add(path)  # named exactly: always the task's own
            parent = posixpath.dirname(path)
            while parent != "/":
                if not any(is_under(parent, k) or is_under(k, parent) for k in keep):
                    prefixes.add(parent)
                parent = posixpath.dirname(parent)
        self.prefixes = frozenset(prefixes)
        # Host tool folders that happen to sit under a remapped prefix (a venv in /tmp)
        # stay where they are.
        self._keep = [k for k in keep if any(is_under(k, p) and k != p for p in prefixes)]
        alternatives = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
        # A path token starts the text or follows a separator (space, quote, `=`, `:`...).
        self._pattern = re.compile(rf"(?<![^\s'\"=:(,;<>|&\[{{`])(?:{alternatives})(?![\w.-])")

    def text(self, text: str) -> str:
        done = [(m.start(), m.end()) for m in re.finditer(re.escape(self.root), text)]

        def swap(m: re.Match[str]) -> str:
            if any(start <= m.start() < end for start, end in done):
                return m.group(0)  # already under the root
            if self._keep and any(is_under(text[m.start() :].split()[0], k) for k in self._keep):
                return m.group(0)
            return self.root + m.group(0)

        return self._pattern.sub(swap, text)


#: set in every process of a task run without bubblewrap, so `reap` finds what escaped its process group
TASK_MARKER = "CONVEYOR_TASK_ROOT"


def reap_marked(marker: bytes, rounds: int = 5, *, prefix: bool = False) -> int:
    """SIGKILL every process (but this one) whose environment holds the entry `marker`
    (with `prefix`: an entry starting with it); how many. A few rounds, for children
    forked while the first one ran."""
    killed = 0
    for _ in range(rounds):
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    env = f.read()
                entries = env.split(b"\0")
                if marker in entries or (prefix and any(e.startswith(marker) for e in entries)):
                    os.kill(int(entry), signal.SIGKILL)
                    found += 1
            except OSError:  # gone meanwhile, or not ours to read
                continue
        killed += found
        if not found:
            break
    return killed


class RemapSandbox:
    """A task run as plain host processes, its named paths remapped under `root`.

    With no pid namespace, a child that leaves the task's process group (`setsid`, a
    daemon) would outlive the task: every process of the task carries `TASK_MARKER`
    naming its root, and `reap` ends those still running once the task is over. A
    process that starts with a cleared environment escapes this (isolation is partial).
    """

    def __init__(self, root: Path, named: Iterable[str], keep: Iterable[str]) -> None:
        self.root = root
        self.remapper = Remapper(root, named, keep)
        self.env = {"HOME": str(root / "root"), "TMPDIR": str(root / "tmp"), TASK_MARKER: str(root)}

    def reap(self) -> int:
        """End the task's processes that escaped its process group; how many there were."""
        return reap_marked(f"{TASK_MARKER}={self.root}".encode())

    @staticmethod
    def reap_under(folder: Path) -> int:
        """End processes of tasks whose roots lie in `folder` (a killed conveyor's root pool)."""
        return reap_marked(f"{TASK_MARKER}={folder}/".encode(), prefix=True)

    @staticmethod
    def skeleton(root: Path) -> None:
        """What every root starts with; the folders a task names are made per task."""
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        (root / "tmp").chmod(0o1777)
        (root / "root").mkdir(exist_ok=True)

    def prepare(self) -> None:
        self.skeleton(self.root)

    def host_path(self, path: str) -> Path:
        path = posixpath.normpath(posixpath.join("/", path))
        return self.root if path == "/" else Path(self.remapper.text(path))

    def visible(self, path: str) -> Path:
        return Path(path)  # the process runs on the host: it sees host paths as they are

    def rewrite(self, text: str) -> str:
        return self.remapper.text(text)

    def wrap(self, argv: list[str], cwd: str) -> tuple[list[str], Path]:
        return list(argv), self.host_path(cwd)

    def find_output(self, path: str) -> Path | None:
        place = self.host_path(path)
        if not place.is_symlink() and not place.exists():
            return None
        # Links the task made point at host paths (already remapped); one that leaves
        # the root would hand a host file to the workflow, so it counts as missing.
        real = Path(os.path.realpath(place))
        root = Path(os.path.realpath(self.root))
        return real if real == root or root in real.parents else None
