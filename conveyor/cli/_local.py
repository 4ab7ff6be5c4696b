"""LocalApi: the few ArgoClient calls that make sense with no server, answered from the local store.

Used when no host was given and nothing answers at the default address (see
`_target`). Reads go to the store a `conveyor run` writes; resume, stop,
terminate and set leave a request in the store, which the process running
the workflow picks up a few times a second. Replies have the Argo Server's
shapes, so the commands print them the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.config import Settings
from conveyor.errors import InvalidInput, NotFound
from conveyor.expr import compile_pattern

if TYPE_CHECKING:
    from conveyor.store import Store

__all__ = ["LocalApi"]

Json = dict[str, Any]

_DONE = ("Succeeded", "Failed", "Error")
_NODE_DONE = (*_DONE, "Skipped", "Omitted")
_PLURALS = {"WorkflowTemplate": "workflowtemplates", "ClusterWorkflowTemplate": "clusterworkflowtemplates"}
_POLL_S = 0.2


class LocalApi:
    def __init__(self, settings: Settings, store: Store, namespace: str) -> None:
        self.settings = settings
        self.store = store
        self.namespace = namespace

    def _ns(self, namespace: str | None) -> str:
        return namespace or self.namespace

    # -- workflows --------------------------------------------------------------

    def get_workflow(self, name: str, *, namespace: str | None = None, fields: str | None = None) -> Json:
        return self.store.get_workflow(self._ns(namespace), name)

    def list_workflows(self, *, namespace: str | None = None, label_selector: str | None = None,
                       field_selector: str | None = None, limit: int | None = None,
                       continue_token: str | None = None, fields: str | None = None) -> Json:
        if field_selector:
            raise InvalidInput("field selectors need a server; start one with `conveyor server`")
        items, token = self.store.list_workflows(self._ns(namespace), label_selector=label_selector, limit=limit,
                                                 continue_token=continue_token)
        return {"metadata": {"continue": token} if token else {}, "items": items}

    def workflow_action(self, name: str, verb: str, body: Json | None = None, *,
                        namespace: str | None = None) -> Json:
        body = body or {}
        selector = body.get("nodeFieldSelector") or None
        if verb == "resume":
            node = selector.partition("=")[2] if selector else None
            event: Json = {"type": "resume", "node": node, "parameters": {}}
        elif verb == "stop":
            event = {"type": "stop", "message": body.get("message") or ""}
        elif verb == "terminate":
            event = {"type": "terminate"}
        elif verb == "set":
            outputs = json.loads(body.get("outputParameters") or "{}")  # Argo sends a JSON object as text
            event = {"type": "set", "selector": selector, "parameters": {k: str(v) for k, v in outputs.items()},
                     "phase": body.get("phase") or None, "message": body.get("message") or ""}
        else:
            raise InvalidInput(f"{verb} needs a server; start one with `conveyor server`")
        ns = self._ns(namespace)
        wf = self.store.get_workflow(ns, name)
        phase = (wf.get("status") or {}).get("phase", "")
        if phase in _DONE:
            raise InvalidInput(f"workflow {name!r} has already ended ({phase}); cannot {verb} it")
        self.store.add_request(ns, name, event)
        return wf

    def logs(self, name: str, *, namespace: str | None = None, pod_name: str | None = None,
             container: str = "main", follow: bool = False, grep: str | None = None) -> Iterator[Json]:
        """Each pod's lines in start order; with `follow`, new lines until the workflow ends."""
        ns = self._ns(namespace)
        pattern = compile_pattern(grep) if grep else None  # RE2, as Argo
        offsets: dict[Path, int] = {}
        wf = self.store.get_workflow(ns, name)
        if pod_name and not _pods(wf, pod_name) and (not follow or (wf.get("status") or {}).get("phase") in _DONE):
            raise NotFound(f'pods "{pod_name}" not found in workflow {name!r}')
        while True:
            over = (wf.get("status") or {}).get("phase") in _DONE
            files = self._log_files(ns, name)
            for nid, pod, done in _pods(wf, pod_name):
                path = files.get(nid, {}).get(container)
                if path is None:
                    continue
                for line in _new_lines(path, offsets, final=done or over or not follow):
                    if pattern is None or pattern.search(line):
                        yield {"podName": pod, "content": line}
            if over or not follow:
                return
            time.sleep(_POLL_S)
            wf = self.store.get_workflow(ns, name)

    def _log_files(self, namespace: str, name: str) -> dict[str, dict[str, Path]]:
        """node ID -> container -> file: the store's index, else a running task's `<node>-<attempt>/` file."""
        out: dict[str, dict[str, Path]] = {}
        folder = self.settings.logs_dir / namespace / name
        live = folder.glob("*/*.log") if folder.is_dir() else iter(())
        for path in sorted(live, key=lambda p: p.stat().st_mtime if p.exists() else 0.0):
            out.setdefault(path.parent.name.rpartition("-")[0], {})[path.stem] = path
        for row in self.store.list_logs(namespace, name):
            out.setdefault(row["node_id"], {})[row["container"]] = Path(row["path"])
        return out

    # -- templates ----------------------------------------------------------------

    def _kind(self, kind: str) -> str:
        if kind not in _PLURALS:
            raise InvalidInput(f"{kind}s need a server; start one with `conveyor server`")
        return kind

    def create_resource(self, kind: str, manifest: Json, *, namespace: str | None = None,
                        replace: bool = False) -> Json:
        from conveyor.expr import checked_expressions
        from conveyor.spec import validate  # Hera's models: only when a template is created

        meta = manifest.setdefault("metadata", {})
        if self._kind(kind) == "WorkflowTemplate":
            meta["namespace"] = namespace or meta.get("namespace") or self.namespace
        doc = checked_expressions(validate(manifest, templates=self.store))
        return self.store.put_template(kind, doc, replace=replace)

    def update_resource(self, kind: str, manifest: Json, *, namespace: str | None = None) -> Json:
        return self.create_resource(kind, manifest, namespace=namespace, replace=True)

    def list_resources(self, kind: str, *, namespace: str | None = None,
                       label_selector: str | None = None) -> Json:
        return {"items": self.store.list_templates(self._kind(kind), self._ns(namespace))}

    def get_resource(self, kind: str, name: str, *, namespace: str | None = None) -> Json:
        found = self.store.get_template(self._kind(kind), self._ns(namespace), name)
        if found is None:
            raise NotFound(f'{_PLURALS[kind]}.argoproj.io "{name}" not found')
        return found

    def delete_resource(self, kind: str, name: str, *, namespace: str | None = None) -> None:
        self.store.delete_template(self._kind(kind), self._ns(namespace), name)


def _pods(wf: Json, wanted: str | None) -> list[tuple[str, str, bool]]:
    """(node ID, pod name, finished?) of the pods asked for, in start order."""
    found = []
    for nid, node in ((wf.get("status") or {}).get("nodes") or {}).items():
        pod = node.get("podName") or nid
        if node.get("type") == "Pod" and wanted in (None, nid, pod):
            found.append((node.get("startedAt") or "", nid, pod, node.get("phase") in _NODE_DONE))
    return [(nid, pod, done) for _, nid, pod, done in sorted(found)]


def _new_lines(path: Path, offsets: dict[Path, int], *, final: bool) -> list[str]:
    """The whole lines added to `path` since the last call (and a last partial one when `final`)."""
    try:
        with path.open("rb") as f:
            f.seek(offsets.get(path, 0))
            data = f.read()
    except OSError:
        return []
    *lines, rest = data.split(b"\n")
    if final and rest:
        lines.append(rest)
        rest = b""
    offsets[path] = offsets.get(path, 0) + len(data) - len(rest)
    return [line.decode("utf-8", "replace") for line in lines]
