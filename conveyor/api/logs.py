"""Workflow and pod logs: `GET /api/v1/workflows/{ns}/{name}/log` and `.../{podName}/log`.

Each task's containers write whole lines to log files; the store indexes a
file once its task ends, and `Service.log_files` also finds the files of
tasks still running. Lines go out as Argo's LogEntry `{"content", "podName"}`,
one stream object each. With `logOptions.follow` the stream polls for new
lines (and new pods) until the workflow ends.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS, ServiceDep
from conveyor.api.models import LogStreamResult
from conveyor.api.streams import stream_results
from conveyor.errors import ExpressionError, InvalidInput, NotFound
from conveyor.expr import Regex, compile_pattern
from conveyor.runtime import Service
from conveyor.runtime.service import DONE_PHASES
from conveyor.store import Requirement, parse_selector

__all__ = ["LogQuery", "log_entries", "router"]

_POLL_S = 0.2
_NODE_DONE = (*DONE_PHASES, "Skipped", "Omitted")


@dataclass(frozen=True)
class LogQuery:
    pod: str | None = None  # a pod name or node ID; None: every pod of the workflow
    container: str = "main"
    follow: bool = False
    grep: Regex | None = None
    tail_lines: int | None = None
    selector: tuple[Requirement, ...] = ()

    @classmethod
    def build(cls, pod: str | None, container: str | None, follow: bool | None, grep: str | None,
              tail_lines: int | None, selector: str | None) -> LogQuery:
        try:
            # RE2, as Argo's Go server: a backtracking pattern cannot stall the server.
            pattern = compile_pattern(grep) if grep else None
        except ExpressionError as exc:
            raise InvalidInput(f"grep={grep!r}: {exc.message}") from None
        if tail_lines is not None and tail_lines < 0:
            raise InvalidInput(f"logOptions.tailLines={tail_lines} is negative; use 0 or more")
        return cls(pod or None, container or "main", bool(follow), pattern, tail_lines,
                   tuple(parse_selector(selector)))


def pods_of(wf: dict[str, Any], q: LogQuery) -> list[tuple[str, str, bool]]:
    """(node ID, pod name, finished?) of the workflow's pods that `q` asks for, in start order."""
    nodes: dict[str, dict[str, Any]] = (wf.get("status") or {}).get("nodes") or {}
    name = wf["metadata"]["name"]
    found = []
    for nid, node in nodes.items():
        if node.get("type") != "Pod":
            continue
        pod = node.get("podName") or nid
        done = node.get("phase") in _NODE_DONE
        # The labels Argo puts on its pods that a selector can use here.
        labels = {"workflows.argoproj.io/workflow": name, "workflows.argoproj.io/completed": str(done).lower()}
        if q.pod not in (None, nid, pod) or not all(r.matches(labels) for r in q.selector):
            continue
        found.append((node.get("startedAt") or "", nid, pod, done))
    return [(nid, pod, done) for _, nid, pod, done in sorted(found)]


def check_pod(wf: dict[str, Any], q: LogQuery) -> None:
    """NotFound for a pod that does not exist and, the workflow being over or not followed, never will."""
    finished = (wf.get("status") or {}).get("phase") in DONE_PHASES
    if q.pod and not pods_of(wf, q) and (finished or not q.follow):
        raise NotFound(f'pods "{q.pod}" not found in workflow {wf["metadata"]["name"]!r}')


class _LogFile:
    """Reads a growing log file a whole line at a time."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.offset = 0
        self.rest = b""
        self.reads = 0

    def new_lines(self, path: Path, final: bool) -> list[str]:
        if path != self.path:  # a relaunched task writes a new file: start over on it
            self.path, self.offset, self.rest = path, 0, b""
        try:
            with path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        if final and self.rest:
            lines.append(self.rest)
            self.rest = b""
        self.reads += 1
        return [line.decode("utf-8", "replace") for line in lines]


async def log_entries(service: Service, namespace: str, name: str, q: LogQuery) -> AsyncIterator[dict[str, Any]]:
    files: dict[str, _LogFile] = {}
    wf = service.get_workflow(namespace, name)
    while True:
        over = (wf.get("status") or {}).get("phase") in DONE_PHASES
        paths = service.log_files(namespace, name)
        for nid, pod, done in pods_of(wf, q):
            path = paths.get(nid, {}).get(q.container)
            if path is None:
                continue
            log = files.setdefault(nid, _LogFile())
            first = log.reads == 0
            lines = log.new_lines(path, final=done or over or not q.follow)
            if first and q.tail_lines is not None:
                lines = lines[-q.tail_lines:] if q.tail_lines else []
            for line in lines:
                if q.grep is None or q.grep.search(line):
                    yield {"content": line, "podName": pod}
        if over or not q.follow:
            return
        await asyncio.sleep(_POLL_S)
        wf = service.get_workflow(namespace, name)


router = APIRouter(tags=["WorkflowService"], responses=ERRORS)


def _logs(request: Request, service: Service, namespace: str, name: str, q: LogQuery) -> StreamingResponse:
    check_pod(service.get_workflow(namespace, name), q)  # 404s before the stream starts
    return stream_results(request, log_entries(service, namespace, name, q))


@router.get("/api/v1/workflows/{namespace}/{name}/log", summary="Logs of a workflow's pods",
            response_model=LogStreamResult)
async def workflow_logs(
    request: Request, service: ServiceDep, auth: Auth, namespace: str, name: str,
    pod_name: str | None = Query(None, alias="podName"),
    container: str | None = Query(None, alias="logOptions.container"),
    follow: bool | None = Query(None, alias="logOptions.follow"),
    tail_lines: int | None = Query(None, alias="logOptions.tailLines"),
    grep: str | None = Query(None, description="only lines matching this regular expression"),
    selector: str | None = Query(None, description="label selector on the pods"),
) -> StreamingResponse:
    require(auth, namespace, "logs")
    q = LogQuery.build(pod_name, container, follow, grep, tail_lines, selector)
    return _logs(request, service, namespace, name, q)


@router.get("/api/v1/workflows/{namespace}/{name}/{podName}/log", summary="Logs of one pod",
            response_model=LogStreamResult)
async def pod_logs(
    request: Request, service: ServiceDep, auth: Auth, namespace: str, name: str, podName: str,
    container: str | None = Query(None, alias="logOptions.container"),
    follow: bool | None = Query(None, alias="logOptions.follow"),
    tail_lines: int | None = Query(None, alias="logOptions.tailLines"),
    grep: str | None = Query(None, description="only lines matching this regular expression"),
    selector: str | None = Query(None, description="label selector on the pods"),
) -> StreamingResponse:
    require(auth, namespace, "logs")
    q = LogQuery.build(podName, container, follow, grep, tail_lines, selector)
    return _logs(request, service, namespace, name, q)
