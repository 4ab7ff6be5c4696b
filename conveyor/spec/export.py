"""A stored object as a clean manifest for `argo submit`: what the user wrote, nothing conveyor added.

What a Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow
gains in conveyor's store, and what `exportable` takes away again:
- `status` (the run's record), and the metadata the store and the
  controller fill in (`uid`, `namespace`, `creationTimestamp`, ...);
- labels and annotations Argo's controller sets itself (phase, completed,
  the template or cron workflow it came from, the scheduled time), and
  every `conveyor.dev/` one (which process drives a run);
- on a Workflow, `spec.suspend` and `spec.shutdown`, which conveyor (as
  Argo) writes while a run is suspended or being stopped.
A run that was submitted with `generateName` is exported with it, so the
manifest can be submitted again and again.

Artifacts: conveyor keeps every artifact in one local repository, so a
key-only artifact (`s3: {key: ...}` with no bucket) means "there". On Argo a
key-only artifact means the same thing: the repository the workflow's
`spec.artifactRepositoryRef` names (else the namespace's default one), see
https://argo-workflows.readthedocs.io/en/latest/key-only-artifacts/ and
https://argo-workflows.readthedocs.io/en/latest/artifact-repository-ref/.
So keys stay as they are and `repository_ref` names the repository; the
local-only spelling `local: {key: ...}` becomes Argo's key-only `s3`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from conveyor.errors import InvalidInput
from conveyor.spec._lint import API_VERSION, KINDS

__all__ = ["ArtifactRepositoryRef", "Exported", "exportable", "CONTROLLER_LABELS", "CONTROLLER_ANNOTATIONS"]

#: labels Argo's controller or server sets on what it stores; a user never writes them
CONTROLLER_LABELS = frozenset({
    "workflows.argoproj.io/phase",
    "workflows.argoproj.io/completed",
    "workflows.argoproj.io/workflow-template",
    "workflows.argoproj.io/cluster-workflow-template",
    "workflows.argoproj.io/cron-workflow",
    "workflows.argoproj.io/resubmitted-from-workflow",
    "workflows.argoproj.io/workflow-archiving-status",
    "workflows.argoproj.io/creator",
    "workflows.argoproj.io/creator-email",
    "workflows.argoproj.io/creator-preferred-username",
    "cronworkflows.argoproj.io/completed",
})
#: annotations the same way
CONTROLLER_ANNOTATIONS = frozenset({
    "workflows.argoproj.io/scheduled-time",
    "cronworkflows.argoproj.io/last-used-schedule",
    "kubectl.kubernetes.io/last-applied-configuration",
})
#: a prefix only conveyor uses (e.g. `conveyor.dev/driver`, the process driving a run)
CONVEYOR_PREFIX = "conveyor.dev/"
#: where artifacts are listed in a template, a workflow's arguments or a DAG task / step
_ARTIFACT_HOLDERS = ("inputs", "outputs", "arguments")
#: locations whose key-only spelling Argo documents; the first is what `local` becomes
_KEY_ONLY = ("s3", "gcs", "oss", "azure")


@dataclass(frozen=True)
class ArtifactRepositoryRef:
    """`spec.artifactRepositoryRef`: a ConfigMap of artifact repositories and, optionally, its key."""

    config_map: str
    key: str = ""

    @classmethod
    def parse(cls, text: str) -> ArtifactRepositoryRef:
        """`CONFIGMAP` or `CONFIGMAP/KEY`, as the user gives it on the command line."""
        config_map, _, key = text.strip().partition("/")
        if not config_map or "/" in key or (text.strip().endswith("/") and not key):
            raise InvalidInput(f"artifact repository {text!r} is not CONFIGMAP or CONFIGMAP/KEY; "
                               "e.g. artifact-repositories/my-s3 (a ConfigMap in the workflow's namespace)")
        return cls(config_map, key)

    def as_spec(self) -> dict[str, str]:
        return {"configMap": self.config_map, **({"key": self.key} if self.key else {})}


@dataclass
class Exported:
    """The clean manifest, and what the user should know before submitting it to Argo."""

    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _clean_meta(meta: Any, *, keep_names: bool) -> dict[str, Any]:
    meta = meta if isinstance(meta, Mapping) else {}
    out: dict[str, Any] = {}
    if keep_names:
        if meta.get("generateName"):
            out["generateName"] = meta["generateName"]
        elif meta.get("name"):
            out["name"] = meta["name"]
    for what, controller in (("labels", CONTROLLER_LABELS), ("annotations", CONTROLLER_ANNOTATIONS)):
        kept = {k: v for k, v in (meta.get(what) or {}).items()
                if k not in controller and not str(k).startswith(CONVEYOR_PREFIX)}
        if kept:
            out[what] = kept
    return out


def _artifact_lists(node: Any) -> Iterator[list[Any]]:
    """Every `artifacts` list under inputs / outputs / arguments anywhere in `node`."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in _ARTIFACT_HOLDERS and isinstance(value, Mapping) and isinstance(value.get("artifacts"), list):
                yield value["artifacts"]
            yield from _artifact_lists(value)
    elif isinstance(node, list):
        for item in node:
            yield from _artifact_lists(item)


def _is_key_only(art: Mapping[str, Any]) -> bool:
    for loc in _KEY_ONLY:
        spec = art.get(loc)
        if isinstance(spec, Mapping):
            place = spec.get("blob") if loc == "azure" else spec.get("key")
            owner = spec.get("container") if loc == "azure" else spec.get("bucket")
            if place and not owner:
                return True
    return False


def _relocate_artifacts(spec: dict[str, Any]) -> int:
    """Rewrite conveyor's `local: {key}` as Argo's key-only `s3: {key}`; the number of key-only artifacts."""
    count = 0
    for arts in _artifact_lists(spec):
        for art in arts:
            if not isinstance(art, dict):
                continue
            local = art.get("local")
            if isinstance(local, Mapping) and local.get("key"):
                del art["local"]
                art[_KEY_ONLY[0]] = {"key": local["key"]}
            count += _is_key_only(art)
    return count


def _workflow_spec(obj: Mapping[str, Any]) -> Any:
    spec = obj.get("spec")
    return spec.get("workflowSpec") if obj.get("kind") == "CronWorkflow" and isinstance(spec, Mapping) else spec


def exportable(obj: Mapping[str, Any], repository_ref: ArtifactRepositoryRef | None = None) -> Exported:
    """`obj` as stored, as the manifest to submit to Argo (see the module docstring)."""
    kind = obj.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} cannot be exported; use one of {', '.join(KINDS)}")
    out: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": _clean_meta(obj.get("metadata"), keep_names=True),
        "spec": copy.deepcopy(dict(obj.get("spec") or {})),
    }
    notes: list[str] = []
    if kind == "Workflow":
        for runtime_only in ("suspend", "shutdown"):
            out["spec"].pop(runtime_only, None)
    wf_spec = _workflow_spec(out)
    if kind == "CronWorkflow" and isinstance(wf_spec, dict):
        # the workflows a cron workflow creates get its workflowMetadata: clean it the same way
        if "workflowMetadata" in out["spec"]:
            out["spec"]["workflowMetadata"] = _clean_meta(out["spec"]["workflowMetadata"], keep_names=False)
    if not isinstance(wf_spec, dict):
        return Exported(out, notes)
    key_only = _relocate_artifacts(wf_spec)
    if repository_ref is not None:
        wf_spec["artifactRepositoryRef"] = repository_ref.as_spec()
    elif key_only and not wf_spec.get("artifactRepositoryRef"):
        notes.append(f"{key_only} key-only artifact(s): on Argo they use the namespace's default artifact "
                     "repository; name one with --artifact-repository CONFIGMAP/KEY")
    for which, name in sorted(_template_refs(wf_spec)):
        notes.append(f"it uses {which} {name}: export that too (conveyor export {which}/{name}) "
                     "and create it on the cluster first")
    return Exported(out, notes)


def _template_refs(node: Any) -> set[tuple[str, str]]:
    """(kind as `argo` spells it, name) of every workflowTemplateRef and templateRef under `node`."""
    refs: set[tuple[str, str]] = set()
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("workflowTemplateRef", "templateRef") and isinstance(value, Mapping) and value.get("name"):
                which = "clusterworkflowtemplate" if value.get("clusterScope") else "workflowtemplate"
                refs.add((which, str(value["name"])))
            else:
                refs |= _template_refs(value)
    elif isinstance(node, list):
        for item in node:
            refs |= _template_refs(item)
    return refs
