"""`conveyor token create|list|revoke`: the tokens `conveyor server --auth-mode client` asks for.

The tokens live in the store under CONVEYOR_HOME, so these commands work
while a server runs; a revoked token is refused from its next request on.
`create` prints the token alone on stdout (`TOKEN=$(conveyor token create
...)`), the one time it is ever shown: the store keeps only its hash.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict

import click

from conveyor.cli._common import open_store
from conveyor.cli.main import err, handle_errors
from conveyor.config import Settings
from conveyor.store import ALL_NAMESPACES, ROLES, TokenInfo

__all__ = ["token"]

_COLUMNS = ("NAME", "NAMESPACES", "ROLE", "CREATED", "LAST USED", "REVOKED")


@click.group()
def token() -> None:
    """Manage API tokens for `conveyor server --auth-mode client`."""


@token.command("create")
@click.option("-n", "--namespace", "namespaces", multiple=True, required=True, metavar="NS",
              help=f"a namespace the token may act in; repeat for more, or {ALL_NAMESPACES!r} for every one")
@click.option("--role", type=click.Choice(ROLES), default="read", show_default=True,
              help="read: get, list, watch, logs, lint; write: also create, change, delete and control; "
                   "admin: also cluster-scoped objects (with --namespace '*')")
@click.option("--name", default=None, help="what `token list` and `token revoke` call it (default: generated)")
@handle_errors
def create(namespaces: tuple[str, ...], role: str, name: str | None) -> None:
    """Create a token and print it, once: only its hash is kept."""
    store = open_store(Settings.from_env())
    name = name or f"token-{secrets.token_hex(3)}"
    text = store.create_token(name, namespaces, role)
    click.echo(text)
    err.print(f'token "{name}" created (role {role}, namespaces {", ".join(dict.fromkeys(namespaces))}). '
              "Keep it now: it cannot be shown again. Send it as `Authorization: Bearer <token>`.",
              markup=False)


def _row(t: TokenInfo) -> tuple[str, ...]:
    return (t.name, ",".join(t.namespaces), t.role, t.created_at, t.last_used_at or "never", t.revoked_at or "-")


@token.command("list")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handle_errors
def list_(output: str) -> None:
    """List tokens (never the tokens themselves): name, namespaces, role, when created, last used, revoked."""
    tokens = open_store(Settings.from_env()).list_tokens()
    if output == "json":
        click.echo(json.dumps([asdict(t) for t in tokens], indent=2))
        return
    rows = [_COLUMNS, *(_row(t) for t in tokens)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@token.command("revoke")
@click.argument("name")
@handle_errors
def revoke(name: str) -> None:
    """Revoke a token: the server refuses it from its next request on."""
    info = open_store(Settings.from_env()).revoke_token(name)
    click.echo(f'token "{info.name}" revoked at {info.revoked_at}')
