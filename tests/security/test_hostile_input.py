"""Hostile and broken input against a live `conveyor server`: refused cleanly, nothing changed,
memory bounded.

The corpus (`corpus.py`: 91 cases in five categories: graphs and references, names that are
not DNS labels, wrong types and wrappers, loop expansion, sizes/encodings/nesting, among them
11 MB manifests plain and chunked, 10,000-deep nesting, a YAML "billion laughs", invalid
UTF-8 and lone surrogates, 10^11-item withSequence loops and 3.4 million-value bodies) is
sent one case at a time to a real server subprocess. Each case must get its status (400; 413
past CONVEYOR_MAX_MANIFEST_BYTES; 422 for an invalid object on the Kubernetes paths) with
an error body naming the problem, the store must list the same workflows and templates
(with the same content) before and after, and the server must stay up. Its peak memory
(VmHWM in /proc/PID/status) may grow by at most MEMORY_BOUND_MB over the whole corpus.

Default run (CI): the corpus once (91 requests), plus a second server with small limits
set through the environment, showing each limit is configurable and enforced with its
value, at submit and at run time (about 15 s in all; peak RSS grows by about 60 MB).
With `-m slow`: on a fresh server the corpus twice more, then once by four clients at once,
plus 64 MB, 64 MB (Kubernetes path) and 200 MB (chunked) bodies, 279 requests, under the
same memory bound (about 30 s; about +80 MB).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.api.bodies import json_values
from conveyor.store import Store
from tests.conftest import ROOT, STANDINS, start_server
from tests.security.corpus import (
    CORPUS,
    CRON,
    CWT,
    KUBE,
    MB,
    SEED_CLUSTER,
    SEED_CRON,
    SEED_TEMPLATE,
    SEED_WORKFLOW,
    WF,
    WT,
    Case,
    container,
    steps,
    workflow,
)

#: how much the server's peak RSS may grow while it refuses the corpus
MEMORY_BOUND_MB = 200
_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    home: Path
    baseline_hwm_mb: float = 0.0

    def memory_mb(self) -> tuple[float, float]:
        """(VmHWM, VmRSS) of the server process, in MB."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024

    def stop(self) -> str:
        """SIGTERM; the server's stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


def _serve(home: Path, **env: str) -> Server:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONVEYOR_HOME", str(home))
        mp.setenv("CONVEYOR_EXECUTOR", "process")
        mp.setenv("PATH", f"{os.environ.get('PATH', '')}:{STANDINS}")
        for name, value in env.items():
            mp.setenv(name, value)
        proc, url = start_server()
    return Server(proc, url, home)


def _seed(url: str) -> None:
    """One object of each kind, for cases to refer to (and to fail to change)."""
    with httpx.Client(base_url=url, timeout=30) as c:
        tmpl = {"metadata": {"name": SEED_TEMPLATE}, "spec": {"entrypoint": "hello", "templates": [container("hello")]}}
        for path, body in (
            (WT, {"template": tmpl}),
            (CWT, {"template": {**tmpl, "metadata": {"name": SEED_CLUSTER}}}),
            (CRON, {"cronWorkflow": {"metadata": {"name": SEED_CRON}, "spec": {
                "schedules": ["0 0 1 1 *"], "suspend": True, "workflowSpec": tmpl["spec"]}}}),
            (WF, {"workflow": workflow(name=SEED_WORKFLOW)}),
        ):
            r = c.post(path, json=body)
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while c.get(f"{WF}/{SEED_WORKFLOW}").json().get("status", {}).get("phase") != "Succeeded":
            assert time.monotonic() < deadline, "the seed workflow did not finish"
            time.sleep(0.05)
        # Warm up what a first request loads lazily (Hera's models, the linter), so that
        # the baseline is the server's working size, not its size before any request.
        assert c.post(f"{WF}/lint", json={"workflow": workflow(name="warm")}).status_code == 200


def snapshot(home: Path) -> dict[str, Any]:
    """What the store holds: every workflow's identity, every template's content."""
    with Store.open(home / "conveyor.db") as store:
        workflows, _ = store.list_workflows()
        out: dict[str, Any] = {
            "workflows": sorted((w["metadata"]["namespace"], w["metadata"]["name"], w["metadata"]["uid"]) for w in workflows),
            "namespaces": store.namespaces(),
        }
        for kind in _KINDS:
            out[kind] = sorted(
                (t["metadata"].get("namespace", ""), t["metadata"]["name"],
                 hashlib.sha256(json.dumps(t, sort_keys=True).encode()).hexdigest())
                for t in store.list_templates(kind)
            )
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = _serve(tmp_path_factory.mktemp("hostile") / "home")
    try:
        _seed(started.url)
        started.baseline_hwm_mb = started.memory_mb()[0]
        yield started
    finally:
        started.stop()


def send(client: httpx.Client, case: Case) -> httpx.Response:
    body = case.body()
    headers = {"content-type": case.content_type, **case.headers}
    if case.chunked:
        def chunks() -> Iterator[bytes]:
            for at in range(0, len(body), MB):
                yield body[at:at + MB]
        return client.request(case.method, case.path, content=chunks(), headers=headers)
    return client.request(case.method, case.path, content=body, headers=headers)


def check_answer(case: Case, response: httpx.Response) -> str:
    """The reply's message, once the reply is the refusal `case` expects."""
    assert response.status_code == case.status, f"{case.name}: {response.status_code} {response.text[:500]}"
    body = response.json()
    if case.path.startswith("/apis/"):
        assert body["kind"] == "Status" and body["status"] == "Failure", body
    else:
        assert set(body) == {"code", "message", "details"} and body["code"] == 3, body
    message: str = body["message"]
    missing = [f for f in case.expect if f not in message]
    assert not missing, f"{case.name}: {missing} not in {message[:800]!r}"
    assert "internal error" not in message and "Traceback" not in message, message
    return message


def test_json_values_are_counted_exactly_past_the_limit() -> None:
    def count(value: Any) -> int:
        if isinstance(value, dict):
            return 1 + sum(1 + count(v) for v in value.values())
        if isinstance(value, list):
            return 1 + sum(count(v) for v in value)
        return 1

    for doc in ([], {}, [[]], {"a": [1, {"b,:[{": "c\\\"}"}], "d": {}}, workflow(), [{"x": [" { ", ",", ":"]}] * 3):
        text = json.dumps(doc).encode()
        assert json_values(text, 0) == count(doc), text
        assert json_values(text, 10**9) >= count(doc)  # under the limit, a cheap upper bound


def test_the_corpus_is_big_and_names_are_unique() -> None:
    assert len(CORPUS) >= 40
    assert len({c.name for c in CORPUS}) == len(CORPUS)
    assert {c.category for c in CORPUS} == {"graph", "names", "types", "expansion", "size"}


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_input_is_refused_and_changes_nothing(server: Server, case: Case) -> None:
    before = snapshot(server.home)
    with httpx.Client(base_url=server.url, timeout=120) as client:
        check_answer(case, send(client, case))
    assert server.proc.poll() is None, f"the server died on {case.name}"
    assert snapshot(server.home) == before, f"{case.name} changed the store"


def test_memory_stayed_bounded_and_nothing_failed_inside(server: Server) -> None:
    hwm, rss = server.memory_mb()
    grew = hwm - server.baseline_hwm_mb
    print(f"server peak RSS {server.baseline_hwm_mb:.0f} MB before the corpus, {hwm:.0f} MB after; RSS now {rss:.0f} MB")
    assert grew < MEMORY_BOUND_MB, f"peak RSS grew by {grew:.0f} MB (from {server.baseline_hwm_mb:.0f}), RSS now {rss:.0f} MB"
    with httpx.Client(base_url=server.url, timeout=30) as client:  # and it still works
        assert client.post(f"{WF}/lint", json={"workflow": workflow(name="still-fine")}).status_code == 200
    err = server.stop()
    assert "Traceback" not in err and " 500 " not in err, err[-3000:]


def test_limits_are_configurable(tmp_path: Path) -> None:
    """Each limit read from the environment, shown by `conveyor config`, enforced with its value."""
    env = {"CONVEYOR_MAX_MANIFEST_BYTES": "20000", "CONVEYOR_MAX_MANIFEST_VALUES": "300",
           "CONVEYOR_MAX_LOOP_ITEMS": "10", "CONVEYOR_MAX_NODES": "50"}
    shown = subprocess.run([sys.executable, "-m", "conveyor", "config"], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, **env}, check=True).stdout
    for name, value in env.items():
        assert name in shown and value in shown, shown
    small = _serve(tmp_path / "home", **env)
    try:
        with httpx.Client(base_url=small.url, timeout=60) as client:
            loop = steps([[{"name": "s", "template": "z", "withItems": list(range(11))}]])
            nodes = steps([[{"name": "o", "template": "i", "withItems": list(range(8))}]],
                          {"name": "i", "steps": [[{"name": "e", "template": "z", "withItems": list(range(8))}]]})
            many = {"workflow": workflow(labels={f"k{i}": "v" for i in range(200)})}
            for body, status, fragment in (
                ({"workflow": workflow(annotations={"a": "x" * 30_000})}, 413, "limit of 20,000 bytes"),
                (many, 400, "more than the limit of 300 (CONVEYOR_MAX_MANIFEST_VALUES"),
                ({"workflow": workflow(loop)}, 400, "at most 10 per loop"),
                ({"workflow": workflow(nodes)}, 400, "surely creates 73 nodes; a workflow may have at most 50"),
            ):
                r = client.post(WF, json=body)
                assert r.status_code == status and fragment in r.json()["message"], r.text
            # Loops known only at run time meet the engine's limit: the step fails, the server goes on.
            runtime = workflow({"entrypoint": "main", "arguments": {"parameters": [{"name": "items", "value": json.dumps(list(range(11)))}]},
                                "templates": [{"name": "main", "steps": [[{"name": "s", "template": "z", "withParam": "{{workflow.parameters.items}}"}]]},
                                              container("z")]}, name="runtime-loop")
            assert client.post(WF, json={"workflow": runtime}).status_code == 200
            deadline = time.monotonic() + 30
            while (wf := client.get(f"{WF}/runtime-loop").json()).get("status", {}).get("phase") in (None, "Pending", "Running"):
                assert time.monotonic() < deadline, "the workflow did not end"
                time.sleep(0.05)
            messages = [n.get("message", "") for n in wf["status"]["nodes"].values()]
            assert wf["status"]["phase"] in ("Failed", "Error"), wf["status"]
            assert any("limit is 10 (CONVEYOR_MAX_LOOP_ITEMS)" in m for m in messages), messages
    finally:
        err = small.stop()
    assert "Traceback" not in err, err[-3000:]


@pytest.mark.slow
def test_repeated_and_concurrent_hostile_input_keeps_memory_bounded(tmp_path: Path) -> None:
    """The corpus three more times (once by four clients at once) and bodies far over the
    limit: every answer as expected, the store unchanged, peak RSS within the bound."""
    srv = _serve(tmp_path / "home")
    try:
        _seed(srv.url)
        srv.baseline_hwm_mb = srv.memory_mb()[0]
        before = snapshot(srv.home)
        huge = [
            Case("body-64mb", "size", lambda: b'{"workflow":"' + b"x" * (64 * MB) + b'"}', ("67,108,879 bytes", "CONVEYOR_MAX_MANIFEST_BYTES"), status=413),
            Case("body-200mb-chunked", "size", lambda: b'{"workflow":"' + b"x" * (200 * MB) + b'"}', ("at least",), status=413, chunked=True),
            Case("body-64mb-kube", "size", lambda: b'{"kind":"' + b"x" * (64 * MB) + b'"}', ("CONVEYOR_MAX_MANIFEST_BYTES",), path=KUBE, status=413),
        ]
        with httpx.Client(base_url=srv.url, timeout=300) as client:
            for _ in range(2):
                for case in CORPUS + huge:
                    check_answer(case, send(client, case))

        def one(case: Case) -> None:
            with httpx.Client(base_url=srv.url, timeout=300) as c:
                check_answer(case, send(c, case))

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, CORPUS))
        assert snapshot(srv.home) == before
        hwm, rss = srv.memory_mb()
        grew = hwm - srv.baseline_hwm_mb
        print(f"server peak RSS {srv.baseline_hwm_mb:.0f} MB before, {hwm:.0f} MB after; RSS now {rss:.0f} MB")
        assert grew < MEMORY_BOUND_MB, f"peak RSS grew by {grew:.0f} MB, RSS now {rss:.0f} MB"
    finally:
        err = srv.stop()
    assert "Traceback" not in err, err[-3000:]
