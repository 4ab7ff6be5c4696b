"""`conveyor config` and `conveyor env`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.config import VARIABLES
from conveyor.store import Store

SECRET = "cvy_" + "s3cr3t" * 6


def test_config_lists_every_variable_and_masks_the_token(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_TOKEN", SECRET)
    monkeypatch.setenv("WORKFLOW_SA", "pipeline-runner")
    result = CliRunner().invoke(cli, ["config"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in VARIABLES:
        assert name in result.output
    assert SECRET not in result.output and "cvy_" in result.output
    assert "pipeline-runner" in result.output


def test_config_markdown_is_one_row_per_variable(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_TOKEN", SECRET)
    result = CliRunner().invoke(cli, ["config", "--markdown"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0] == "| variable | value | default | meaning |"
    assert len(lines) == 2 + len(VARIABLES)
    assert all(line.count(" | ") >= 3 for line in lines[2:])  # pipes inside cells are escaped
    assert SECRET not in result.output


def test_config_names_a_bad_variable(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_MAX_NODES", "lots")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 2 and "CONVEYOR_MAX_NODES" in result.stderr


def test_env_points_at_the_local_server(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["env", "--port", "9999", "-n", "team-a"])
    assert result.exit_code == 0
    assert "export PIPELINE_HOST=http://127.0.0.1:9999" in result.output
    assert "export PIPELINE_NS=team-a" in result.output and "export WORKFLOW_NS=team-a" in result.output
    result = CliRunner().invoke(cli, ["env", "-n", "team-a", "--create-token"])
    token = next(line.split("=", 1)[1] for line in result.output.splitlines() if line.startswith("export PIPELINE_TOKEN="))
    info = Store.open(conveyor_home / "conveyor.db").find_token(token)
    assert info is not None and info.covers("team-a") and info.role == "write"
