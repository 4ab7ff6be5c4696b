"""The road to a cluster, checked against Argo's own JSON schema (../shared/argo/schema.json).

Every Argo document in every `*.yaml`/`*.yml` under examples/ (subfolders included) must match
the schema for its kind with no field Argo does not know; so must what a live `conveyor server`
stores for them (templates and cron workflows as created, workflows read back after they ran,
minus their status) and what `conveyor export` prints for each, which also passes conveyor's lint.
The server runs each example Workflow once (process executor, a few seconds in all).
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.client import ArgoClient, Target
from conveyor.spec import InMemoryTemplates, validate
from tests.argo_schema import schema_errors
from tests.conftest import ROOT, STANDINS, shared_path, start_server

EXAMPLES = ROOT / "examples"
_TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
_ENDED = ("Succeeded", "Failed", "Error")


def _example_docs() -> dict[str, dict[str, Any]]:
    """`file#index` -> document, for every YAML document under examples/."""
    docs = {}
    for path in sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
        rel = path.relative_to(EXAMPLES)
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc is not None:
                docs[f"{rel}#{i}"] = doc
    return docs


DOCS = _example_docs()
WORKFLOWS = [k for k, d in DOCS.items() if d.get("kind") == "Workflow"]
STORED = [k for k, d in DOCS.items() if d.get("kind") in _TEMPLATE_KINDS]


def _params(keys: list[str], what: str) -> list[Any]:
    if keys:
        return keys
    return [pytest.param("", marks=pytest.mark.skip(reason=f"examples/ holds no {what} yet"))]


def test_every_yaml_file_under_examples_holds_argo_documents() -> None:
    files = {p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.suffix in (".yaml", ".yml")}
    assert files, "no manifests under examples/"
    assert {Path(k.partition("#")[0]) for k in DOCS} == files, "a YAML file under examples/ holds no document"
    assert all(d.get("apiVersion") == "argoproj.io/v1alpha1" for d in DOCS.values()), \
        [k for k, d in DOCS.items() if d.get("apiVersion") != "argoproj.io/v1alpha1"]


@pytest.mark.parametrize("key", list(DOCS))
def test_example_matches_argos_schema(key: str) -> None:
    errors = schema_errors(DOCS[key], strict=True)
    assert not errors, f"examples/{key} breaks Argo's schema: {errors[:5]}"


def test_the_strict_check_catches_unknown_fields_and_wrong_types() -> None:
    """The check itself: a field Argo does not know and a value of the wrong type are reported."""
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "x-"},
          "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox"},
                                                         "outputs": {"artifacts": [{"name": "a", "path": "/a",
                                                                                    "local": {"key": "k"}}]}}],
                   "parallelism": "two"}}
    errors = schema_errors(wf, strict=True)
    assert any("local" in e and "artifacts.0" in e for e in errors), errors
    assert any(e.startswith("spec.parallelism") for e in errors), errors
    assert schema_errors({**wf, "kind": "ConfigMap"}) == ["kind: 'ConfigMap' is not an Argo kind"]


@dataclass
class Stored:
    url: str
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)  # example key -> as read back
    others: dict[str, dict[str, Any]] = field(default_factory=dict)  # example key -> as read back
    names: dict[str, str] = field(default_factory=dict)  # example key -> `conveyor export` ref


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    """A server that stored every example (templates and cron workflows first) and ran each Workflow."""
    home = tmp_path_factory.mktemp("schema") / "home"
    home.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVEYOR_HOME", str(home))
        mp.setenv("PATH", f"{os.environ.get('PATH', '')}:{STANDINS}")
        proc, url = start_server(log_path=home / "server.log")
    client = ArgoClient(Target(host=url, namespace="default"))
    try:
        result = Stored(url)
        for key in STORED:
            doc = DOCS[key]
            kind, name = doc["kind"], doc["metadata"]["name"]
            client.create_resource(kind, copy.deepcopy(doc))
            result.others[key] = client.get_resource(kind, name)
            result.names[key] = f"{kind.lower()}/{name}"
        created = {key: client.create_workflow(copy.deepcopy(DOCS[key]))["metadata"]["name"] for key in WORKFLOWS}
        deadline = time.monotonic() + 60
        for key, name in created.items():
            wf = client.get_workflow(name)
            while (wf.get("status") or {}).get("phase") not in _ENDED and time.monotonic() < deadline:
                time.sleep(0.2)
                wf = client.get_workflow(name)
            result.workflows[key] = wf
            result.names[key] = name
        yield result
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("key", _params(WORKFLOWS, "Workflow"))
def test_a_workflow_read_back_after_it_ran_matches_argos_schema(key: str, stored: Stored) -> None:
    wf = dict(stored.workflows[key])
    assert wf["status"].get("phase") in ("Running", *_ENDED), wf["status"]
    loose = schema_errors(wf)  # status included: types and shapes (its nodes carry fields Argo's lacks)
    assert not loose, f"examples/{key} as stored breaks Argo's schema: {loose[:5]}"
    wf.pop("status")
    errors = schema_errors(wf, strict=True)
    assert not errors, f"examples/{key} as stored breaks Argo's schema: {errors[:5]}"


@pytest.mark.parametrize("key", _params(STORED, "WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow"))
def test_a_stored_template_or_cron_workflow_matches_argos_schema(key: str, stored: Stored) -> None:
    obj = {k: v for k, v in stored.others[key].items() if k != "status"}
    errors = schema_errors(obj, strict=True)
    assert not errors, f"examples/{key} as stored breaks Argo's schema: {errors[:5]}"


@pytest.mark.parametrize("key", WORKFLOWS + STORED)
def test_conveyor_export_prints_a_manifest_argo_and_conveyor_accept(key: str, stored: Stored) -> None:
    out = CliRunner().invoke(cli, ["export", stored.names[key], "--host", stored.url, "-o", "json",
                                   "--artifact-repository", "artifact-repositories/default"])
    assert out.exit_code == 0, out.output
    manifest = json.loads(out.stdout)
    assert "status" not in manifest
    errors = schema_errors(manifest, strict=True)
    assert not errors, f"`conveyor export` of examples/{key} breaks Argo's schema: {errors[:5]}"
    meta = manifest["metadata"]
    assert set(meta) <= {"name", "generateName", "labels", "annotations"}, meta
    assert not any(k.startswith("conveyor.dev/") for k in meta.get("annotations") or {}), meta
    templates = InMemoryTemplates(d for d in DOCS.values() if d.get("kind") != "Workflow")
    validate(manifest, templates=templates, source=f"export of examples/{key}")


# -- docs/argo-compatibility.md covers every field and endpoint, and tells the truth about the routes

DOC = ROOT / "docs" / "argo-compatibility.md"
_STATUSES = ("yes", "partly", "kept", "no")
#: doc section -> the schema definitions whose every property it must have a row for
_SECTIONS = {
    "Workflow spec fields": ("WorkflowSpec",),
    "Template fields": ("Template",),
    "Steps and DAG tasks": ("WorkflowStep", "DAGTask"),
    "Containers": ("UserContainer", "ScriptTemplate", "ContainerNode"),
    "Cron workflows": ("CronWorkflowSpec",),
}


def _rows(section: str) -> list[tuple[list[str], str]]:
    """(the backticked names of the first cell, the status cell) of every table row in `## section`."""
    import re

    text = DOC.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    rows = []
    for line in text[start:end if end > 0 else None].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1]))
    return rows


@pytest.mark.parametrize("section", list(_SECTIONS))
def test_the_compatibility_page_has_a_row_for_every_field(section: str) -> None:
    definitions = json.loads(shared_path("argo", "schema.json").read_text())["definitions"]
    fields = {name for d in _SECTIONS[section]
              for name in definitions[f"io.argoproj.workflow.v1alpha1.{d}"]["properties"]}
    rows = _rows(section)
    assert all(status in _STATUSES for _, status in rows), [r for r in rows if r[1] not in _STATUSES]
    listed = {name for names, _ in rows for name in names}
    assert sorted(fields - listed) == [], f"docs/argo-compatibility.md, {section}: fields with no row"


def test_the_compatibility_page_lists_every_endpoint_as_the_server_serves_it() -> None:
    from tests.api.test_swagger import api_routes

    swagger = json.loads(shared_path("argo", "swagger.json").read_text())
    endpoints = {f"{m.upper()} {p}" for p, ops in swagger["paths"].items() for m in ops
                 if m in ("get", "post", "put", "delete", "patch")}
    rows = {names[0]: status for names, status in _rows("API endpoints")}
    assert sorted(endpoints - set(rows)) == [], "endpoints of Argo's swagger with no row"
    assert sorted(set(rows) - endpoints) == [], "rows for endpoints Argo's swagger does not have"
    served = {f"{m.upper()} {p}" for p, m in api_routes()}
    wrong = {e: s for e, s in rows.items() if (s in ("yes", "partly")) != (e in served)}
    assert wrong == {}, "rows whose status says otherwise than the routes conveyor serves"
