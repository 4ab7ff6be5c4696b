"""ArtifactRepo confinement: hostile keys, sub-paths, tarballs and sources are refused."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from conveyor.errors import InvalidInput
from conveyor.store import ArtifactRepo

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../b",
    "a/./b",
    "a//b",
    "a/",
    "nul\x00byte",
    "a\\b",
    "..",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_rejected_everywhere(repo: ArtifactRepo, tmp_path: Path, key: str) -> None:
    src = tmp_path / "f"
    src.write_text("x")
    calls = [
        lambda: repo.put(key, src),
        lambda: repo.get(key, tmp_path / "d"),
        lambda: repo.exists(key),
        lambda: repo.delete(key),
        lambda: repo.open_raw(key),
    ]
    for call in calls:
        with pytest.raises(InvalidInput) as info:
            call()
        assert repr(key) in info.value.message
    assert not (tmp_path / "escape").exists()


def test_key_through_a_symlinked_folder_is_rejected(repo: ArtifactRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo.root.mkdir()
    (repo.root / "door").symlink_to(outside)
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(InvalidInput, match="resolves outside the repository"):
        repo.put("door/f", src)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("sub_path", ["/etc/passwd", "../x", "sub/../../x", "a\x00b"])
def test_bad_sub_paths_are_rejected(repo: ArtifactRepo, tmp_path: Path, sub_path: str) -> None:
    src = tmp_path / "out"
    src.mkdir()
    (src / "a").write_text("a")
    repo.put("key1", src, archive="none")
    with pytest.raises(InvalidInput) as info:
        repo.get("key1", tmp_path / "dest", sub_path=sub_path)
    assert "'key1'" in info.value.message
    assert not (tmp_path / "dest").exists()


def test_sub_path_through_an_escaping_link_is_rejected(repo: ArtifactRepo, tmp_path: Path) -> None:
    # Planted directly in the repo (put would refuse it).
    stored = repo.root / "planted"
    stored.mkdir(parents=True)
    (stored / "out").symlink_to(tmp_path)
    with pytest.raises(InvalidInput, match="resolves outside"):
        repo.get("planted", tmp_path / "dest", sub_path="out")


# -- hostile tarballs --------------------------------------------------------


def hostile(repo: ArtifactRepo, key: str, *members: tuple[tarfile.TarInfo, bytes]) -> None:
    blob = repo.root / key
    blob.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(blob, "w:gz") as tf:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


HOSTILE = {
    "dotdot": [(member("../evil.txt"), b"pwned")],
    "nested-dotdot": [(member("out/../../evil.txt"), b"pwned")],
    "absolute": [(member("/tmp/conveyor-evil.txt"), b"pwned")],
    "symlink-escape": [(member("out/link", tarfile.SYMTYPE, "../../../etc/passwd"), b"")],
    "symlink-absolute": [(member("out/link", tarfile.SYMTYPE, "/etc/passwd"), b"")],
    # Lexically "y/.." is ".", but on disk y -> "." so y/.. is the parent folder:
    # only a check against the real file system (the data filter) catches it.
    "symlink-chain-then-write": [
        (member("y", tarfile.SYMTYPE, "."), b""),
        (member("x", tarfile.SYMTYPE, "y/.."), b""),
        (member("x/evil.txt"), b"pwned"),
    ],
    "hardlink-escape": [(member("out/hard", tarfile.LNKTYPE, "../../etc/passwd"), b"")],
    "hardlink-absolute": [(member("out/hard", tarfile.LNKTYPE, "/etc/passwd"), b"")],
    "device": [(member("out/dev", tarfile.CHRTYPE), b"")],
    "fifo": [(member("out/fifo", tarfile.FIFOTYPE), b"")],
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_tarballs_are_refused(repo: ArtifactRepo, tmp_path: Path, case: str) -> None:
    hostile(repo, f"{case}.tgz", *HOSTILE[case])
    dest = tmp_path / "in" / "dest"
    with pytest.raises(InvalidInput) as info:
        repo.get(f"{case}.tgz", dest)
    assert f"'{case}.tgz'" in info.value.message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # nothing half-extracted left behind
    assert not (tmp_path / "in" / "evil.txt").exists()
    assert not Path("/tmp/conveyor-evil.txt").exists()


def test_links_inside_the_archive_are_fine(repo: ArtifactRepo, tmp_path: Path) -> None:
    hostile(
        repo,
        "ok.tgz",
        (member("out", tarfile.DIRTYPE), b""),
        (member("out/data.txt"), b"data"),
        (member("out/soft", tarfile.SYMTYPE, "data.txt"), b""),
        (member("out/hard", tarfile.LNKTYPE, "out/data.txt"), b""),
    )
    dest = repo.get("ok.tgz", tmp_path / "d")
    assert (dest / "soft").read_text() == "data"
    assert (dest / "hard").read_text() == "data"


def test_size_limit_refuses_big_archives_before_writing(tmp_path: Path) -> None:
    repo = ArtifactRepo(tmp_path / "repo", max_unpacked_bytes=1_000_000)
    big = tmp_path / "zeros"
    with big.open("wb") as fh:
        fh.truncate(2_000_000)  # compresses to almost nothing: a small gzip bomb
    repo.put("bomb.tgz", big)
    assert repo.open_raw("bomb.tgz").stat().st_size < 10_000
    with pytest.raises(InvalidInput) as info:
        repo.get("bomb.tgz", tmp_path / "dest")
    assert "1000000 bytes" in info.value.message and "max_unpacked_bytes" in info.value.message
    assert not (tmp_path / "dest").exists()
    # Under the limit it is fine.
    roomy = ArtifactRepo(tmp_path / "repo", max_unpacked_bytes=3_000_000)
    assert roomy.get("bomb.tgz", tmp_path / "ok").stat().st_size == 2_000_000


def test_default_limit_is_ten_gib(tmp_path: Path) -> None:
    assert ArtifactRepo(tmp_path).max_unpacked_bytes == 10 * 1024**3


def test_corrupt_tarball_is_copied_as_a_file(repo: ArtifactRepo, tmp_path: Path) -> None:
    # Not a tarball by content: like Argo, it is handed over as-is.
    blob = repo.root / "junk.tgz"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"\x1f\x8bnot really gzip")
    assert repo.get("junk.tgz", tmp_path / "j").read_bytes() == b"\x1f\x8bnot really gzip"


# -- hostile sources ---------------------------------------------------------


@pytest.mark.parametrize("archive", ["tar", "none"])
def test_put_refuses_links_leaving_the_source(
    repo: ArtifactRepo, tmp_path: Path, archive: str
) -> None:
    src = tmp_path / "out"
    src.mkdir()
    (src / "secret").symlink_to("/etc/passwd")
    with pytest.raises(InvalidInput, match="pointing outside the artifact"):
        repo.put("k", src, archive=archive)
    assert not repo.exists("k")


def test_put_refuses_a_symlinked_source(repo: ArtifactRepo, tmp_path: Path) -> None:
    (tmp_path / "out").symlink_to("/etc/passwd")
    with pytest.raises(InvalidInput, match="symbolic link"):
        repo.put("k", tmp_path / "out", archive="none")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_put_refuses_special_files(repo: ArtifactRepo, tmp_path: Path) -> None:
    src = tmp_path / "out"
    src.mkdir()
    os.mkfifo(src / "pipe")
    with pytest.raises(InvalidInput, match="special file"):
        repo.put("k", src, archive="none")
    with pytest.raises(InvalidInput, match="special file"):
        repo.put("k", src / "pipe")
