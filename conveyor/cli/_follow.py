"""Following a workflow until it ends: `--wait` (block, print the outcome) and `watch` (a live tree).

Both read the server's watch stream (`/api/v1/workflow-events`), so they
wake on each change instead of polling. A stream that ends early (a proxy's
idle timeout) is reopened after one `get`.
https://argo-workflows.readthedocs.io/en/latest/cli/argo_watch/
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import click
from rich.console import Console
from rich.live import Live
from rich.text import Text

from conveyor.cli._view import workflow_view
from conveyor.client import ArgoClient
from conveyor.errors import NotFound

__all__ = ["DONE", "done", "updates", "wait_done", "watch_live", "report", "exit_by_phase"]

Json = dict[str, Any]
DONE = ("Succeeded", "Failed", "Error")


def done(wf: Json) -> bool:
    return (wf.get("status") or {}).get("phase") in DONE


def updates(client: ArgoClient, name: str, namespace: str | None = None) -> Iterator[Json]:
    """Each new state of the workflow, ending with the one where it has ended."""
    while True:
        for event in client.watch(name, namespace=namespace):
            if event.get("type") == "DELETED":
                raise NotFound(f'workflows.argoproj.io "{name}" was deleted while being watched')
            wf = event.get("object") or {}
            yield wf
            if done(wf):
                return
        wf = client.get_workflow(name, namespace=namespace)
        yield wf
        if done(wf):
            return


def wait_done(client: ArgoClient, name: str, namespace: str | None = None) -> Json:
    *_, last = updates(client, name, namespace)
    return last


def watch_live(client: ArgoClient, name: str, namespace: str | None = None) -> Json:
    """Redraw `argo get`'s view on every change until the workflow ends; print the final view."""
    if not sys.stdout.isatty():  # no live redraws into a pipe or a file: just the outcome
        wf = wait_done(client, name, namespace)
        click.echo(workflow_view(wf, time.time()))
        return wf
    latest = [client.get_workflow(name, namespace=namespace)]
    console = Console(highlight=False)
    # The view re-renders four times a second, so running durations tick between events.
    with Live(console=console, refresh_per_second=4, transient=True,
              get_renderable=lambda: Text.from_ansi(workflow_view(latest[-1], time.time(), color=True))):
        for wf in updates(client, name, namespace):
            latest[-1] = wf
    click.echo(workflow_view(latest[-1], time.time(), color=True))
    return latest[-1]


def report(wf: Json) -> None:
    """The line `--wait` prints: the name, how it ended, when, and why."""
    status = wf.get("status") or {}
    line = f"{wf['metadata']['name']} {status.get('phase', '')} at {status.get('finishedAt', '')}"
    click.echo(line + (f": {status['message']}" if status.get("message") else ""))


def exit_by_phase(wfs: Sequence[Json]) -> None:
    """Exit 0 when every workflow Succeeded, else 1."""
    sys.exit(0 if all((wf.get("status") or {}).get("phase") == "Succeeded" for wf in wfs) else 1)
