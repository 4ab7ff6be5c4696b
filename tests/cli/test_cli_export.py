"""`conveyor export`: a stored object as a clean manifest for `argo submit` (conveyor.spec.export),
and the command against a live server, round trip included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.errors import InvalidInput
from conveyor.spec.export import ArtifactRepositoryRef, exportable
from tests.argo_schema import schema_errors
from tests.cli.conftest import Server
from tests.cli.test_cli_client import cv, get, submitted, write

#: what conveyor's store holds after a run: what the user wrote, and what the run added
STORED: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {
        "name": "pipe-x7k2p", "generateName": "pipe-", "namespace": "team-a", "uid": "0d3c", "resourceVersion": "7",
        "creationTimestamp": "2026-12-03T10:00:00Z",
        "labels": {"team": "data", "workflows.argoproj.io/phase": "Running",
                   "workflows.argoproj.io/completed": "false", "workflows.argoproj.io/workflow-template": "t",
                   "workflows.argoproj.io/archive-strategy": "false"},
        "annotations": {"conveyor.dev/driver": "6961@vm", "workflows.argoproj.io/description": "nightly load",
                        "workflows.argoproj.io/scheduled-time": "2026-12-03T10:00:00Z"},
    },
    "spec": {
        "entrypoint": "main", "suspend": True, "shutdown": "Stop", "nodeSelector": {"pool": "small"},
        "templates": [
            {"name": "main", "steps": [[{"name": "make", "template": "make"}],
                                       [{"name": "use", "template": "use", "arguments": {"artifacts": [
                                           {"name": "data", "local": {"key": "runs/data.txt"}}]}}]]},
            {"name": "make", "container": {"image": "busybox", "command": ["sh", "-c", "echo hi > /tmp/d"]},
             "outputs": {"artifacts": [{"name": "data", "path": "/tmp/d", "s3": {"key": "runs/data.txt"}}]}},
            {"name": "use", "inputs": {"artifacts": [{"name": "data", "path": "/tmp/d"}]},
             "container": {"image": "busybox", "command": ["cat", "/tmp/d"]}},
        ],
    },
    "status": {"phase": "Running", "nodes": {"pipe-x7k2p": {"id": "pipe-x7k2p", "phase": "Running"}}},
}


def test_export_keeps_what_the_user_wrote_and_drops_what_the_run_added() -> None:
    out = exportable(STORED).manifest
    assert out["metadata"] == {
        "generateName": "pipe-",
        "labels": {"team": "data", "workflows.argoproj.io/archive-strategy": "false"},
        "annotations": {"workflows.argoproj.io/description": "nightly load"},
    }
    assert "status" not in out and "suspend" not in out["spec"] and "shutdown" not in out["spec"]
    assert out["spec"]["nodeSelector"] == {"pool": "small"}  # kept: what the manifest needs on Argo
    assert STORED["spec"]["suspend"] is True and "status" in STORED  # the stored object is not changed
    assert not schema_errors(out, strict=True)
    named = exportable({**STORED, "metadata": {"name": "fixed", "namespace": "x"}}).manifest
    assert named["metadata"] == {"name": "fixed"}


def test_local_artifact_keys_become_key_only_artifacts_of_the_repository_named() -> None:
    plain = exportable(STORED)
    use = plain.manifest["spec"]["templates"][0]["steps"][1][0]
    assert use["arguments"]["artifacts"] == [{"name": "data", "s3": {"key": "runs/data.txt"}}]
    assert "artifactRepositoryRef" not in plain.manifest["spec"]
    assert plain.notes and "2 key-only artifact(s)" in plain.notes[0] and "--artifact-repository" in plain.notes[0]
    named = exportable(STORED, ArtifactRepositoryRef.parse("my-repos/minio"))
    assert named.manifest["spec"]["artifactRepositoryRef"] == {"configMap": "my-repos", "key": "minio"}
    assert named.notes == []
    assert not schema_errors(named.manifest, strict=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("artifact-repositories", {"configMap": "artifact-repositories"}),
    ("my-repos/minio", {"configMap": "my-repos", "key": "minio"}),
    (" my-repos/minio ", {"configMap": "my-repos", "key": "minio"}),
])
def test_artifact_repository_refs(text: str, expected: dict[str, str]) -> None:
    assert ArtifactRepositoryRef.parse(text).as_spec() == expected


@pytest.mark.parametrize("text", ["", "/minio", "my-repos/", "a/b/c"])
def test_bad_artifact_repository_refs_say_what_to_write(text: str) -> None:
    with pytest.raises(InvalidInput, match="CONFIGMAP/KEY"):
        ArtifactRepositoryRef.parse(text)


def test_a_cron_workflow_keeps_its_own_settings_and_its_workflows_get_the_repository() -> None:
    cron = {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
            "metadata": {"name": "nightly", "namespace": "default", "uid": "u",
                         "annotations": {"cronworkflows.argoproj.io/last-used-schedule": "CRON_TZ=UTC 0 2 * * *"}},
            "spec": {"schedules": ["0 2 * * *"], "suspend": True,
                     "workflowMetadata": {"labels": {"from": "cron", "workflows.argoproj.io/cron-workflow": "x"}},
                     "workflowSpec": {"entrypoint": "main", "workflowTemplateRef": {"name": "etl"}}},
            "status": {"active": [], "lastScheduledTime": "2026-12-03T02:00:00Z"}}
    result = exportable(cron, ArtifactRepositoryRef.parse("repos"))
    out = result.manifest
    assert out["metadata"] == {"name": "nightly"} and "status" not in out
    assert out["spec"]["suspend"] is True  # a cron workflow's own setting, not a run's state
    assert out["spec"]["workflowMetadata"] == {"labels": {"from": "cron"}}
    assert out["spec"]["workflowSpec"]["artifactRepositoryRef"] == {"configMap": "repos"}
    assert result.notes == ["it uses workflowtemplate etl: export that too (conveyor export workflowtemplate/etl) "
                            "and create it on the cluster first"]
    assert not schema_errors(out, strict=True)


def test_only_argo_kinds_are_exported() -> None:
    with pytest.raises(InvalidInput, match="ConfigMap"):
        exportable({"kind": "ConfigMap", "metadata": {"name": "x"}})


ARTIFACTS = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
             "metadata": {"generateName": "export-me-", "labels": {"team": "data"}},
             "spec": {"entrypoint": "main", "templates": [
                 {"name": "main", "dag": {"tasks": [
                     {"name": "make", "template": "make"},
                     {"name": "use", "template": "use", "depends": "make"}]}},
                 {"name": "make", "container": {"image": "busybox", "command": ["sh", "-c", "echo hi > /tmp/d.txt"]},
                  "outputs": {"artifacts": [{"name": "d", "path": "/tmp/d.txt", "s3": {"key": "export-me/d.txt"}}]}},
                 {"name": "use", "container": {"image": "busybox", "command": ["cat", "/tmp/d.txt"]},
                  "inputs": {"artifacts": [{"name": "d", "path": "/tmp/d.txt", "s3": {"key": "export-me/d.txt"}}]}}]}}


def test_export_a_run_and_submit_the_manifest_again(server: Server, tmp_path: Path) -> None:
    name = submitted(server, write(tmp_path, ARTIFACTS), "--wait")
    assert get(server, name)["status"]["phase"] == "Succeeded"
    out = cv(server, "export", name, "--artifact-repository", "artifact-repositories/minio")
    assert out.exit_code == 0, out.stderr
    manifest = yaml.safe_load(out.stdout)
    assert manifest["metadata"] == {"generateName": "export-me-", "labels": {"team": "data"}}
    assert manifest["spec"]["artifactRepositoryRef"] == {"configMap": "artifact-repositories", "key": "minio"}
    assert "status" not in manifest and not schema_errors(manifest, strict=True)
    assert out.stderr == ""  # nothing to warn about: the repository is named
    again = tmp_path / "exported.yaml"
    again.write_text(out.stdout)
    rerun = submitted(server, str(again), "--wait")
    assert rerun != name and get(server, rerun)["status"]["phase"] == "Succeeded"

    warned = cv(server, "export", name, "-o", "json")
    assert warned.exit_code == 0 and "note: 2 key-only artifact(s)" in warned.stderr
    assert "artifactRepositoryRef" not in json.loads(warned.stdout)["spec"]


def test_export_templates_by_kind(server: Server, tmp_path: Path) -> None:
    tmpl = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": {"name": "export-tmpl"},
            "spec": {"templates": [{"name": "say", "container": {"image": "busybox", "command": ["echo", "hi"]}}]}}
    assert cv(server, "template", "create", write(tmp_path, tmpl)).exit_code == 0
    out = cv(server, "export", "workflowtemplate/export-tmpl")
    assert out.exit_code == 0, out.stderr
    assert yaml.safe_load(out.stdout) == tmpl


def test_export_errors_are_one_line(server: Server) -> None:
    missing = cv(server, "export", "no-such-workflow")
    assert missing.exit_code == 1 and "no-such-workflow" in missing.stderr and "not found" in missing.stderr
    bad = cv(server, "export", "pods/x")
    assert bad.exit_code == 2 and bad.stderr.startswith("invalid: 'pods/x' is not NAME or KIND/NAME")
    repo = cv(server, "export", "x", "--artifact-repository", "a/b/c")
    assert repo.exit_code == 2 and "CONFIGMAP/KEY" in repo.stderr
