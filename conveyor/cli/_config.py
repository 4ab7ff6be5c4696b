"""`conveyor config` and `conveyor env`: what conveyor reads from the environment.

`config` lists every variable with its current value (secrets masked), default
and meaning; `env` prints the `export` lines that point a shell, Hera and the
seed platform's scripts at a local conveyor server.
"""

from __future__ import annotations

import os
import shlex

import click
from rich.console import Console
from rich.table import Table

from conveyor.cli._common import open_store
from conveyor.cli.main import handle_errors
from conveyor.config import Settings, config_rows

__all__ = ["config", "env"]


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


@click.command()
@click.option("--markdown", is_flag=True, help="print a Markdown table (e.g. > config.md)")
@handle_errors
def config(markdown: bool) -> None:
    """Every environment variable conveyor reads: value, default, meaning."""
    Settings.from_env()  # a bad value is reported here, naming the variable
    rows = config_rows(os.environ)
    if markdown:
        click.echo("| variable | value | default | meaning |")
        click.echo("| --- | --- | --- | --- |")
        for row in rows:
            click.echo("| " + " | ".join(f"`{_markdown_cell(row[0])}`" if i == 0 else _markdown_cell(c)
                                         for i, c in enumerate(row)) + " |")
        return
    table = Table(title="conveyor configuration (environment variables)")
    for column in ("variable", "value", "default", "meaning"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(width=None if os.isatty(1) else 160).print(table)


@click.command()
@click.option("--host", default="127.0.0.1", help="where the server listens")
@click.option("--port", default=2746, type=int)
@click.option("-n", "--namespace", default=None, help="namespace to point at (default: CONVEYOR_NAMESPACE)")
@click.option("--create-token", is_flag=True, help="create a write token for the namespace and export it")
@handle_errors
def env(host: str, port: int, namespace: str | None, create_token: bool) -> None:
    """`export` lines that point a shell, Hera and pipeline scripts at the local server."""
    settings = Settings.from_env()
    ns = namespace or settings.namespace
    token = os.environ.get("PIPELINE_TOKEN", "")
    if create_token:
        token = open_store(settings).create_token(f"env-{ns}-{os.getpid()}", [ns], "write")
    lines = {
        "PIPELINE_HOST": f"http://{host}:{port}",
        "PIPELINE_NS": ns,
        "PIPELINE_TOKEN": token,
        "WORKFLOW_NS": ns,
    }
    for name, value in lines.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    if not token:
        click.echo("# no token: right for `conveyor server` on loopback (auth mode server); "
                   "add --create-token for a server run with --auth-mode client")
