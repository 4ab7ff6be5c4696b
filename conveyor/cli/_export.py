"""`conveyor export NAME | KIND/NAME`: a stored object as a clean manifest for `argo submit`.

It reads the object the way `get` does (the server, or the local store when
there is none), takes away what conveyor and the run added
(`conveyor.spec.export`) and prints the manifest alone on stdout, for
`argo submit FILE` or `kubectl create -f -` on a cluster. What
the user should know first (the artifact repository its key-only artifacts
will use there, templates it needs) goes to stderr.
https://argo-workflows.readthedocs.io/en/latest/cli/argo_submit/
"""

from __future__ import annotations

import json

import click
import yaml
from rich.markup import escape

from conveyor.cli._target import Connection, server_options
from conveyor.cli.main import err, handle_errors
from conveyor.errors import InvalidInput

__all__ = ["export"]

#: KIND/ prefixes as `argo` spells them (`argo submit --from`, `argo template get`)
KINDS = {"workflow": "Workflow", "wf": "Workflow",
         "workflowtemplate": "WorkflowTemplate", "wftmpl": "WorkflowTemplate",
         "clusterworkflowtemplate": "ClusterWorkflowTemplate", "cwftmpl": "ClusterWorkflowTemplate",
         "cronworkflow": "CronWorkflow", "cwf": "CronWorkflow", "cronwf": "CronWorkflow"}


def _parse_ref(ref: str) -> tuple[str, str]:
    kind, slash, name = ref.partition("/")
    if not slash:
        return "Workflow", ref
    if kind.lower() not in KINDS or not name or "/" in name:
        raise InvalidInput(f"{ref!r} is not NAME or KIND/NAME; KIND is workflow, workflowtemplate, "
                           "clusterworkflowtemplate or cronworkflow")
    return KINDS[kind.lower()], name


@click.command()
@click.argument("ref", metavar="NAME|KIND/NAME")
@click.option("--artifact-repository", "repository", default=None, metavar="CONFIGMAP[/KEY]",
              help="the Argo artifact repository its artifacts use on the cluster (spec.artifactRepositoryRef)")
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@server_options
@handle_errors
def export(conn: Connection, ref: str, repository: str | None, output: str) -> None:
    """Print a stored workflow (or workflowtemplate/NAME, cronworkflow/NAME, ...) as a manifest for `argo submit`."""
    from conveyor.spec.export import ArtifactRepositoryRef, exportable

    kind, name = _parse_ref(ref)
    repo_ref = ArtifactRepositoryRef.parse(repository) if repository is not None else None
    api = conn.api()
    stored = api.get_workflow(name) if kind == "Workflow" else api.get_resource(kind, name)
    result = exportable(stored, repo_ref)
    for note in result.notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}", markup=True)
    if output == "json":
        click.echo(json.dumps(result.manifest, indent=2))
    else:
        click.echo(yaml.safe_dump(result.manifest, sort_keys=False, allow_unicode=True), nl=False)
