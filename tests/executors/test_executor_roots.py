"""The pool of task roots: emptied to their skeleton and reused, or deleted when they won't come clean."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from conveyor.executors._roots import RootPool, empty, snapshot
from conveyor.executors._sandbox import HostLayout, make_root


def skeleton(root: Path) -> None:
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    (root / "mnt").mkdir()
    (root / "bin").symlink_to("usr/bin")


def test_emptying_keeps_the_skeleton_and_removes_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    skeleton(root)
    shape = snapshot(root)
    (root / "tmp" / "secret").write_text("x")
    (root / "mnt" / "deep" / "er").mkdir(parents=True)
    (root / "result.txt").write_text("y")
    (root / "tmp").chmod(0o700)
    assert empty(root, shape)
    assert snapshot(root) == shape
    assert sorted(os.listdir(root)) == ["bin", "mnt", "tmp"] and not os.listdir(root / "tmp")


def test_a_root_whose_skeleton_changed_kind_is_not_clean(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    skeleton(root)
    shape = snapshot(root)
    (root / "bin").unlink()
    (root / "bin").symlink_to("/etc")  # a link somewhere else: removed, and then missing
    assert not empty(root, shape)


def test_the_pool_reuses_clean_roots_and_deletes_dirty_ones(tmp_path: Path) -> None:
    async def go() -> None:
        pool = RootPool(tmp_path)
        a = pool.acquire(skeleton)
        b = pool.acquire(skeleton)
        assert a != b, "a root in use is never handed out twice"
        (a / "tmp" / "f").write_text("x")
        pool.release(a)
        (b / "tmp").rmdir()
        (b / "tmp").symlink_to("/")  # cannot be made clean by emptying: it is replaced
        pool.release(b)
        await asyncio.sleep(0.2)
        assert pool.acquire(skeleton) == a and not (a / "tmp" / "f").exists()
        assert not b.exists() or snapshot(b) != snapshot(a)
        assert pool.folder is not None
        await pool.close()
        assert not pool.folder.exists()
        other = RootPool(tmp_path)
        assert other.acquire(skeleton).parent != a.parent, "each pool has a folder of its own"
        await other.close()

    asyncio.run(go())


def test_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    dead = tmp_path / ".roots-999999999-abc"
    (dead / "0" / "tmp").mkdir(parents=True)

    async def go() -> None:
        pool = RootPool(tmp_path)
        pool.acquire(skeleton)
        for _ in range(100):
            if not dead.exists():
                break
            await asyncio.sleep(0.02)
        await pool.close()

    asyncio.run(go())
    assert not dead.exists()


def test_a_script_tasks_root_comes_clean_keeping_its_staging_folder(tmp_path: Path) -> None:
    # make_root keeps /argo/staging in the skeleton: after a script task only the file goes.
    layout = HostLayout(binds=(("/usr", "/usr"),), symlinks=(("/bin", "usr/bin"),))
    root = tmp_path / "r"
    root.mkdir()
    make_root(root, layout)
    shape = snapshot(root)
    assert shape["argo/staging"][0] == "dir" and shape["bin"] == ("link", shape["bin"][1], "usr/bin")
    script = root / "argo" / "staging" / "script"
    script.write_text("print(1)")
    (root / "argo" / "staging" / "cache").mkdir()
    (root / "argo" / "staging" / "cache" / "x").write_text("x")
    assert empty(root, shape)
    assert snapshot(root) == shape and os.listdir(root / "argo" / "staging") == []
