"""`conveyor server` as users start it: a subprocess on a free port, spoken to over
plain HTTP and with Hera's WorkflowsService, then stopped with SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor.config import Settings
from conveyor.runtime import prepare_workflow
from conveyor.store import Store
from tests.api.conftest import manifest
from tests.conftest import ROOT, start_server


class Started:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url


@pytest.fixture
def server(settings: Settings) -> Iterator[Started]:
    # A workflow a previous server left Pending: the new one must resume it.
    store = Store.open(settings.db_path)
    wf, _ = prepare_workflow(manifest("echo resumed", name="left-over"), templates=store, namespace="default")
    store.create_workflow(wf)
    store.close()
    proc, url = start_server()
    started = Started(proc, url)
    yield started
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_server_answers_resumes_and_stops_cleanly_on_sigterm(server: Started, conveyor_home: Path) -> None:
    version = httpx.get(f"{server.url}/api/v1/version").json()
    assert version["version"].startswith("v") and version["platform"]
    deadline = time.monotonic() + 20
    while httpx.get(f"{server.url}/api/v1/workflows/default/left-over").json()["status"]["phase"] != "Succeeded":
        assert time.monotonic() < deadline, "the left-over workflow was not resumed"
        time.sleep(0.05)
    server.proc.send_signal(signal.SIGTERM)
    _, err = server.proc.communicate(timeout=20)
    assert server.proc.returncode == 0, err
    assert "resumed workflow default/left-over" in err
    assert "executor: process" in err
    assert f"{server.url}/api/v1" in err
    assert "Traceback" not in err


# Hera (not conveyor) still calls pydantic's deprecated .json() on its requests.
@pytest.mark.filterwarnings("ignore:The `json` method is deprecated")
def test_hera_workflows_service_talks_to_it(server: Started) -> None:
    from hera.workflows import Container, Workflow, WorkflowsService, WorkflowTemplate
    from hera.workflows.models import Workflow as HeraWorkflow

    service = WorkflowsService(host=server.url, verify_ssl=False, namespace="default")
    assert service.get_version().version.startswith("v")
    assert service.get_info() is not None and service.get_user_info() is not None
    with Workflow(generate_name="hera-", entrypoint="main", namespace="default", workflows_service=service) as w:
        Container(name="main", image="busybox", command=["echo", "from hera"])
    assert w.lint().metadata.generate_name == "hera-"  # a Workflow Hera can read back
    done = w.create(wait=True, poll_interval=1)
    assert isinstance(done, HeraWorkflow) and done.status is not None
    assert (done.metadata.name or "").startswith("hera-") and done.status.phase == "Succeeded"
    listed = service.list_workflows(namespace="default", label_selector="workflows.argoproj.io/completed=true")
    assert done.metadata.name in [wf.metadata.name for wf in listed.items or []]
    with WorkflowTemplate(name="hera-tpl", entrypoint="main", namespace="default", workflows_service=service) as t:
        Container(name="main", image="busybox", command=["echo", "template"])
    assert t.create().metadata.name == "hera-tpl"
    assert service.get_workflow_template("hera-tpl", namespace="default").metadata.uid
    assert service.list_workflows(namespace="nobody").items is None


def test_a_port_in_use_is_a_clear_error(conveyor_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "conveyor", "server", "--port", str(port)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
