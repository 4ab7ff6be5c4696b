"""ArtifactRepo: round trips for files and folders with both archive strategies, subPath, errors."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from conveyor.errors import InvalidInput, NotFound, StoreError
from conveyor.store import ArtifactRepo


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "work" / "out"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    (src / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 100)
    (src / "link").symlink_to("sub/b.txt")  # stays inside: allowed
    return src


@pytest.fixture
def file(tmp_path: Path) -> Path:
    src = tmp_path / "work" / "result.txt"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text("forty-two\n")
    return src


def tree(root: Path) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = path.read_bytes()
        else:
            out[rel] = "dir"
    return out


def test_file_round_trip_tar(repo: ArtifactRepo, file: Path, tmp_path: Path) -> None:
    info = repo.put("wf/node/result.tgz", file)
    blob = repo.open_raw("wf/node/result.tgz")
    assert info == {"key": "wf/node/result.tgz", "archive": "tar", "size": blob.stat().st_size}
    with tarfile.open(blob, "r:gz") as tf:
        assert tf.getnames() == ["result.txt"]  # Argo names members by the base name
    dest = repo.get("wf/node/result.tgz", tmp_path / "in" / "x.txt")
    assert dest == tmp_path / "in" / "x.txt"
    assert dest.read_text() == "forty-two\n"  # the single file becomes dest itself


def test_folder_round_trip_tar(repo: ArtifactRepo, folder: Path, tmp_path: Path) -> None:
    repo.put("k/out.tgz", folder, compression_level=1)
    with tarfile.open(repo.open_raw("k/out.tgz"), "r:gz") as tf:
        assert all(n == "out" or n.startswith("out/") for n in tf.getnames())
    dest = repo.get("k/out.tgz", tmp_path / "in" / "data")
    assert dest.is_dir()
    assert tree(dest) == tree(folder)


def test_file_round_trip_none(repo: ArtifactRepo, file: Path, tmp_path: Path) -> None:
    info = repo.put("raw/result.txt", file, archive="none")
    assert info == {"key": "raw/result.txt", "archive": "none", "size": 10}
    assert repo.open_raw("raw/result.txt").read_text() == "forty-two\n"
    assert repo.get("raw/result.txt", tmp_path / "got.txt").read_text() == "forty-two\n"


def test_folder_round_trip_none(repo: ArtifactRepo, folder: Path, tmp_path: Path) -> None:
    info = repo.put("raw/out", folder, archive="none")
    assert info["size"] == 5 + 4 + 25600
    assert repo.open_raw("raw/out").is_dir()
    dest = repo.get("raw/out", tmp_path / "got")
    assert tree(dest) == tree(folder)


def test_multi_entry_tarball_becomes_a_folder(repo: ArtifactRepo, tmp_path: Path) -> None:
    # Not what put writes, but what Argo's unpack does with such a tarball.
    blob = repo.root / "multi.tgz"
    blob.parent.mkdir(parents=True)
    (tmp_path / "one").write_text("1")
    (tmp_path / "two").write_text("2")
    with tarfile.open(blob, "w:gz") as tf:
        tf.add(tmp_path / "one", "one")
        tf.add(tmp_path / "two", "two")
    dest = repo.get("multi.tgz", tmp_path / "dest")
    assert tree(dest) == {"one": b"1", "two": b"2"}


@pytest.mark.parametrize("archive", ["tar", "none"])
def test_sub_path_selects_inside(
    repo: ArtifactRepo, folder: Path, tmp_path: Path, archive: str
) -> None:
    repo.put("sp", folder, archive=archive)
    f = repo.get("sp", tmp_path / "f.txt", sub_path="sub/b.txt")
    assert f.read_text() == "beta"
    d = repo.get("sp", tmp_path / "d", sub_path="sub")
    assert tree(d) == tree(folder / "sub")
    with pytest.raises(NotFound, match="sub_path 'nope' not found in artifact 'sp'"):
        repo.get("sp", tmp_path / "n", sub_path="nope")
    assert not (tmp_path / "n").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_sub_path_of_a_file_artifact_is_not_found(
    repo: ArtifactRepo, file: Path, tmp_path: Path
) -> None:
    repo.put("f.tgz", file)
    with pytest.raises(NotFound):
        repo.get("f.tgz", tmp_path / "x", sub_path="anything")


def test_mode_is_applied(repo: ArtifactRepo, file: Path, tmp_path: Path) -> None:
    repo.put("m.tgz", file)
    dest = repo.get("m.tgz", tmp_path / "m.txt", mode=0o600)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    with pytest.raises(InvalidInput, match="mode"):
        repo.get("m.tgz", tmp_path / "m2.txt", mode=0o17777)


def test_put_replaces_existing_key(
    repo: ArtifactRepo, folder: Path, file: Path, tmp_path: Path
) -> None:
    repo.put("same", folder, archive="none")
    repo.put("same", file, archive="none")
    assert repo.open_raw("same").read_text() == "forty-two\n"
    repo.put("same", folder, archive="none")
    assert repo.open_raw("same").is_dir()
    assert [p.name for p in repo.root.iterdir()] == ["same"]  # no scratch left behind


def test_exists_delete_and_missing(repo: ArtifactRepo, file: Path, tmp_path: Path) -> None:
    assert not repo.exists("a/b/c.tgz")
    repo.put("a/b/c.tgz", file)
    repo.put("a/keep.tgz", file)
    assert repo.exists("a/b/c.tgz")
    repo.delete("a/b/c.tgz")
    assert not repo.exists("a/b/c.tgz")
    assert not (repo.root / "a" / "b").exists()  # emptied folders are pruned
    assert repo.exists("a/keep.tgz")
    with pytest.raises(NotFound, match="artifact 'a/b/c.tgz' not found"):
        repo.delete("a/b/c.tgz")
    with pytest.raises(NotFound):
        repo.get("a/b/c.tgz", tmp_path / "x")
    with pytest.raises(NotFound):
        repo.open_raw("a/b/c.tgz")
    repo.put("dir", tmp_path / "work", archive="none")
    repo.delete("dir")
    assert not repo.exists("dir")


def test_put_missing_source_is_not_found(repo: ArtifactRepo, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        repo.put("k", tmp_path / "absent")


@pytest.mark.parametrize(("archive", "level"), [("zip", None), ("tar", 10), ("tar", -1)])
def test_put_rejects_bad_options(
    repo: ArtifactRepo, file: Path, archive: str, level: int | None
) -> None:
    with pytest.raises(InvalidInput):
        repo.put("k", file, archive=archive, compression_level=level)


def test_get_refuses_existing_destination(repo: ArtifactRepo, file: Path, tmp_path: Path) -> None:
    repo.put("k.tgz", file)
    (tmp_path / "taken").write_text("mine")
    with pytest.raises(InvalidInput, match="already exists"):
        repo.get("k.tgz", tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "mine"


def test_none_archive_that_is_a_tarball_is_unpacked_like_argo(
    repo: ArtifactRepo, file: Path, tmp_path: Path
) -> None:
    # Argo sniffs the content on load, so a .tgz stored as-is is unpacked too.
    repo.put("packed.tgz", file)
    repo.put("copied.tgz", repo.open_raw("packed.tgz"), archive="none")
    assert repo.get("copied.tgz", tmp_path / "x").read_text() == "forty-two\n"


def test_big_file_is_copied_in_chunks(repo: ArtifactRepo, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: cheap to make, 64 MiB to copy
    repo.put("big", big, archive="none")
    repo.put("big.tgz", big)
    assert repo.get("big", tmp_path / "b1").stat().st_size == 64 * 1024 * 1024
    assert repo.get("big.tgz", tmp_path / "b2").stat().st_size == 64 * 1024 * 1024


# -- disk full -------------------------------------------------------------


def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_on_put_is_a_store_error_naming_the_folder(
    repo: ArtifactRepo, file: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "copy2", _enospc)
    with pytest.raises(StoreError) as info:
        repo.put("wf/full.txt", file, archive="none")
    assert "no space left" in info.value.message
    assert str(repo.root / "wf") in info.value.message
    with pytest.raises(StoreError, match="no space left"):
        repo.put("wf/dir", folder, archive="none")
    monkeypatch.setattr(tarfile.TarFile, "addfile", _enospc)
    with pytest.raises(StoreError, match="no space left"):
        repo.put("wf/full.tgz", file)
    assert list((repo.root / "wf").iterdir()) == []  # scratch cleaned up


def test_disk_full_on_get_is_a_store_error(
    repo: ArtifactRepo, file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.put("g.tgz", file)
    monkeypatch.setattr(tarfile.TarFile, "makefile", _enospc)
    with pytest.raises(StoreError) as info:
        repo.get("g.tgz", tmp_path / "dest" / "g.txt")
    assert str(tmp_path / "dest") in info.value.message
    assert list((tmp_path / "dest").iterdir()) == []
