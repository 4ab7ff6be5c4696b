"""`conveyor up [FILE...]`: the server and web UI on this machine in one command.

It serves what `conveyor server` serves, on 127.0.0.1 (no token asked for:
only this machine can reach it; `--auth-mode client` asks for one), from the
embedded default store (SQLite under CONVEYOR_HOME) with the best executor
found, and starts a local image registry on 127.0.0.1:5000 when Debian's
`docker-registry` is installed (`_local_registry`). Once the server answers,
the manifests named are loaded: WorkflowTemplates, ClusterWorkflowTemplates
and CronWorkflows are created or replaced, then each Workflow is submitted,
so the UI has something to show. A file that is missing or cannot be loaded
is named in the summary, never skipped silently.

It prints the UI's address and the `export` lines that point Hera, the CLI
and the seed platform's scripts at it, a token included: legacy Hera will
not send a request without one, and the same lines then work against a
server that asks for tokens. The token is a write token for the namespace,
kept (mode 0600) in CONVEYOR_HOME/up.token and reused while it is live, so
the lines stay the same from one `up` to the next.

Ctrl-C stops the server, then the registry; unfinished workflows resume on
the next start.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conveyor.cli._common import TEMPLATE_KINDS, open_store, read_manifests
from conveyor.cli._local_registry import LocalRegistry, start_registry
from conveyor.cli._server import bind, configure_logging, serve
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import ConveyorError, InvalidInput

if TYPE_CHECKING:
    from conveyor.runtime import Service

__all__ = ["up", "local_token"]

TOKEN_FILE = "up.token"


def _documents(files: tuple[str, ...], settings: Settings) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """((file, manifest) for every document, templates first; lines naming the files that are not
    there). A file that is there but bad stops `up` before it starts."""
    missing = [f"  skipped {f}: no such file" for f in files if not Path(f).is_file()]
    docs = [(f, doc) for f in files if Path(f).is_file() for doc in read_manifests(f, settings)]
    for f, doc in docs:
        if doc.get("kind") not in ("Workflow", *TEMPLATE_KINDS):
            raise InvalidInput(f"{f}: kind {doc.get('kind')!r} cannot be loaded; use Workflow, "
                               f"{', '.join(TEMPLATE_KINDS)}")
    return sorted(docs, key=lambda d: d[1]["kind"] == "Workflow"), missing


def local_token(settings: Settings, namespace: str) -> str:
    """The write token `up` prints for `namespace`: the one kept in CONVEYOR_HOME while it is live, else a new one."""
    path = settings.home / TOKEN_FILE
    store = open_store(settings)
    try:
        if path.is_file():
            text = path.read_text().strip()
            found = store.find_token(text) if text else None
            if found is not None and found.covers(namespace) and found.role in ("write", "admin"):
                return text
        text = store.create_token(f"up-{namespace}-{os.urandom(3).hex()}"[:63], [namespace], "write")
    finally:
        store.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return text


def _load(service: Service, ns: str, url: str, f: str, doc: dict[str, Any]) -> str:
    kind, name = doc["kind"], (doc.get("metadata") or {}).get("name") or "(generated)"
    try:
        if kind == "Workflow":
            wf = service.create_workflow(ns, doc)
            name = wf["metadata"]["name"]
            return f"  submitted {name} ({f}): {url}/#/workflows/{ns}/{name}"
        service.put_template(kind, ns, doc, replace=True)
        return f"  loaded {kind} {name} ({f})"
    except ConveyorError as exc:  # one bad document does not hide the others
        return f"  could not load {kind} {name} ({f}): {exc.message}"


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--port", default=2746, show_default=True, type=click.IntRange(0, 65535), help="port to listen on")
@click.option("--registry-port", default=5000, show_default=True, type=click.IntRange(1, 65535),
              help="port of the local image registry (Debian's docker-registry)")
@click.option("--no-registry", is_flag=True, help="do not start a local image registry")
@click.option("--auth-mode", type=click.Choice(["server", "client"]), default="server", show_default=True,
              help="server: no token asked for (only this machine can connect); client: every request, "
                   "the UI's included, needs a token (the one printed works)")
@handle_errors
def up(files: tuple[str, ...], port: int, registry_port: int, no_registry: bool, auth_mode: str) -> None:
    """Start the server, web UI and a local registry here; load FILEs (templates, cron workflows, workflows)."""
    settings = Settings.from_env()
    docs, missing = _documents(files, settings)
    ns = settings.namespace
    token = local_token(settings, ns)
    configure_logging()
    sock = bind("127.0.0.1", port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    registry: LocalRegistry | None = None
    if no_registry:
        registry_line = "  no local registry (--no-registry)"
    else:
        registry, said = start_registry(settings.home / "registry", registry_port)
        registry_line = f"  {said}"

    async def ready(service: Service, url: str) -> None:
        lines = [_load(service, ns, url, f, doc) for f, doc in docs]
        click.echo("\n".join([
            f"conveyor is up: the web UI is at {url}/ (Ctrl-C stops it)", *lines, *missing, registry_line,
            "Point Hera, `conveyor submit` and the seed platform's scripts at it:",
            f"  export PIPELINE_HOST={url}", f"  export PIPELINE_NS={ns}", f"  export PIPELINE_TOKEN={token}",
        ]))

    try:
        asyncio.run(serve(settings, sock, url, auth_mode, on_ready=ready))
    finally:
        if registry is not None:
            registry.stop()
