"""Settings are built once from the environment, with clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import VARIABLES, Settings
from conveyor.errors import InvalidInput


def test_defaults_live_under_home(tmp_path: Path) -> None:
    s = Settings.from_env({"CONVEYOR_HOME": str(tmp_path)})
    assert s.home == tmp_path and s.db_path == tmp_path / "conveyor.db"
    assert s.artifact_dir == tmp_path / "artifacts" and s.namespace == "default"
    assert s.semaphore_limits == {} and s.effective_max_parallel_tasks() >= 4


def test_home_defaults_to_dot_conveyor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings.from_env({}).home == tmp_path / ".conveyor"


def test_values_are_parsed(tmp_path: Path) -> None:
    s = Settings.from_env({"CONVEYOR_HOME": str(tmp_path), "CONVEYOR_SEMAPHORES": "my-config/template=2, workflow=3",
                           "CONVEYOR_KEEP_SCRATCH": "yes", "CONVEYOR_MAX_NODES": "50"})
    assert s.semaphore_limits == {"my-config/template": 2, "workflow": 3}
    assert s.keep_scratch is True and s.max_nodes == 50


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("CONVEYOR_EXECUTOR", "kubernetes", "use auto, process, podman or docker"),
        ("CONVEYOR_SANDBOX", "chroot", "use auto, bwrap or none"),
        ("CONVEYOR_MAX_NODES", "lots", "not an integer"),
        ("CONVEYOR_KEEP_SCRATCH", "maybe", "use true or false"),
        ("CONVEYOR_SEMAPHORES", "a=0", "positive limit"),
        ("CONVEYOR_SEMAPHORES", "justaname", "NAME=LIMIT"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment) as info:
        Settings.from_env({"CONVEYOR_HOME": str(tmp_path), name: value})
    assert name in str(info.value)


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [v for v in VARIABLES if f"`{v}`" not in readme]
    assert not missing, f"README's configuration table lacks {missing}"
