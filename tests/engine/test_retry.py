"""Retrying a finished workflow by replaying its history without the failed results."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.engine import Launch, Machine
from conveyor.engine.retry import match_selector, pods_to_rerun, retry_events
from conveyor.errors import InvalidInput
from tests.engine.sim import argv, sim, workflow

DAG = """
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: t}
      - {name: B, template: t, depends: A}
      - {name: C, template: flaky, depends: A}
      - {name: D, template: t, depends: B && C}
  - name: t
    container: {image: busybox, command: [sh, -c, "exit 0"]}
  - name: flaky
    retryStrategy: {limit: 1}
    container: {image: busybox, command: [sh, -c, "exit 1"]}
"""


def fails_flaky(plan: dict[str, Any]) -> dict[str, Any]:
    bad = "exit 1" in argv(plan)
    return {"phase": "Failed" if bad else "Succeeded", "exitCode": int(bad)}


def retried(text: str, rerun: set[str], events: list[tuple[float, dict[str, Any]]], now: float) -> tuple[Machine, list[Any]]:
    m = Machine(workflow(text))
    kept = retry_events([{**e, "at": at} for at, e in events], rerun)
    for e in kept:
        m.apply({k: v for k, v in e.items() if k != "at"}, e["at"])
    return m, m.apply({"type": "recovered", "restart": False}, now)


def test_retry_reruns_only_the_last_failed_attempt() -> None:
    s = sim(DAG, fails_flaky)
    m = s.run()
    assert m.phase == "Failed" and s.node("D").phase == "Omitted"
    nodes = m.status()["nodes"]
    rerun = pods_to_rerun(nodes)
    assert rerun == {s.node("C(1)").id}  # C(0) was already retried by C's own retryStrategy
    again, actions = retried(DAG, rerun, s.events, s.now + 10)
    assert [a.node_id for a in actions if isinstance(a, Launch)] == [s.node("C(1)").id]
    assert again.phase == "Running" and again.nodes[s.node("A").id].phase == "Succeeded"
    again.apply({"type": "task_finished", "node": s.node("C(1)").id, "result": {"phase": "Succeeded", "exitCode": 0}}, s.now + 11)
    d_launch = [a for a in again.apply({"type": "timer", "id": "none"}, s.now + 12)]
    assert d_launch == []  # D was launched right when C succeeded:
    d = next(n for n in again.nodes.values() if n.display_name == "D")
    assert d.phase == "Running"
    again.apply({"type": "task_finished", "node": d.id, "result": {"phase": "Succeeded", "exitCode": 0}}, s.now + 13)
    assert again.phase == "Succeeded"
    assert "failedPodRestarts" not in again.status()["nodes"][s.node("C(1)").id]


def test_restart_successful_reruns_the_selected_node_and_what_follows() -> None:
    s = sim(DAG.replace("exit 1", "exit 0"))
    m = s.run()
    assert m.phase == "Succeeded"
    rerun = pods_to_rerun(m.status()["nodes"], restart_successful=True, selector="displayName=B")
    assert rerun == {s.node("B").id, s.node("D").id}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [("displayName=B", True), ("displayName!=B", False), ("templateName=t,phase=Succeeded", True), ("id=x", False)],
)
def test_node_field_selector(selector: str, matches: bool) -> None:
    assert match_selector({"displayName": "B", "templateName": "t", "phase": "Succeeded", "id": "y"}, selector) is matches


def test_node_field_selector_rejects_unknown_fields() -> None:
    with pytest.raises(InvalidInput, match="not supported"):
        match_selector({}, "color=blue")


def test_retry_events_drop_results_and_stop_requests() -> None:
    events = [{"type": "start"}, {"type": "task_finished", "node": "x"}, {"type": "stop"}, {"type": "task_finished", "node": "y"}]
    assert retry_events(events, {"x"}) == [{"type": "start"}, {"type": "task_finished", "node": "y"}]
