"""`conveyor run FILE`: run a workflow in-process, with a live tree of its nodes.

No server is needed; the run is recorded in the embedded store, so a server
started later shows it. Ctrl-C stops the workflow (exit handlers still run);
a second Ctrl-C terminates it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from typing import Any

import click
import yaml
from rich.console import Console
from rich.live import Live

from conveyor.cli._common import OverlayLookup, open_store, read_manifests
from conveyor.cli._tree import render_workflow
from conveyor.cli.main import err, handle_errors
from conveyor.config import Settings
from conveyor.engine import Machine
from conveyor.errors import InvalidInput
from conveyor.runtime import WorkflowRunner, choose_executor, parse_parameters, prepare_workflow
from conveyor.store import ArtifactRepo

__all__ = ["run"]

_RUNNABLE = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-p", "--parameter", "parameters", multiple=True, metavar="NAME=VALUE", help="set a workflow parameter")
@click.option("-o", "--output", type=click.Choice(["tree", "json", "yaml", "name"]), default="tree", help="what to print at the end")
@click.option("-n", "--namespace", default=None, help="namespace to record the run in")
@click.option("--entrypoint", default=None, help="template to start with, instead of spec.entrypoint")
@click.option("--quiet", "-q", is_flag=True, help="no live tree while it runs")
@handle_errors
def run(file: str, parameters: tuple[str, ...], output: str, namespace: str | None, entrypoint: str | None, quiet: bool) -> None:
    """Run the workflow in FILE (YAML or JSON) here and now; exit 0 if it Succeeded, else 1."""
    settings = Settings.from_env()
    params = parse_parameters(list(parameters))
    docs = read_manifests(file, settings)
    runnable = [d for d in docs if d.get("kind") == "Workflow"] or [d for d in docs if d.get("kind") in _RUNNABLE]
    if not runnable:
        kinds = ", ".join(sorted({str(d.get("kind")) for d in docs})) or "nothing"
        raise InvalidInput(f"{file} holds no Workflow to run (found: {kinds})")
    store = open_store(settings)
    ns = namespace or settings.namespace
    lookup = OverlayLookup(store, docs, ns)
    prepared = [
        prepare_workflow(doc, templates=lookup, namespace=ns, parameters=params, entrypoint=entrypoint, source=file,
                         limits=settings)
        for doc in runnable
    ]
    repo = ArtifactRepo(settings.artifact_dir)
    live = not quiet and output == "tree" and sys.stdout.isatty()
    worst = 0
    for wf, resolved in prepared:
        store.create_workflow(wf)
        final = asyncio.run(_drive(settings, store, repo, wf, resolved, live=live))
        _print_final(final, output, live)
        if final["status"]["phase"] != "Succeeded":
            worst = 1
    sys.exit(worst)


async def _drive(settings: Settings, store: Any, repo: ArtifactRepo, wf: dict[str, Any], resolved: dict[str, Any], *, live: bool) -> dict[str, Any]:
    executor, line = await choose_executor(settings, lambda msg: err.print(f"[yellow]warning:[/yellow] {msg}"))
    err.print(f"[dim]{line}[/dim]")
    console = Console()
    latest: dict[str, Any] = {"metadata": wf["metadata"], "status": {"phase": "Pending"}}
    # The display re-renders the latest status four times a second, so running
    # durations tick even when no event arrives.
    view: Live | None = (
        Live(console=console, refresh_per_second=4, transient=True,
             get_renderable=lambda: render_workflow(latest, time.time()))
        if live
        else None
    )
    pending: list[asyncio.TimerHandle] = []

    def snapshot(machine: Machine) -> None:
        pending.clear()
        latest["status"] = machine.status()

    def update(machine: Machine) -> None:
        # status() walks every node: take it at most four times a second (a late
        # snapshot catches what the skipped ones would have shown).
        if machine.done:
            snapshot(machine)
        elif not pending:
            pending.append(asyncio.get_running_loop().call_later(0.25, snapshot, machine))

    runner = WorkflowRunner(settings, store, repo, executor, wf, resolved=resolved, on_update=update if live else None)
    interrupts = 0

    def on_sigint() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            err.print("[yellow]stopping: running tasks are killed, exit handlers run (Ctrl-C again to terminate)[/yellow]")
            runner.send({"type": "stop", "message": "Stopped with strategy 'Stop' (Ctrl-C)"})
        else:
            runner.send({"type": "terminate", "message": "Stopped with strategy 'Terminate' (Ctrl-C)"})

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, on_sigint)
    loop.add_signal_handler(signal.SIGTERM, on_sigint)
    try:
        if view is not None:
            with view:
                return await runner.run()
        return await runner.run()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)
        await executor.close()


def _print_final(wf: dict[str, Any], output: str, live: bool) -> None:
    if output == "json":
        click.echo(json.dumps(wf, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(wf, sort_keys=False))
    elif output == "name":
        click.echo(wf["metadata"]["name"])
    else:
        Console(width=None if sys.stdout.isatty() else 160).print(render_workflow(wf, time.time()))
