"""DESIGN.md's layers: imports point downward only, and siblings stay apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "conveyor"
#: package -> rank; a package may import only packages of a lower rank (or itself).
RANK = {
    "types": 0, "errors": 0, "config": 1,
    "spec": 2,
    "expr": 3,
    "engine": 4, "store": 4, "executors": 4,
    "runtime": 5, "client": 5,
    "api": 6, "ui": 6,
    "cli": 7, "couler": 7,  # the command line starts the server, so it sits above api/ and ui/
    "__main__": 8,
}


def _package(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("conveyor."):
            out.append((node.lineno, node.module.split(".")[1]))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1]) for a in node.names if a.name.startswith("conveyor.")]
    return out


@pytest.mark.parametrize("path", sorted(p for p in PKG.rglob("*.py") if p.name != "__init__.py" or p.parent != PKG),
                         ids=lambda p: str(p.relative_to(PKG)))
def test_imports_point_downward(path: Path) -> None:
    here = _package(path)
    assert here in RANK, f"{here} has no place in the layer table; add it to RANK (and DESIGN.md)"
    for line, target in _imports(path):
        if target == here or target == "__init__":
            continue
        assert target in RANK, f"{path.name}:{line} imports unknown package conveyor.{target}"
        assert RANK[target] < RANK[here], (
            f"{path.relative_to(PKG)}:{line} imports conveyor.{target}: {here} (layer {RANK[here]}) may only "
            f"import lower layers"
        )
