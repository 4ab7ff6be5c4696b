"""`conveyor cron create|list|get|suspend|resume|delete`: CronWorkflows on the server.

The server's scheduler starts their workflows, so these commands need one.
https://argo-workflows.readthedocs.io/en/latest/cli/argo_cron/
"""

from __future__ import annotations

import time

import click

from conveyor.cli._target import Connection, server_options
from conveyor.cli._template import create_all
from conveyor.cli._view import cron_header, cron_rows, emit
from conveyor.cli.main import handle_errors
from conveyor.errors import InvalidInput

__all__ = ["cron"]

_KIND = "CronWorkflow"
_OUTPUTS = click.Choice(["name", "json", "yaml", "wide"])


@click.group()
def cron() -> None:
    """Manage CronWorkflows: workflows started on a schedule."""


@cron.command("create")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="replace a cron workflow of the same name")
@click.option("-o", "--output", type=_OUTPUTS, default=None)
@server_options
@handle_errors
def create(conn: Connection, files: tuple[str, ...], replace: bool, output: str | None) -> None:
    """Create the CronWorkflows in FILES."""
    created = create_all(conn.remote(), files, (_KIND,), conn.namespace, replace)
    if not emit(created, output or "", single=len(created) == 1):
        click.echo("\n\n".join(cron_header(c, time.time()) for c in created))


@cron.command("list")
@click.option("-l", "--selector", default=None, help="label selector")
@click.option("-o", "--output", type=_OUTPUTS, default=None)
@server_options
@handle_errors
def list_(conn: Connection, selector: str | None, output: str | None) -> None:
    """List CronWorkflows: when each last ran and runs next."""
    items = conn.remote().list_resources(_KIND, label_selector=selector).get("items") or []
    if not emit(items, output or ""):
        click.echo(cron_rows(items, time.time()))


@cron.command("get")
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", type=_OUTPUTS, default=None)
@server_options
@handle_errors
def get(conn: Connection, names: tuple[str, ...], output: str | None) -> None:
    """Show CronWorkflows."""
    client = conn.remote()
    crons = [client.get_resource(_KIND, name) for name in names]
    if not emit(crons, output or "", single=len(crons) == 1):
        click.echo("\n\n".join(cron_header(c, time.time()) for c in crons))


def _toggle(conn: Connection, names: tuple[str, ...], verb: str, done: str) -> None:
    client = conn.remote()
    for name in names:
        client.cron_action(name, verb)
        click.echo(f"CronWorkflow '{name}' {done}")


@cron.command("suspend")
@click.argument("names", nargs=-1, required=True)
@server_options
@handle_errors
def suspend(conn: Connection, names: tuple[str, ...]) -> None:
    """Stop scheduling CronWorkflows (spec.suspend: true)."""
    _toggle(conn, names, "suspend", "suspended")


@cron.command("resume")
@click.argument("names", nargs=-1, required=True)
@server_options
@handle_errors
def resume(conn: Connection, names: tuple[str, ...]) -> None:
    """Schedule CronWorkflows again (spec.suspend: false)."""
    _toggle(conn, names, "resume", "resumed")


@cron.command("delete")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="every CronWorkflow in the namespace")
@server_options
@handle_errors
def delete(conn: Connection, names: tuple[str, ...], all_: bool) -> None:
    """Delete CronWorkflows."""
    if bool(names) == all_:
        raise InvalidInput("name the cron workflows to delete, or give --all (not both)")
    client = conn.remote()
    if all_:
        names = tuple(c["metadata"]["name"] for c in client.list_resources(_KIND).get("items") or [])
    for name in names:
        client.delete_resource(_KIND, name)
        click.echo(f"CronWorkflow '{name}' deleted")
