"""Path remapping (the no-bwrap fallback), chroot-style resolution, results and parameters."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conveyor.executors._files import read_parameter
from conveyor.executors._paths import Remapper, resolve_in_root
from conveyor.executors._streams import ResultTail

ROOT = "/s/k/root"
REMAP = Remapper(
    Path(ROOT),
    named=["/result.txt", "/mnt/out/x.txt", "/usr/local/o.txt", "/root/out", "/", "relative"],
    keep=["/usr", "/bin", "/root/.pyenv", "/tmp/venv"],
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("echo hi > /tmp/out.txt", f"echo hi > {ROOT}/tmp/out.txt"),
        ("--out=/tmp/x", f"--out={ROOT}/tmp/x"),
        ("cd /tmp", f"cd {ROOT}/tmp"),
        ("PATH=/a:/tmp/bin", f"PATH=/a:{ROOT}/tmp/bin"),
        ('open("/mnt/x")', f'open("{ROOT}/mnt/x")'),  # parent folders of named paths too
        ("cat /result.txt /result.txt.bak", f"cat {ROOT}/result.txt /result.txt.bak"),
        ("/usr/local/bin/tool /usr/local/o.txt", f"/usr/local/bin/tool {ROOT}/usr/local/o.txt"),
        ("/root/.pyenv/shims/python /root/out", f"/root/.pyenv/shims/python {ROOT}/root/out"),
        ("/tmp/venv/bin/python /tmp/a", f"/tmp/venv/bin/python {ROOT}/tmp/a"),  # host tools stay
        (
            "/usr/tmp/x /tmpfile file:///tmp/x /etc/passwd",
            "/usr/tmp/x /tmpfile file:///tmp/x /etc/passwd",
        ),
        (f"{ROOT}/tmp/x", f"{ROOT}/tmp/x"),  # already remapped
    ],
)
def test_remapper_rewrites_named_path_tokens(text: str, expected: str) -> None:
    assert REMAP.text(text) == expected
    assert REMAP.text(REMAP.text(text)) == expected  # idempotent


def test_remapper_never_remaps_root_or_tool_folders() -> None:
    assert (
        "/" not in REMAP.prefixes
        and "/usr" not in REMAP.prefixes
        and "/usr/local" not in REMAP.prefixes
    )
    assert "/root" not in REMAP.prefixes  # it holds /root/.pyenv
    assert {"/tmp", "/mnt", "/mnt/out", "/usr/local/o.txt"} <= REMAP.prefixes


def test_resolve_in_root_keeps_links_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "tmp" / "real").mkdir(parents=True)
    (root / "tmp" / "real" / "f").write_text("x")
    os.symlink("/tmp/real", root / "tmp" / "abs")
    os.symlink("real/f", root / "tmp" / "rel")
    os.symlink("/etc/passwd", root / "tmp" / "out")
    os.symlink("loop", root / "tmp" / "loop")
    assert resolve_in_root(root, "/tmp/abs/f") == root / "tmp/real/f"
    assert resolve_in_root(root, "/tmp/rel") == root / "tmp/real/f"
    assert resolve_in_root(root, "/tmp/out") == root / "etc/passwd"  # not the host's
    assert resolve_in_root(root, "/../../tmp/real/../real/f") == root / "tmp/real/f"
    assert resolve_in_root(root, "/tmp/loop") is None


def test_result_tail_removes_one_newline() -> None:
    tail = ResultTail(limit=10)
    tail.feed(b"hi\n\n")
    assert tail.text() == ("hi\n", False)


def test_result_tail_keeps_the_last_bytes() -> None:
    tail = ResultTail(limit=10)
    for _ in range(1000):
        tail.feed(b"0123456789abcdef\n")
    text, cut = tail.text()
    assert cut and text == "6789abcdef" and tail.total == 17_000


def test_result_tail_exact_limit_is_not_cut() -> None:
    tail = ResultTail(limit=4)
    tail.feed(b"abcd\n")
    assert tail.text() == ("abcd", False)
    tail = ResultTail(limit=4)
    tail.feed("ééé".encode())  # 6 bytes: the cut lands inside a character
    text, cut = tail.text()
    assert cut and text == "éé"


def test_read_parameter_trims_one_newline_only(tmp_path: Path) -> None:
    f = tmp_path / "p"
    f.write_text("  value \n\n")
    assert read_parameter(f) == "  value \n"
    f.write_text("x")
    assert read_parameter(f) == "x"
