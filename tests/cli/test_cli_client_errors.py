"""What the client commands do when things go wrong, and with no server at all.

Errors: the real `python -m conveyor` prints exactly one line on stderr (no
traceback) and exits 1 (2 for invalid input): for a host where nothing
answers, a bad token, and a duplicate name. No server: with no host given
and nothing at the default address, the read commands and `template` work on
the local store, and say so; the others fail with one line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from conveyor.cli.main import cli
from tests.cli.test_cli_client import GREETER, HELLO
from tests.conftest import ROOT, free_port, start_server

DEFAULT = "http://127.0.0.1:2746"


def conveyor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conveyor", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, **env})


def one_error_line(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    return line


def invoke(*args: str, **env: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_a_host_where_nothing_answers(conveyor_home: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    line = one_error_line(conveyor("list", "--host", dead))
    assert line.startswith(f"error: cannot reach the server at {dead} (") and "`conveyor server`" in line
    line = one_error_line(conveyor("submit", HELLO, PIPELINE_HOST=dead))
    assert line.startswith(f"error: cannot reach the server at {dead} (")
    line = one_error_line(conveyor("get", "x", "--host", "localhost:2746"), code=2)
    assert line == "invalid: server address 'localhost:2746' has no scheme; write http://localhost:2746 " \
                   "(or https://localhost:2746)"


@pytest.fixture
def auth_server(conveyor_home: Path) -> Iterator[tuple[str, str]]:
    """A server that asks for tokens (as on a shared machine), and a write token for `default`."""
    result = invoke("token", "create", "-n", "default", "--role", "write", "--name", "cli")
    assert result.exit_code == 0, result.stderr
    proc, url = start_server("--auth-mode", "client")
    try:
        yield url, result.stdout.strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_bad_token_and_a_duplicate_name(auth_server: tuple[str, str], tmp_path: Path) -> None:
    url, token = auth_server
    line = one_error_line(conveyor("list", "--token", "cvy_not-a-token", PIPELINE_HOST=url))
    assert line.startswith("error: unknown or revoked token") and "--token" in line
    line = one_error_line(conveyor("list", PIPELINE_HOST=url))
    assert line.startswith("error: token required") and "--token or PIPELINE_TOKEN" in line
    # the flag wins over the environment's good token
    assert invoke("list", "--token", "cvy_not-a-token", PIPELINE_HOST=url, PIPELINE_TOKEN=token).exit_code == 1
    assert invoke("list", PIPELINE_HOST=url, PIPELINE_TOKEN=token).exit_code == 0

    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump({**yaml.safe_load(Path(HELLO).read_text()), "metadata": {"name": "dup-cli"}}))
    first = conveyor("submit", str(named), "-o", "name", PIPELINE_HOST=url, CONVEYOR_TOKEN=token)
    assert first.returncode == 0 and first.stdout == "dup-cli\n", first.stderr
    line = one_error_line(conveyor("submit", str(named), PIPELINE_HOST=url, CONVEYOR_TOKEN=token))
    assert line == 'error: workflows.argoproj.io "dup-cli" already exists'


@pytest.fixture
def no_server(conveyor_home: Path) -> Path:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 2746)) == 0:
            pytest.skip(f"something listens at {DEFAULT}: the no-server fallback cannot be seen")
    return conveyor_home


def test_without_a_server_reads_come_from_the_local_store(no_server: Path) -> None:
    ran = invoke("run", HELLO, "-p", "message=ran here", "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    name = ran.stdout.strip()
    note = f"no server at {DEFAULT}; using the local store at {no_server / 'conveyor.db'}\n"

    got = invoke("get", name)
    assert got.exit_code == 0 and got.stderr == note
    assert "Status:              Succeeded" in got.stdout and f" ✔ {name}" in got.stdout
    assert invoke("list", "-o", "name").stdout == f"{name}\n"
    assert invoke("list", "--running", "-o", "name").stdout == ""
    pod = yaml.safe_load(invoke("get", name, "-o", "yaml").stdout)["status"]["nodes"][name]["podName"]
    assert invoke("logs", name).stdout == f"{pod}: ran here\n"
    assert invoke("logs", name, name, "--grep", "nothing").stdout == ""

    # commands that need the server's runtime: one line naming the address and what to do
    for args in (("submit", HELLO), ("delete", name), ("cron", "list"), ("suspend", name)):
        result = invoke(*args)
        (line,) = result.stderr.splitlines()
        assert result.exit_code == 1 and line.startswith(f"error: cannot reach the server at {DEFAULT} ("), args


def test_without_a_server_templates_live_in_the_local_store(no_server: Path, tmp_path: Path) -> None:
    path = tmp_path / "greeter.yaml"
    path.write_text(yaml.safe_dump(GREETER))
    created = invoke("template", "create", str(path))
    assert created.exit_code == 0 and "using the local store" in created.stderr
    assert "Name:                greeter" in created.stdout
    assert invoke("template", "create", str(path)).exit_code == 1  # AlreadyExists, from the store
    assert "Entrypoint:          hello" in invoke("template", "get", "greeter").stdout
    assert invoke("template", "delete", "greeter").stdout == "WorkflowTemplate 'greeter' deleted\n"
    assert invoke("template", "list", "-o", "name").stdout == ""


def test_a_given_host_turns_the_fallback_off(no_server: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = invoke("list", PIPELINE_HOST=dead)
    assert result.exit_code == 1 and result.stderr.startswith(f"error: cannot reach the server at {dead}")
    assert invoke("template", "list", "--host", dead).exit_code == 1
