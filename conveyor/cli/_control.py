"""`conveyor resume|stop|terminate NAME`: ask the process running a workflow to act.

The request goes through the store, so it reaches a `conveyor run` in another
terminal (it checks a few times a second).
"""

from __future__ import annotations

from typing import Any

import click

from conveyor.cli._common import open_store
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import InvalidInput
from conveyor.runtime import parse_parameters

__all__ = ["resume", "stop", "terminate"]

_DONE = ("Succeeded", "Failed", "Error")


def _request(name: str, namespace: str | None, event: dict[str, Any], verb: str) -> None:
    settings = Settings.from_env()
    store = open_store(settings)
    ns = namespace or settings.namespace
    wf = store.get_workflow(ns, name)
    phase = (wf.get("status") or {}).get("phase", "")
    if phase in _DONE:
        raise InvalidInput(f"workflow {name!r} has already ended ({phase}); there is nothing to {verb}")
    store.add_request(ns, name, event)
    click.echo(f"workflow {name}: {verb} requested")


@click.command()
@click.argument("name")
@click.option("-n", "--namespace", default=None)
@click.option("--node", "node", default=None, help="resume only this suspended node (name or ID)")
@click.option("-p", "--output-parameter", "parameters", multiple=True, metavar="NAME=VALUE",
              help="value for a suspend node's `supplied` output parameter")
@handle_errors
def resume(name: str, namespace: str | None, node: str | None, parameters: tuple[str, ...]) -> None:
    """Resume suspended nodes of a running workflow."""
    event = {"type": "resume", "node": node, "parameters": parse_parameters(list(parameters))}
    _request(name, namespace, event, "resume")


@click.command()
@click.argument("name")
@click.option("-n", "--namespace", default=None)
@click.option("--message", default="", help="why it was stopped")
@handle_errors
def stop(name: str, namespace: str | None, message: str) -> None:
    """Stop a running workflow: kill its tasks, then run its exit handlers."""
    _request(name, namespace, {"type": "stop", "message": message}, "stop")


@click.command()
@click.argument("name")
@click.option("-n", "--namespace", default=None)
@handle_errors
def terminate(name: str, namespace: str | None) -> None:
    """Terminate a running workflow at once, without exit handlers."""
    _request(name, namespace, {"type": "terminate"}, "terminate")
