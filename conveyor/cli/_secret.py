"""`conveyor secret create|list|delete`: the secrets tasks' env and imagePullSecrets name.

Values are read from stdin or `--from-literal`, stored encrypted under the key in
CONVEYOR_SECRET_KEY_FILE, and never printed again: `list` shows names, types and
key names only. Mirrors `kubectl create secret docker-registry|generic`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from conveyor.cli._common import open_store
from conveyor.cli.main import err, handle_errors
from conveyor.config import Settings
from conveyor.errors import InvalidInput
from conveyor.store import SecretKey
from conveyor.store.secrets import DOCKER_CONFIG_KEY, DOCKER_CONFIG_TYPE, docker_config

__all__ = ["secret"]

_NS_HELP = "namespace of the secret (default: CONVEYOR_NAMESPACE)"


@click.group()
def secret() -> None:
    """Manage secrets (encrypted at rest; values are never shown)."""


@secret.group("create")
def create() -> None:
    """Create a secret."""


def _store_secret(namespace: str | None, name: str, data: dict[str, str], type_: str, replace: bool) -> None:
    settings = Settings.from_env()
    ns = namespace or settings.namespace
    key = SecretKey.load(settings.secret_key_path, create=True)
    info = open_store(settings).create_secret(key, ns, name, data, type_=type_, replace=replace)
    err.print(f'secret "{info.name}" created in namespace "{ns}" (type {info.type}, keys {", ".join(info.keys)})',
              markup=False)


def _read_password() -> str:
    if sys.stdin.isatty():
        raise InvalidInput("--password-stdin reads the password from stdin; pipe it in "
                           "(e.g. `printf %s \"$PASS\" | conveyor secret create ...`)")
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise InvalidInput("--password-stdin read an empty password from stdin; pipe the password in")
    return password


@create.command("docker-registry")
@click.argument("name")
@click.option("--server", "--docker-server", "server", required=True, help="registry host, e.g. 127.0.0.1:5000")
@click.option("--username", "--docker-username", "-u", "username", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin (required: "
              "a password on the command line would land in shell history and `ps`)")
@click.option("-n", "--namespace", default=None, help=_NS_HELP)
@click.option("--replace", is_flag=True, help="overwrite a secret of that name")
@handle_errors
def docker_registry(name: str, server: str, username: str, password_stdin: bool, namespace: str | None,
                    replace: bool) -> None:
    """Credentials for a registry, for a workflow's imagePullSecrets."""
    config = docker_config(server, username, _read_password())
    _store_secret(namespace, name, {DOCKER_CONFIG_KEY: config}, DOCKER_CONFIG_TYPE, replace)


@create.command("generic")
@click.argument("name")
@click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE", required=True,
              help="a key and its value; repeat for more")
@click.option("-n", "--namespace", default=None, help=_NS_HELP)
@click.option("--replace", is_flag=True, help="overwrite a secret of that name")
@handle_errors
def generic(name: str, literals: tuple[str, ...], namespace: str | None, replace: bool) -> None:
    """Key/value pairs, for env[].valueFrom.secretKeyRef."""
    data: dict[str, str] = {}
    for item in literals:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--from-literal {key!r} is not KEY=VALUE; write e.g. --from-literal token=abc")
        data[key] = value
    _store_secret(namespace, name, data, "Opaque", replace)


@secret.command("list")
@click.option("-n", "--namespace", default=None, help="only this namespace (default: every one)")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handle_errors
def list_(namespace: str | None, output: str) -> None:
    """List secrets: namespace, name, type and key names (never values)."""
    secrets = open_store(Settings.from_env()).list_secrets(namespace)
    if output == "json":
        click.echo(json.dumps([asdict(s) for s in secrets], indent=2))
        return
    rows = [("NAMESPACE", "NAME", "TYPE", "KEYS", "CREATED"),
            *((s.namespace, s.name, s.type, ",".join(s.keys), s.created_at) for s in secrets)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@secret.command("delete")
@click.argument("name")
@click.option("-n", "--namespace", default=None, help=_NS_HELP)
@handle_errors
def delete(name: str, namespace: str | None) -> None:
    """Delete a secret."""
    settings = Settings.from_env()
    ns = namespace or settings.namespace
    open_store(settings).delete_secret(ns, name)
    click.echo(f'secret "{name}" deleted from namespace "{ns}"')
