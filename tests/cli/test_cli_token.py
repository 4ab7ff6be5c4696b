"""`conveyor token create|list|revoke`, and how `conveyor server` picks its auth mode."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

import conveyor.cli.main  # noqa: F401  first: importing _server alone would find main half-made
from conveyor.cli._server import choose_auth_mode, is_loopback
from conveyor.errors import InvalidInput
from conveyor.store import Store
from tests.cli.test_cli import invoke
from tests.conftest import start_server


def test_create_prints_the_token_once_and_list_never_shows_it(conveyor_home: Path) -> None:
    code, out, err = invoke("token", "create", "--namespace", "team-a", "-n", "team-b", "--role", "write",
                            "--name", "ci")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("cvy_") and "\n" not in token  # alone on stdout: TOKEN=$(conveyor token create ...)
    assert 'token "ci" created (role write, namespaces team-a, team-b)' in err and "cannot be shown again" in err
    with Store.open(conveyor_home / "conveyor.db") as store:
        found = store.find_token(token)
    assert found is not None and found.namespaces == ("team-a", "team-b")

    code, out, _ = invoke("token", "list")
    assert code == 0 and token not in out and token.removeprefix("cvy_") not in out
    header, row = out.splitlines()
    assert header.split() == ["NAME", "NAMESPACES", "ROLE", "CREATED", "LAST", "USED", "REVOKED"]
    assert row.split()[:3] == ["ci", "team-a,team-b", "write"] and row.split()[-1] == "-"

    code, out, _ = invoke("token", "list", "-o", "json")
    (listed,) = json.loads(out)
    assert listed["name"] == "ci" and listed["last_used_at"] and token not in out


def test_defaults_a_generated_name_and_role_read(conveyor_home: Path) -> None:
    code, out, err = invoke("token", "create", "-n", "default")
    assert code == 0, err
    (listed,) = json.loads(invoke("token", "list", "-o", "json")[1])
    assert listed["name"].startswith("token-") and listed["role"] == "read"


def test_revoke(conveyor_home: Path) -> None:
    token = invoke("token", "create", "-n", "default", "--name", "old")[1].strip()
    code, out, _ = invoke("token", "revoke", "old")
    assert code == 0 and out.startswith('token "old" revoked at ')
    with Store.open(conveyor_home / "conveyor.db") as store:
        assert store.find_token(token) is None
    assert invoke("token", "list")[1].splitlines()[1].split()[-1] != "-"
    code, _, err = invoke("token", "revoke", "never-was")
    assert code == 1 and 'token "never-was" not found' in err


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "owner"], "'owner' is not one of"),
    (["-n", "Bad NS"], "namespace 'Bad NS' is not a valid name"),
    (["-n", "a", "--name", "Bad Name"], "is not valid"),
])
def test_create_refuses_bad_input(conveyor_home: Path, args: list[str], message: str) -> None:
    code, _, err = invoke("token", "create", *(args if "-n" in args else ["-n", "a", *args]))
    assert code == 2 and message in err and "Traceback" not in err


def test_create_needs_a_namespace(conveyor_home: Path) -> None:
    code, _, err = invoke("token", "create")
    assert code == 2 and "--namespace" in err


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("my-host.example", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "mode", "insecure", "chosen"), [
    ("127.0.0.1", None, False, "server"),
    ("127.0.0.1", "client", False, "client"),
    ("127.0.0.1", "server", False, "server"),
    ("0.0.0.0", None, False, "client"),
    ("0.0.0.0", "client", False, "client"),
    ("0.0.0.0", "server", False, "refusing to serve 0.0.0.0 without authentication"),
    ("0.0.0.0", "server", True, "server"),
    ("0.0.0.0", None, True, "server"),
    ("127.0.0.1", "client", True, "contradicts"),
])
def test_choose_auth_mode(host: str, mode: str | None, insecure: bool, chosen: str) -> None:
    if chosen in ("server", "client"):
        assert choose_auth_mode(host, mode, insecure) == chosen
    else:
        with pytest.raises(InvalidInput, match=chosen):
            choose_auth_mode(host, mode, insecure)


def test_server_refuses_a_public_address_without_auth(conveyor_home: Path) -> None:
    code, out, err = invoke("server", "--host", "0.0.0.0", "--port", "0", "--auth-mode", "server")
    assert code == 2
    assert "refusing to serve 0.0.0.0 without authentication" in err and "--insecure-no-auth" in err
    assert "Traceback" not in out + err


def _run_server(*args: str) -> tuple[str, dict[str, int]]:
    """Start `conveyor server ARGS`, ask it a few things, stop it; its log and the statuses seen."""
    proc, url = start_server(*args)
    try:
        statuses = {path: httpx.get(f"{url}{path}").status_code for path in ("/api/v1/workflows/default",)}
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        return err, statuses
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_server_mode_on_loopback_logs_a_warning(conveyor_home: Path) -> None:
    err, statuses = _run_server()
    assert statuses == {"/api/v1/workflows/default": 200}
    (line,) = [line for line in err.splitlines() if "auth mode server" in line]
    assert " WARNING " in line and "anyone who can connect to http://127.0.0.1:" in line


def test_a_public_address_defaults_to_client_mode(conveyor_home: Path) -> None:
    err, statuses = _run_server("--host", "0.0.0.0")
    assert statuses == {"/api/v1/workflows/default": 401}
    assert "auth mode server" not in err and "there are no tokens yet" in err
