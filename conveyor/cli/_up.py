"""`conveyor up [FILE...]`: the server and web UI on this machine in one command.

It serves what `conveyor server` serves, on 127.0.0.1 (no token asked for:
only this machine can reach it), from the embedded default store (SQLite
under CONVEYOR_HOME) with the best executor found. Once the server answers,
the manifests named are loaded: WorkflowTemplates, ClusterWorkflowTemplates
and CronWorkflows are created or replaced, then each Workflow is submitted,
so the UI has something to show. It prints the UI's address and the
`export` lines that point Hera, the CLI and the seed platform's scripts at
it. Ctrl-C stops it; unfinished workflows resume on the next start.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import click

from conveyor.cli._common import read_manifests
from conveyor.cli._server import bind, configure_logging, serve
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import InvalidInput

if TYPE_CHECKING:
    from conveyor.runtime import Service

__all__ = ["up"]

_TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


def _documents(files: tuple[str, ...], settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    """(file, manifest) for every document, templates first; a bad file stops `up` before it starts."""
    docs = [(f, doc) for f in files for doc in read_manifests(f, settings)]
    for f, doc in docs:
        if doc.get("kind") not in ("Workflow", *_TEMPLATE_KINDS):
            raise InvalidInput(f"{f}: kind {doc.get('kind')!r} cannot be loaded; use Workflow, "
                               f"{', '.join(_TEMPLATE_KINDS)}")
    return sorted(docs, key=lambda d: d[1]["kind"] == "Workflow")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--port", default=2746, show_default=True, type=click.IntRange(0, 65535), help="port to listen on")
@handle_errors
def up(files: tuple[str, ...], port: int) -> None:
    """Start the server and web UI here, load FILEs (templates, cron workflows, workflows)."""
    settings = Settings.from_env()
    docs = _documents(files, settings)
    configure_logging()
    sock = bind("127.0.0.1", port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def ready(service: Service, url: str) -> None:
        ns = settings.namespace
        lines = []
        for f, doc in docs:
            kind = doc["kind"]
            if kind == "Workflow":
                wf = service.create_workflow(ns, doc)
                lines.append(f"  submitted {wf['metadata']['name']} ({f}): {url}/#/workflows/{ns}/{wf['metadata']['name']}")
            else:
                service.put_template(kind, ns, doc, replace=True)
                lines.append(f"  loaded {kind} {doc['metadata']['name']} ({f})")
        click.echo("\n".join([
            f"conveyor is up: the web UI is at {url}/ (Ctrl-C stops it)", *lines,
            "Point Hera, `conveyor submit` and the seed platform's scripts at it:",
            f"  export PIPELINE_HOST={url}", f"  export PIPELINE_NS={ns}",
        ]))

    asyncio.run(serve(settings, sock, url, "server", on_ready=ready))
