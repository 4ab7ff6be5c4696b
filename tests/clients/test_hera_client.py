"""Hera, unmodified but for `host=`, against a live `conveyor server` on a free port.

No `from __future__ import annotations`: Hera reads the script functions'
parameter types at runtime.
"""

import time
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pytest
from hera.exceptions import AlreadyExists
from hera.workflows import (
    DAG,
    Container,
    Parameter,
    Workflow,
    WorkflowsService,
    WorkflowTemplate,
    script,
)
from hera.workflows.models import (
    WorkflowLintRequest,
    WorkflowResubmitRequest,
    WorkflowRetryRequest,
    WorkflowTemplateRef,
)

from tests.conftest import start_server


@pytest.fixture
def service(conveyor_home: Path) -> Iterator[WorkflowsService]:
    conveyor_home.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(log_path=conveyor_home / "server.log")
    yield WorkflowsService(host=url, namespace="default", verify_ssl=False)
    proc.terminate()
    proc.wait(timeout=30)


#: how long each `square` task runs: long enough that tasks running together overlap by more than the
#: one-second resolution of startedAt/finishedAt, so the parallelism check below can see it
SQUARE_S = 2


@script()
def square(n: int):
    import time

    time.sleep(2)  # SQUARE_S; a script's body is sent as its source, so it cannot read the constant
    print(n * n)


@script()
def total(values: list):
    print(sum(int(v) for v in values))


def pipeline(ws: WorkflowsService, name: str) -> Workflow:
    with Workflow(name=name, namespace="default", entrypoint="main", workflows_service=ws, labels={"team": "geo"},
                  arguments=[Parameter(name="greeting", value="hi")]) as w:
        hello = Container(name="hello", image="busybox", command=["echo", "{{workflow.parameters.greeting}}"])
        with DAG(name="main", parallelism=2):
            h = hello()
            sq = square(with_items=[1, 2, 3], arguments={"n": "{{item}}"})
            t = total(arguments={"values": "{{tasks.square.outputs.result}}"})
            h >> sq >> t
    return w


def surely_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two (startedAt, finishedAt) intervals, each end truncated to the second, certainly overlapped.

    A true start lies in [s, s + 1) and a true end in [f, f + 1), so A and B overlapped for certain when
    each started at least a second before the other's recorded end; otherwise they may merely touch.
    """
    return a[0] + 1 <= b[1] and b[0] + 1 <= a[1]


def test_create_wait_get_list_lint_delete(service: WorkflowsService) -> None:
    w = pipeline(service, "hera-dag")
    done = w.create(wait=True, poll_interval=1)
    assert done.status.phase == "Succeeded"
    got = service.get_workflow("hera-dag")
    results = {n.display_name: n.outputs.result for n in got.status.nodes.values() if n.outputs and n.outputs.result}
    assert results["hello"] == "hi" and results["total"] == "14"

    assert {t.name: t.parallelism for t in got.spec.templates}["main"] == 2
    squares = [(int(n.started_at.root.timestamp()), int(n.finished_at.root.timestamp()))
               for n in got.status.nodes.values() if n.type == "Pod" and n.template_name == "square"]
    assert len(squares) == 3 and all(f - s >= SQUARE_S - 1 for s, f in squares)
    # The three squares can start together; parallelism=2 must hold the third until one ends. Only
    # certain overlaps count, so a test that merely sees tasks share a second cannot fail spuriously.
    # (Intervals that overlap pairwise share an instant: all three at once.)
    assert not all(surely_overlap(a, b) for a, b in combinations(squares, 2)), squares
    # ... and the check has teeth: two of them did run at once.
    assert any(surely_overlap(a, b) for a, b in combinations(squares, 2)), squares
    assert [i.metadata.name for i in service.list_workflows(label_selector="team=geo").items] == ["hera-dag"]
    assert not service.list_workflows(label_selector="team=other").items
    assert service.lint_workflow(WorkflowLintRequest(workflow=pipeline(service, "x").build())).metadata.name == "x"
    with pytest.raises(AlreadyExists):
        pipeline(service, "hera-dag").create()
    service.delete_workflow("hera-dag")
    assert not service.list_workflows(label_selector="team=geo").items


def test_retry_and_resubmit(service: WorkflowsService) -> None:
    with Workflow(name="hera-flaky", namespace="default", entrypoint="fail", workflows_service=service,
                  arguments=[Parameter(name="code", value="1")]) as w:
        Container(name="fail", image="busybox", command=["sh", "-c", "exit {{workflow.parameters.code}}"])
    assert w.create(wait=True, poll_interval=1).status.phase == "Failed"
    service.retry_workflow("hera-flaky", WorkflowRetryRequest(parameters=["code=0"]))
    assert w.wait(poll_interval=1).status.phase == "Succeeded"
    new = service.resubmit_workflow("hera-flaky", WorkflowResubmitRequest(parameters=["code=0"]))
    assert new.metadata.name.startswith("hera-flaky-")
    deadline = time.monotonic() + 30
    while service.get_workflow(new.metadata.name).status.phase not in ("Succeeded", "Failed", "Error"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert service.get_workflow(new.metadata.name).status.phase == "Succeeded"


def test_template_created_with_hera_is_submitted_by_reference(service: WorkflowsService) -> None:
    with WorkflowTemplate(name="greeter", namespace="default", entrypoint="say", workflows_service=service,
                          arguments=[Parameter(name="who", value="nobody")]) as t:
        Container(name="say", image="busybox", command=["echo", "hello {{workflow.parameters.who}}"])
    t.create()
    with Workflow(generate_name="by-ref-", namespace="default", workflows_service=service,
                  workflow_template_ref=WorkflowTemplateRef(name="greeter"),
                  arguments=[Parameter(name="who", value="hera")]) as w:
        pass
    done = w.create(wait=True, poll_interval=1)
    assert done.status.phase == "Succeeded"
    pod = next(n for n in done.status.nodes.values() if n.type == "Pod")
    assert pod.outputs.result == "hello hera"
