"""`conveyor template create|list|get|delete`: WorkflowTemplates and ClusterWorkflowTemplates.

They go to the server; with no server (see `_target`) to the local store, so
`conveyor run` resolves references to them either way.
https://argo-workflows.readthedocs.io/en/latest/cli/argo_template/
"""

from __future__ import annotations

import time
from typing import Any

import click

from conveyor.cli._common import read_manifests
from conveyor.cli._target import Api, Connection, server_options
from conveyor.cli._view import age, emit, table, template_header
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import AlreadyExists, InvalidInput

__all__ = ["template", "create_all"]

Json = dict[str, Any]
_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")
_OUTPUTS = click.Choice(["name", "json", "yaml", "wide"])
_CLUSTER = click.option("--cluster", is_flag=True, help="ClusterWorkflowTemplates rather than WorkflowTemplates")


def _kind(cluster: bool) -> str:
    return "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"


def create_all(api: Api, files: tuple[str, ...], kinds: tuple[str, ...], namespace: str | None,
               replace: bool = False) -> list[Json]:
    """Create every object of KINDS in FILES (replacing one of the same name with `replace`)."""
    settings = Settings.from_env()
    created = []
    for path in files:
        docs = [d for d in read_manifests(path, settings) if d.get("kind") in kinds]
        if not docs:
            raise InvalidInput(f"{path} holds no {' or '.join(kinds)}")
        for doc in docs:
            try:
                created.append(api.create_resource(doc["kind"], doc, namespace=namespace))
            except AlreadyExists:
                if not replace:
                    raise
                created.append(api.update_resource(doc["kind"], doc, namespace=namespace))
    return created


@click.group()
def template() -> None:
    """Manage WorkflowTemplates and ClusterWorkflowTemplates."""


@template.command("create")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="replace a template of the same name")
@click.option("-o", "--output", type=_OUTPUTS, default=None)
@server_options
@handle_errors
def create(conn: Connection, files: tuple[str, ...], replace: bool, output: str | None) -> None:
    """Create the (Cluster)WorkflowTemplates in FILES."""
    created = create_all(conn.api(), files, _KINDS, conn.namespace, replace)
    if not emit(created, output or "", single=len(created) == 1):
        click.echo("\n\n".join(template_header(doc, time.time()) for doc in created))


@template.command("list")
@_CLUSTER
@click.option("-o", "--output", type=_OUTPUTS, default=None)
@server_options
@handle_errors
def list_(conn: Connection, cluster: bool, output: str | None) -> None:
    """List WorkflowTemplates (with --cluster, ClusterWorkflowTemplates)."""
    items = conn.api().list_resources(_kind(cluster)).get("items") or []
    if emit(items, output or ""):
        return
    if output == "wide":
        rows = [[t["metadata"]["name"], t["metadata"].get("namespace", ""),
                 age(t["metadata"].get("creationTimestamp"), time.time()),
                 (t.get("spec") or {}).get("entrypoint", "")] for t in items]
        click.echo(table(["NAME", "NAMESPACE", "AGE", "ENTRYPOINT"], rows))
    else:
        click.echo(table(["NAME"], [[t["metadata"]["name"]] for t in items]))


@template.command("get")
@click.argument("names", nargs=-1, required=True)
@_CLUSTER
@click.option("-o", "--output", type=_OUTPUTS, default=None)
@server_options
@handle_errors
def get(conn: Connection, names: tuple[str, ...], cluster: bool, output: str | None) -> None:
    """Show templates."""
    api = conn.api()
    docs = [api.get_resource(_kind(cluster), name) for name in names]
    if not emit(docs, output or "", single=len(docs) == 1):
        click.echo("\n\n".join(template_header(doc, time.time()) for doc in docs))


@template.command("delete")
@click.argument("names", nargs=-1)
@_CLUSTER
@click.option("--all", "all_", is_flag=True, help="every template of the kind")
@server_options
@handle_errors
def delete(conn: Connection, names: tuple[str, ...], cluster: bool, all_: bool) -> None:
    """Delete templates."""
    if bool(names) == all_:
        raise InvalidInput("name the templates to delete, or give --all (not both)")
    api = conn.api()
    kind = _kind(cluster)
    if all_:
        names = tuple(t["metadata"]["name"] for t in api.list_resources(kind).get("items") or [])
    for name in names:
        api.delete_resource(kind, name)
        click.echo(f"{kind} '{name}' deleted")
