"""conveyor/engine (and the expr package it uses) stays pure: no I/O, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "conveyor"
FORBIDDEN_MODULES = {"asyncio", "sqlite3", "subprocess", "time", "os", "socket", "threading", "random", "shutil"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open"}


def _modules() -> list[Path]:
    return sorted((PKG / "engine").rglob("*.py")) + sorted((PKG / "expr").rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        bad = FORBIDDEN_MODULES.intersection(names)
        assert not bad, f"{path.name}:{node.lineno} imports {bad}: the engine must not do I/O or read the clock"
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}(): pass time in, do no I/O"


def test_the_check_catches_a_clock_read(tmp_path: Path) -> None:
    """The checker itself: a module that reads the clock is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("import datetime\nx = datetime.datetime.now()\n")
    with pytest.raises(AssertionError, match="now"):
        test_module_is_pure(bad)
