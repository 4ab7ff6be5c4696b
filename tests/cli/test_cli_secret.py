"""`conveyor secret create|list|delete`: values go in on stdin or --from-literal and never come back out."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.config import Settings
from conveyor.store import SecretKey, Store
from tests.cli.test_cli import invoke

PASSWORD = "correct-horse-battery-staple"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_docker_registry_secret_reads_the_password_from_stdin(conveyor_home: Path) -> None:
    code, out, err = run("secret", "create", "docker-registry", "regcred", "--server", "127.0.0.1:5000",
                         "--username", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0, err
    assert 'secret "regcred" created in namespace "default" (type kubernetes.io/dockerconfigjson' in err
    assert PASSWORD not in out + err
    settings = Settings.from_env()
    assert settings.secret_key_path == conveyor_home / "secret.key" and settings.secret_key_path.is_file()
    assert PASSWORD.encode() not in b"".join(p.read_bytes() for p in conveyor_home.glob("conveyor.db*"))
    with Store.open(settings.db_path) as store:
        _, data = store.secret_data(SecretKey.load(settings.secret_key_path), "default", "regcred")
    assert json.loads(data[".dockerconfigjson"])["auths"]["127.0.0.1:5000"]["password"] == PASSWORD


def test_generic_list_and_delete(conveyor_home: Path) -> None:
    code, _, err = run("secret", "create", "generic", "api", "--from-literal", "token=t0k3n-value",
                       "--from-literal", "url=https://x", "-n", "team")
    assert code == 0, err
    code, out, _ = invoke("secret", "list")
    header, row = out.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "TYPE", "KEYS", "CREATED"]
    assert row.split()[:4] == ["team", "api", "Opaque", "token,url"] and "t0k3n-value" not in out
    code, out, _ = invoke("secret", "list", "-o", "json")
    assert json.loads(out)[0]["keys"] == ["token", "url"] and "t0k3n-value" not in out

    code, _, err = run("secret", "create", "generic", "api", "--from-literal", "token=x", "-n", "team")
    assert code == 1 and 'secret "api" in namespace "team" already exists' in err
    code, out, _ = invoke("secret", "delete", "api", "-n", "team")
    assert code == 0 and 'secret "api" deleted' in out
    code, _, err = invoke("secret", "delete", "api", "-n", "team")
    assert code == 1 and 'secret "api" in namespace "team" not found' in err


def test_bad_input_is_one_clear_line(conveyor_home: Path) -> None:
    code, _, err = run("secret", "create", "generic", "x", "--from-literal", "novalue")
    assert code == 2 and "is not KEY=VALUE" in err
    code, _, err = run("secret", "create", "docker-registry", "r", "--server", "h", "-u", "u", "--password-stdin",
                       stdin="")
    assert code == 2 and "empty password" in err
    code, _, err = run("secret", "create", "docker-registry", "r", "--server", "h", "-u", "u")
    assert code == 2 and "--password-stdin" in err  # a password is never taken from the command line


def test_a_lost_key_file_is_named(conveyor_home: Path) -> None:
    assert run("secret", "create", "generic", "api", "--from-literal", "a=b")[0] == 0
    (conveyor_home / "secret.key").unlink()
    settings = Settings.from_env()
    with Store.open(settings.db_path) as store:
        try:
            store.secret_data(SecretKey.load(settings.secret_key_path), "default", "api")
        except Exception as e:  # noqa: BLE001
            assert "secret.key does not exist" in str(e) and "CONVEYOR_SECRET_KEY_FILE" in str(e)
        else:
            raise AssertionError("reading without the key file should fail")
