"""`conveyor config` and `conveyor env`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.config import VARIABLES
from conveyor.store import Store

SECRET = "cvy_" + "s3cr3t" * 6
OTHER_SECRET = "cvy_" + "0th3r" * 7

#: The variables issue 4 says `conveyor config` shows (the seed platform's, then conveyor's own
#: equivalents), each with a value to set, its default as shown and a word its meaning must use.
#: Written out rather than read from VARIABLES so that dropping or renaming one fails here.
REQUIRED: dict[str, tuple[str, str, str]] = {
    "PIPELINE_HOST": ("http://argo.example:2746", "http://127.0.0.1:2746", "server"),
    "PIPELINE_NS": ("team-submit", "default", "namespace"),
    "PIPELINE_TOKEN": (SECRET, "(none)", "token"),
    "WORKFLOW_NS": ("team-run", "(none)", "namespace"),
    "WORKFLOW_SA": ("pipeline-runner", "(none)", "service account"),
    "REGISTRY_PULL_SECRET": ("regcred", "(none)", "pull secret"),
    "WORKFLOW_NODE_SELECTOR_KEY": ("node-pool", "(none)", "node selector"),
    "WORKFLOW_NODE_SELECTOR_VALUE": ("standard-pool", "(none)", "node selector"),
    "WORKFLOW_NODE_SELECTOR_VALUE_SMALL": ("small-pool", "(none)", "small"),
    "WORKFLOW_NODE_TOLERATION_KEY": ("dedicated", "(none)", "toleration"),
    "WORKFLOW_NODE_TOLERATION_VALUE": ("pipelines", "(none)", "toleration"),
    "CONVEYOR_HOST": ("http://conveyor.example:2746", "(none)", "server"),
    "CONVEYOR_TOKEN": (OTHER_SECRET, "(none)", "token"),
    "CONVEYOR_NAMESPACE": ("team-own", "default", "namespace"),
    "CONVEYOR_HOME": ("", "~/.conveyor", "store"),  # the fixture's folder
}
TOKENS = {"PIPELINE_TOKEN", "CONVEYOR_TOKEN"}
Rows = dict[str, tuple[str, str, str]]


def _squeeze(text: str) -> str:
    """Text with all whitespace gone: the table folds long cells over lines, mid-word when it must."""
    return "".join(text.split())


def table_rows(output: str) -> Rows:
    """variable -> (value, default, meaning), whitespace squeezed, from rich's box table.

    A row folded over several lines has its variable cell on the first line only.
    """
    rows: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            current = rows.setdefault(cells[0], ["", "", ""])
        assert current is not None, line
        for i, cell in enumerate(cells[1:]):
            current[i] += cell
    return {name: (_squeeze(v), _squeeze(d), _squeeze(m)) for name, (v, d, m) in rows.items()}


def markdown_rows(output: str) -> Rows:
    rows: Rows = {}
    for line in output.strip().splitlines()[2:]:
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 4, line
        name, value, default, meaning = cells
        rows[name.strip("`")] = (_squeeze(value), _squeeze(default), _squeeze(meaning))
    return rows


@pytest.fixture
def required_env(conveyor_home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {name: value or str(conveyor_home) for name, (value, _, _) in REQUIRED.items()}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CONVEYOR_SEMAPHORES", raising=False)
    return values


@pytest.mark.parametrize("markdown", [False, True], ids=["table", "markdown"])
def test_config_shows_the_issues_variables(required_env: dict[str, str], markdown: bool) -> None:
    result = CliRunner().invoke(cli, ["config", "--markdown"] if markdown else ["config"])
    assert result.exit_code == 0, result.output
    rows = (markdown_rows if markdown else table_rows)(result.output)
    assert set(rows) == set(VARIABLES)  # one row per variable, none undeclared
    for name, (_, default, word) in REQUIRED.items():
        value, shown_default, meaning = rows[name]
        assert shown_default == _squeeze(default), name
        assert word.replace(" ", "") in meaning.lower(), (name, meaning)
        if name in TOKENS:  # recognisable by its start, never usable
            secret = required_env[name]
            assert value.startswith(secret[:4]) and secret[4:12] not in value, (name, value)
            assert secret not in result.output and secret not in _squeeze(result.output)
        else:
            assert value == _squeeze(required_env[name]), name
    assert rows["CONVEYOR_SEMAPHORES"][0] == "(notset)"


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
