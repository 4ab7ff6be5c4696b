"""`conveyor submit FILE... | --from KIND/NAME`: create workflows on the server, like `argo submit`.

Parameters, labels and names are applied to the manifest here, as `argo`
does, so the server sees an ordinary Workflow; `--from` asks the server to
make one from a stored template or cron workflow instead.
https://argo-workflows.readthedocs.io/en/latest/cli/argo_submit/
"""

from __future__ import annotations

import time
from typing import Any

import click
import yaml

from conveyor.cli._common import parse_pairs, read_manifests
from conveyor.cli._follow import exit_by_phase, report, wait_done, watch_live
from conveyor.cli._target import Connection, server_options
from conveyor.cli._view import emit, workflow_view
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import InvalidInput

__all__ = ["submit", "FOLLOW_OPTIONS", "parameters_from", "finish"]

Json = dict[str, Any]
#: `--from` kinds as `argo submit` spells them
_FROM = {"workflowtemplate": "WorkflowTemplate", "clusterworkflowtemplate": "ClusterWorkflowTemplate",
         "cronworkflow": "CronWorkflow", "wftmpl": "WorkflowTemplate", "cwftmpl": "ClusterWorkflowTemplate",
         "cwf": "CronWorkflow"}
_OUTPUTS = click.Choice(["name", "json", "yaml", "wide"])

FOLLOW_OPTIONS = (
    click.option("-w", "--wait", is_flag=True, help="block until it ends; exit 0 if it Succeeded, else 1"),
    click.option("--watch", is_flag=True, help="show its live tree until it ends; exit 0 if it Succeeded, else 1"),
    click.option("-o", "--output", type=_OUTPUTS, default=None, help="print the workflow as this"),
)


def parameters_from(values: tuple[str, ...], parameter_file: str | None) -> dict[str, str]:
    """`--parameter-file` (a YAML or JSON map) first, then each `-p NAME=VALUE` over it."""
    params: dict[str, str] = {}
    if parameter_file:
        with open(parameter_file, encoding="utf-8") as f:
            loaded = yaml.safe_load(f) or {}
        if not isinstance(loaded, dict):
            raise InvalidInput(f"{parameter_file} is not a map of parameter names to values")
        params.update({str(k): v if isinstance(v, str) else yaml.safe_dump(v).strip() for k, v in loaded.items()})
    params.update(parse_pairs(values))
    return params


def _apply(wf: Json, params: dict[str, str], labels: dict[str, str], name: str | None,
           generate_name: str | None, entrypoint: str | None) -> Json:
    meta, spec = wf.setdefault("metadata", {}), wf.setdefault("spec", {})
    if name or generate_name:
        meta.pop("name", None)
        meta.pop("generateName", None)
        meta.update({"name": name} if name else {"generateName": generate_name})
    if labels:
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
    if entrypoint:
        spec["entrypoint"] = entrypoint
    if params:
        listed = spec.setdefault("arguments", {}).setdefault("parameters", [])
        for key, value in params.items():
            found = next((p for p in listed if p.get("name") == key), None)
            if found is None:
                listed.append({"name": key, "value": value})
            else:
                found.pop("valueFrom", None)
                found["value"] = value
    return wf


def _workflows(files: tuple[str, ...]) -> list[Json]:
    settings = Settings.from_env()
    out = []
    for path in files:
        docs = read_manifests(path, settings)
        others = [f"{d.get('kind')} {(d.get('metadata') or {}).get('name', '')!r}" for d in docs
                  if d.get("kind", "Workflow") != "Workflow"]
        if others:
            raise InvalidInput(f"{path} holds {', '.join(others)}: submit sends Workflows only; create the others "
                               "first with `conveyor template create` or `conveyor cron create`")
        out += docs
    if not out:
        raise InvalidInput(f"{', '.join(files)} holds no Workflow")
    return out


def finish(client: Any, created: list[Json], output: str | None, wait: bool, watch: bool) -> None:
    """Print what was created; with --wait or --watch, follow each to its end and exit by its phase."""
    if not emit(created, output or "", single=len(created) == 1):
        click.echo("\n\n".join(workflow_view({**wf, "status": {**(wf.get("status") or {}), "nodes": {}}},
                                             time.time()) for wf in created))
    if not (wait or watch):
        return
    ended = []
    for wf in created:
        name, ns = wf["metadata"]["name"], wf["metadata"].get("namespace")
        if watch:
            ended.append(watch_live(client, name, ns))
        else:
            ended.append(wait_done(client, name, ns))
            report(ended[-1])
    exit_by_phase(ended)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--from", "source", metavar="KIND/NAME",
              help="submit from a stored workflowtemplate/NAME, clusterworkflowtemplate/NAME or cronworkflow/NAME")
@click.option("-p", "--parameter", "values", multiple=True, metavar="NAME=VALUE", help="set a workflow parameter")
@click.option("-f", "--parameter-file", type=click.Path(exists=True, dir_okay=False),
              help="a YAML or JSON file mapping parameter names to values")
@click.option("--name", default=None, help="the workflow's name")
@click.option("--generate-name", default=None, metavar="PREFIX", help="name it PREFIX plus a random suffix")
@click.option("-l", "--labels", default=None, metavar="K=V,...", help="labels to add")
@click.option("--entrypoint", default=None, help="the template to start with")
@click.option("--server-dry-run", is_flag=True, help="let the server check and default it, without creating it")
@FOLLOW_OPTIONS[0]
@FOLLOW_OPTIONS[1]
@FOLLOW_OPTIONS[2]
@server_options
@handle_errors
def submit(conn: Connection, files: tuple[str, ...], source: str | None, values: tuple[str, ...],
           parameter_file: str | None, name: str | None, generate_name: str | None, labels: str | None,
           entrypoint: str | None, server_dry_run: bool, wait: bool, watch: bool, output: str | None) -> None:
    """Submit the Workflows in FILES (or one made --from a stored template) to the server."""
    if bool(files) == bool(source):
        raise InvalidInput("give either manifest FILES or --from KIND/NAME (one of the two)")
    params = parameters_from(values, parameter_file)
    client = conn.remote()
    if source:
        kind, _, ref = source.partition("/")
        if kind.lower() not in _FROM or not ref:
            raise InvalidInput(f"--from {source!r} is not KIND/NAME; KIND is workflowtemplate, "
                               "clusterworkflowtemplate or cronworkflow")
        created = [client.submit_from(_FROM[kind.lower()], ref, parameters=[f"{k}={v}" for k, v in params.items()],
                                      generate_name=generate_name, labels=labels, workflow_name=name,
                                      entrypoint=entrypoint, server_dry_run=server_dry_run)]
    else:
        label_map = parse_pairs([p for p in (labels or "").split(",") if p.strip()], "--labels")
        created = [client.create_workflow(_apply(wf, params, label_map, name, generate_name, entrypoint),
                                          namespace=conn.namespace, dry_run=server_dry_run)
                   for wf in _workflows(files)]
    finish(client, created, output, wait and not server_dry_run, watch and not server_dry_run)
