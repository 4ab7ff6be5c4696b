"""`conveyor resume | stop | terminate | suspend | retry | resubmit NAME`: act on workflows, like `argo`.

With no server, resume, stop and terminate leave a request in the local store,
which a `conveyor run` in another terminal picks up a few times a second (see
`_target` for when that fallback applies).
https://argo-workflows.readthedocs.io/en/latest/cli/argo/
"""

from __future__ import annotations

import json
from typing import Any

import click

from conveyor.cli._common import parse_pairs
from conveyor.cli._local import LocalApi
from conveyor.cli._submit import FOLLOW_OPTIONS, finish
from conveyor.cli._target import Api, Connection, server_options
from conveyor.cli.main import handle_errors
from conveyor.errors import InvalidInput

__all__ = ["resume", "stop", "terminate", "suspend", "retry", "resubmit"]

Json = dict[str, Any]


def _act(api: Api, names: tuple[str, ...], verb: str, done: str, body: Json | None = None) -> None:
    for name in names:
        api.workflow_action(name, verb, body)
        # Locally the request waits in the store for the process running the workflow: say just that.
        click.echo(f"workflow {name}: {verb} requested" if isinstance(api, LocalApi) else f"workflow {name} {done}")


def _suspended_node(api: Api, name: str, node: str | None) -> str:
    """The `id=...` selector of the running suspend node NODE names (name, display name or ID), or of the only one."""
    nodes: dict[str, Json] = (api.get_workflow(name).get("status") or {}).get("nodes") or {}
    waiting = [nid for nid, n in nodes.items() if n.get("type") == "Suspend" and n.get("phase") == "Running"]
    if node is not None:
        waiting = [nid for nid in waiting if node in (nid, nodes[nid].get("name"), nodes[nid].get("displayName"))]
    if len(waiting) != 1:
        what = f"no suspended node {node!r}" if node else f"{len(waiting)} suspended nodes"
        raise InvalidInput(f"workflow {name!r} has {what}; name the one to resume with --node")
    return f"id={waiting[0]}"


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--node-field-selector", default=None, help="resume only the nodes matching, e.g. displayName=approve")
@click.option("--node", default=None, help="resume only this suspended node (name or ID)")
@click.option("-p", "--output-parameter", "parameters", multiple=True, metavar="NAME=VALUE",
              help="value for a suspend node's `supplied` output parameter")
@server_options
@handle_errors
def resume(conn: Connection, names: tuple[str, ...], node_field_selector: str | None, node: str | None,
           parameters: tuple[str, ...]) -> None:
    """Resume suspended workflows, or one suspended node."""
    api = conn.api()
    outputs = parse_pairs(parameters)
    for name in names:
        selector = node_field_selector or (_suspended_node(api, name, node) if node or outputs else None)
        if outputs:  # Argo resumes with outputs through `node set`: the node ends Succeeded with them
            body = {"nodeFieldSelector": selector, "outputParameters": json.dumps(outputs), "phase": "Succeeded"}
            api.workflow_action(name, "set", body)
            click.echo(f"workflow {name}: resume requested" if isinstance(api, LocalApi) else f"workflow {name} resumed")
        else:
            _act(api, (name,), "resume", "resumed", {"nodeFieldSelector": selector} if selector else None)


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--message", default="", help="why it was stopped")
@click.option("--node-field-selector", default=None, help="stop only the nodes matching")
@server_options
@handle_errors
def stop(conn: Connection, names: tuple[str, ...], message: str, node_field_selector: str | None) -> None:
    """Stop running workflows: kill their tasks, then run their exit handlers."""
    body = {"message": message, **({"nodeFieldSelector": node_field_selector} if node_field_selector else {})}
    _act(conn.api(), names, "stop", "stopped", body)


@click.command()
@click.argument("names", nargs=-1, required=True)
@server_options
@handle_errors
def terminate(conn: Connection, names: tuple[str, ...]) -> None:
    """Terminate running workflows at once, without exit handlers."""
    _act(conn.api(), names, "terminate", "terminated")


@click.command()
@click.argument("names", nargs=-1, required=True)
@server_options
@handle_errors
def suspend(conn: Connection, names: tuple[str, ...]) -> None:
    """Suspend running workflows: no new tasks start (running ones go on) until resumed."""
    _act(conn.remote(), names, "suspend", "suspended")


@click.command()
@click.argument("name")
@click.option("--restart-successful", is_flag=True, help="also rerun the succeeded nodes --node-field-selector names")
@click.option("--node-field-selector", default=None, help="the nodes to rerun, e.g. displayName=build")
@click.option("-p", "--parameter", "values", multiple=True, metavar="NAME=VALUE", help="new workflow parameter value")
@FOLLOW_OPTIONS[0]
@FOLLOW_OPTIONS[1]
@FOLLOW_OPTIONS[2]
@server_options
@handle_errors
def retry(conn: Connection, name: str, restart_successful: bool, node_field_selector: str | None,
          values: tuple[str, ...], wait: bool, watch: bool, output: str | None) -> None:
    """Run a finished workflow's failed nodes again, in place."""
    parse_pairs(values)  # one clear line for a bad -p before anything is sent
    body: Json = {"restartSuccessful": restart_successful, "nodeFieldSelector": node_field_selector or "",
                  "parameters": list(values)}
    client = conn.remote()
    finish(client, [client.workflow_action(name, "retry", body)], output, wait, watch)


@click.command()
@click.argument("name")
@click.option("--memoized", is_flag=True, help="reuse the outputs of nodes that succeeded (Argo's memoized resubmit)")
@click.option("-p", "--parameter", "values", multiple=True, metavar="NAME=VALUE", help="new workflow parameter value")
@FOLLOW_OPTIONS[0]
@FOLLOW_OPTIONS[1]
@FOLLOW_OPTIONS[2]
@server_options
@handle_errors
def resubmit(conn: Connection, name: str, memoized: bool, values: tuple[str, ...], wait: bool, watch: bool,
             output: str | None) -> None:
    """Submit a new workflow from a finished one's manifest."""
    parse_pairs(values)
    client = conn.remote()
    body = {"memoized": memoized, "parameters": list(values)}
    finish(client, [client.workflow_action(name, "resubmit", body)], output, wait, watch)
