"""`conveyor template create|list|get|delete`: WorkflowTemplates kept in the store."""

from __future__ import annotations

import json

import click

from conveyor.cli._common import open_store, read_manifests
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import InvalidInput
from conveyor.spec import validate

__all__ = ["template"]

_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")


@click.group()
def template() -> None:
    """Manage WorkflowTemplates and ClusterWorkflowTemplates."""


@template.command("create")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--replace", is_flag=True, help="replace a template of the same name")
@handle_errors
def create(files: tuple[str, ...], replace: bool) -> None:
    """Store the (Cluster)WorkflowTemplates in FILES for `run` to resolve."""
    settings = Settings.from_env()
    store = open_store(settings)
    for path in files:
        docs = read_manifests(path, settings)
        if not any(d.get("kind") in _KINDS for d in docs):
            raise InvalidInput(f"{path} holds no WorkflowTemplate or ClusterWorkflowTemplate")
        for doc in docs:
            kind = doc.get("kind")
            if kind not in _KINDS:
                continue
            meta = doc.setdefault("metadata", {})
            if kind == "WorkflowTemplate":
                meta["namespace"] = meta.get("namespace") or settings.namespace
            doc = validate(doc, templates=store, source=path)
            store.put_template(kind, doc, replace=replace)
            click.echo(f"{kind.lower()}.argoproj.io/{doc['metadata']['name']} created")


@template.command("list")
@click.option("-o", "--output", type=click.Choice(["name", "json"]), default="name")
@handle_errors
def list_(output: str) -> None:
    """List stored templates."""
    store = open_store(Settings.from_env())
    items = [t for kind in _KINDS for t in store.list_templates(kind)]
    if output == "json":
        click.echo(json.dumps(items, indent=2))
        return
    for t in items:
        click.echo(f"{t['kind']}/{t['metadata']['name']}")


@template.command("delete")
@click.argument("name")
@click.option("--cluster", is_flag=True, help="a ClusterWorkflowTemplate")
@handle_errors
def delete(name: str, cluster: bool) -> None:
    """Delete a stored template."""
    settings = Settings.from_env()
    kind = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
    open_store(settings).delete_template(kind, settings.namespace, name)
    click.echo(f"{kind.lower()}.argoproj.io/{name} deleted")
