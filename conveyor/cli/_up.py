"""`conveyor up [FILE...]`: the server and web UI on this machine in one command.

It serves what `conveyor server` serves, on 127.0.0.1 (no token asked for:
only this machine can reach it; `--auth-mode client` asks for one), from the
embedded default store (SQLite under CONVEYOR_HOME) with the best executor
found, and starts a local image registry on 127.0.0.1:5000 when Debian's
`docker-registry` is installed (`_local_registry`).

Once the server answers, the manifests named are loaded so the user can run
them: WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows are
created or replaced, and each Workflow becomes a WorkflowTemplate of the same
spec, named after the workflow (its name, or its generateName without the
trailing dash), with its labels and annotations. That is how Argo keeps a
workflow to run again (`argo template create`): the UI's Templates page
submits it, as does `conveyor submit --from workflowtemplate/NAME`. Then
exactly one is run, so the UI has something to show: the first Workflow
named, or the WorkflowTemplate `--run NAME` picks; it is submitted from its
template as `submit --from` does (a workflowTemplateRef, Argo's label naming
the template) and carries the template's labels. A file that is missing or
cannot be loaded is named in the summary, never skipped silently.
https://argo-workflows.readthedocs.io/en/latest/workflow-templates/

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
import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conveyor.api.models import SubmitOpts
from conveyor.api.submit import workflow_from
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


@dataclass(frozen=True)
class _Doc:
    """One manifest `up` loads: what it stores, where it came from, and whether a Workflow became it."""

    file: str
    manifest: dict[str, Any]
    from_workflow: bool = False

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def name(self) -> str:
        return str((self.manifest.get("metadata") or {}).get("name") or "")


def _as_template(f: str, wf: dict[str, Any]) -> dict[str, Any]:
    """The WorkflowTemplate `up` keeps for Workflow `wf` (from file `f`): its spec, named after it."""
    meta = wf.get("metadata") or {}
    name = meta.get("name") or str(meta.get("generateName") or "").rstrip("-.")
    if not name:
        raise InvalidInput(f"{f}: a Workflow with neither metadata.name nor metadata.generateName cannot be kept "
                           "as a WorkflowTemplate; give it one")
    kept = {"name": name, **{k: meta[k] for k in ("labels", "annotations") if meta.get(k)}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": kept,
            "spec": copy.deepcopy(wf.get("spec") or {})}


def _documents(files: tuple[str, ...], settings: Settings) -> tuple[list[_Doc], list[str]]:
    """(what to load, templates before the cron workflows that may use them; lines naming the files
    that are not there). A file that is there but bad stops `up` before it starts."""
    missing = [f"  skipped {f}: no such file" for f in files if not Path(f).is_file()]
    docs: list[_Doc] = []
    for f in files:
        if not Path(f).is_file():
            continue
        for doc in read_manifests(f, settings):
            if doc.get("kind") == "Workflow":
                docs.append(_Doc(f, _as_template(f, doc), from_workflow=True))
            elif doc.get("kind") in TEMPLATE_KINDS:
                docs.append(_Doc(f, doc))
            else:
                raise InvalidInput(f"{f}: kind {doc.get('kind')!r} cannot be loaded; use Workflow, "
                                   f"{', '.join(TEMPLATE_KINDS)}")
    seen: dict[tuple[str, str], str] = {}
    for d in docs:
        if (d.kind, d.name) in seen:
            raise InvalidInput(f"{d.kind} {d.name!r} comes from both {seen[d.kind, d.name]} and {d.file}; "
                               "rename one (a Workflow is kept as a WorkflowTemplate named after it)")
        seen[d.kind, d.name] = d.file
    return sorted(docs, key=lambda d: d.kind == "CronWorkflow"), missing


def _to_run(docs: list[_Doc], run: str | None) -> _Doc | None:
    """The WorkflowTemplate `up` submits once loaded: `--run`'s, else the first Workflow's (None: there is none)."""
    if run is None:
        return next((d for d in docs if d.from_workflow), None)
    choices = [d for d in docs if d.kind == "WorkflowTemplate"]
    found = next((d for d in choices if d.name == run), None)
    if found is None:
        raise InvalidInput(f"--run {run!r}: FILES hold no Workflow or WorkflowTemplate named so; "
                           + (f"choose one of {', '.join(d.name for d in choices)}" if choices
                              else "name a file that holds one"))
    return found


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


def _load(service: Service, ns: str, doc: _Doc) -> str:
    try:
        service.put_template(doc.kind, ns, doc.manifest, replace=True)
    except ConveyorError as exc:  # one bad document does not hide the others
        return f"  could not load {doc.kind} {doc.name or '(unnamed)'} ({doc.file}): {exc.message}"
    return f"  loaded {doc.kind} {doc.name} ({doc.file}" + (", from its Workflow)" if doc.from_workflow else ")")


def _submit(service: Service, ns: str, url: str, doc: _Doc) -> str:
    """Run WorkflowTemplate `doc` once, as `conveyor submit --from workflowtemplate/NAME` would; a Workflow
    kept as one runs with that workflow's labels too."""
    manifest = workflow_from("WorkflowTemplate", doc.manifest, SubmitOpts())
    if doc.from_workflow:
        labels = (doc.manifest.get("metadata") or {}).get("labels") or {}
        manifest["metadata"]["labels"] = {**labels, **manifest["metadata"]["labels"]}
    try:
        wf = service.create_workflow(ns, manifest)
    except ConveyorError as exc:
        return f"  could not run workflowtemplate/{doc.name}: {exc.message}"
    run = wf["metadata"]["name"]
    return f"  submitted {run} from workflowtemplate/{doc.name}: {url}/#/workflows/{ns}/{run}"


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--port", default=2746, show_default=True, type=click.IntRange(0, 65535), help="port to listen on")
@click.option("--registry-port", default=5000, show_default=True, type=click.IntRange(1, 65535),
              help="port of the local image registry (Debian's docker-registry)")
@click.option("--no-registry", is_flag=True, help="do not start a local image registry")
@click.option("--run", "run", default=None, metavar="NAME",
              help="the Workflow (by its template's name) or WorkflowTemplate of FILES to run once loaded "
                   "[default: the first Workflow]")
@click.option("--auth-mode", type=click.Choice(["server", "client"]), default="server", show_default=True,
              help="server: no token asked for (only this machine can connect); client: every request, "
                   "the UI's included, needs a token (the one printed works)")
@handle_errors
def up(files: tuple[str, ...], port: int, registry_port: int, no_registry: bool, run: str | None,
       auth_mode: str) -> None:
    """Start the server, web UI and a local registry here; load FILEs (templates, cron workflows, and
    workflows kept as templates) and run one of the workflows."""
    settings = Settings.from_env()
    docs, missing = _documents(files, settings)
    first = _to_run(docs, run)
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
        lines = [_load(service, ns, doc) for doc in docs]
        if first is not None:
            lines.append(_submit(service, ns, url, first))
        if any(d.from_workflow and d is not first for d in docs):
            lines.append("  run the others from the UI's Templates page, or: conveyor submit --from workflowtemplate/NAME")
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
