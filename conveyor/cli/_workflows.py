"""`conveyor list | get | logs | watch | delete`: reading and removing workflows, like `argo`.

`list`, `get` and `logs` also work with no server, on the local store (see `_target`).
https://argo-workflows.readthedocs.io/en/latest/cli/argo/
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from conveyor.cli._follow import exit_by_phase, watch_live
from conveyor.cli._target import Api, Connection, server_options
from conveyor.cli._view import emit, workflow_rows, workflow_view
from conveyor.cli.main import handle_errors
from conveyor.errors import InvalidInput

__all__ = ["list_", "get", "logs", "watch", "delete"]

Json = dict[str, Any]
_COMPLETED = "workflows.argoproj.io/completed"
_POD_COLORS = ("cyan", "green", "magenta", "yellow", "blue", "red")


def _selector(selector: str | None, running: bool, completed: bool) -> str | None:
    """The label selector `argo list --running/--completed` sends, joined to the user's."""
    if running and completed:
        raise InvalidInput("--running and --completed exclude each other; give one of them")
    terms = [selector] if selector else []
    if running:
        terms.append(f"{_COMPLETED}!=true")
    if completed:
        terms.append(f"{_COMPLETED}=true")
    return ",".join(terms) or None


def _select(api: Api, selector: str | None, prefix: str | None, phases: str | None) -> list[Json]:
    items = api.list_workflows(label_selector=selector).get("items") or []
    wanted = {p.strip().lower() for p in (phases or "").split(",") if p.strip()}
    return [wf for wf in items if wf["metadata"]["name"].startswith(prefix or "")
            and (not wanted or ((wf.get("status") or {}).get("phase") or "Pending").lower() in wanted)]


@click.command("list")
@click.option("--running", is_flag=True, help="only workflows that have not ended")
@click.option("--completed", is_flag=True, help="only workflows that have ended")
@click.option("--status", default=None, metavar="PHASE,...", help="only these phases, e.g. Failed,Error")
@click.option("-l", "--selector", default=None, help="label selector, e.g. team=geo,env!=prod")
@click.option("--prefix", default=None, help="only names starting with this")
@click.option("-o", "--output", type=click.Choice(["wide", "json", "yaml", "name"]), default=None)
@server_options
@handle_errors
def list_(conn: Connection, running: bool, completed: bool, status: str | None, selector: str | None,
          prefix: str | None, output: str | None) -> None:
    """List workflows, newest first."""
    items = _select(conn.api(), _selector(selector, running, completed), prefix, status)
    if emit(items, output or ""):
        return
    click.echo(workflow_rows(items, time.time(), wide=output == "wide") if items else "No workflows found")


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Choice(["wide", "json", "yaml", "name"]), default=None)
@server_options
@handle_errors
def get(conn: Connection, names: tuple[str, ...], output: str | None) -> None:
    """Show workflows: a summary, then the tree of their nodes."""
    api = conn.api()
    wfs = [api.get_workflow(name) for name in names]
    if not emit(wfs, output or "", single=len(wfs) == 1):
        color = sys.stdout.isatty()
        click.echo("\n\n".join(workflow_view(wf, time.time(), wide=output == "wide", color=color) for wf in wfs))


def _pod_of(wf: Json, wanted: str) -> str:
    """A pod name for WANTED: itself when a pod has that name, else the pod of the node so named."""
    nodes: dict[str, Json] = (wf.get("status") or {}).get("nodes") or {}
    for key in ("podName", "id", "displayName", "name"):
        for nid, node in nodes.items():
            if node.get("type") == "Pod" and (node.get(key) or (nid if key == "podName" else None)) == wanted:
                return str(node.get("podName") or nid)
    return wanted  # not (yet) there: the server says whether it is or will be


@click.command()
@click.argument("name")
@click.argument("pod", required=False)
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines until the workflow ends")
@click.option("-c", "--container", default="main", show_default=True)
@click.option("--grep", default=None, metavar="REGEX", help="only lines matching this")
@click.option("--no-color", is_flag=True, help="no colour on the pod names")
@server_options
@handle_errors
def logs(conn: Connection, name: str, pod: str | None, follow: bool, container: str, grep: str | None,
         no_color: bool) -> None:
    """Print the logs of a workflow's pods, or of one POD (a pod name or a node's name), as `pod: line`."""
    api = conn.api()
    pod_name = _pod_of(api.get_workflow(name), pod) if pod else None
    color = sys.stdout.isatty() and not no_color
    colors: dict[str, str] = {}
    for entry in api.logs(name, pod_name=pod_name, container=container, follow=follow, grep=grep):
        label = entry.get("podName", "")
        if color:
            label = click.style(label, fg=colors.setdefault(label, _POD_COLORS[len(colors) % len(_POD_COLORS)]))
        click.echo(f"{label}: {entry.get('content', '')}")


@click.command()
@click.argument("name")
@server_options
@handle_errors
def watch(conn: Connection, name: str) -> None:
    """Show a workflow's live tree until it ends; exit 0 if it Succeeded, else 1."""
    exit_by_phase([watch_live(conn.remote(), name)])


@click.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="every workflow in the namespace")
@click.option("--completed", is_flag=True, help="every workflow that has ended")
@click.option("-l", "--selector", default=None, help="every workflow with these labels")
@click.option("--prefix", default=None, help="with --all, --completed or -l: only names starting with this")
@click.option("--dry-run", is_flag=True, help="print what would be deleted")
@server_options
@handle_errors
def delete(conn: Connection, names: tuple[str, ...], all_: bool, completed: bool, selector: str | None,
           prefix: str | None, dry_run: bool) -> None:
    """Delete workflows (a running one is terminated first)."""
    client = conn.remote()
    listed = all_ or completed or selector
    if bool(names) == bool(listed):
        raise InvalidInput("name the workflows to delete, or select them with --all, --completed or -l (not both)")
    if listed:
        names = tuple(wf["metadata"]["name"] for wf in _select(client, _selector(selector, False, completed), prefix, None))
    for name in names:
        if not dry_run:
            client.delete_workflow(name)
        click.echo(f"Workflow '{name}' deleted" + (" (dry run)" if dry_run else ""))
