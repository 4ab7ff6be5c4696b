"""ttlStrategy: which finished workflows are due for deletion, and when (pure, table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor.runtime.ttl import SWEEP_SHARE, expired, sweep_pause_s, ttl_seconds

FINISHED = "2024-01-01T00:00:00Z"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def wf(phase: str | None, ttl: dict[str, Any] | None, *, finished: str | None = FINISHED,
       stored: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"entrypoint": "main"}
    status: dict[str, Any] = {}
    if ttl is not None:
        (status.setdefault("storedWorkflowTemplateSpec", {}) if stored else spec)["ttlStrategy"] = ttl
    if phase:
        status["phase"] = phase
    if finished:
        status["finishedAt"] = finished
    return {"metadata": {"name": "w"}, "spec": spec, "status": status}


@pytest.mark.parametrize(("phase", "ttl", "want"), [
    ("Succeeded", {"secondsAfterCompletion": 10}, 10),
    ("Failed", {"secondsAfterCompletion": 10}, 10),
    ("Error", {"secondsAfterCompletion": 10}, 10),
    ("Succeeded", {"secondsAfterCompletion": 10, "secondsAfterSuccess": 3}, 3),
    ("Succeeded", {"secondsAfterCompletion": 10, "secondsAfterFailure": 3}, 10),
    ("Failed", {"secondsAfterCompletion": 10, "secondsAfterFailure": 3}, 3),
    ("Error", {"secondsAfterFailure": 0}, 0),
    ("Failed", {"secondsAfterSuccess": 3}, None),
    ("Succeeded", {"secondsAfterFailure": 3}, None),
    ("Running", {"secondsAfterCompletion": 10}, None),
    (None, {"secondsAfterCompletion": 10}, None),
    ("Succeeded", None, None),
    ("Succeeded", {}, None),
    ("Succeeded", {"secondsAfterCompletion": -1}, None),
    ("Succeeded", {"secondsAfterCompletion": "10"}, None),
    ("Succeeded", {"secondsAfterCompletion": True}, None),
])
def test_ttl_seconds(phase: str | None, ttl: dict[str, Any] | None, want: int | None) -> None:
    assert ttl_seconds(wf(phase, ttl)) == want


def test_ttl_from_a_workflow_templates_stored_spec() -> None:
    assert ttl_seconds(wf("Succeeded", {"secondsAfterCompletion": 7}, stored=True)) == 7


@pytest.mark.parametrize(("doc", "now_s", "want"), [
    (wf("Succeeded", {"secondsAfterCompletion": 10}), 9.999, False),
    (wf("Succeeded", {"secondsAfterCompletion": 10}), 10, True),
    (wf("Succeeded", {"secondsAfterCompletion": 10}), 3600, True),
    (wf("Succeeded", {"secondsAfterCompletion": 0}), 0, True),
    (wf("Failed", {"secondsAfterSuccess": 0}), 3600, False),
    (wf("Succeeded", {"secondsAfterCompletion": 10}, finished=None), 3600, False),
    (wf("Succeeded", {"secondsAfterCompletion": 10}, finished="yesterday"), 3600, False),
    (wf("Succeeded", {"secondsAfterCompletion": 10}, finished="2024-01-01T00:00:00"), 10, True),  # naive: UTC
    (wf("Succeeded", {"secondsAfterCompletion": 10}, finished="2024-01-01T01:00:00+01:00"), 10, True),
    (wf("Running", {"secondsAfterCompletion": 0}), 3600, False),
])
def test_expired(doc: dict[str, Any], now_s: float, want: bool) -> None:
    assert expired(doc, datetime.fromtimestamp(T0.timestamp() + now_s, UTC)) is want


@pytest.mark.parametrize(("cost_s", "want_s"), [
    (0.0, 1.0),
    (0.01, 1.0),
    (SWEEP_SHARE, 1.0),  # a sweep of a twentieth of the interval: still every second
    (0.15, 3.0),  # 3,000 stored workflows: every 3 s
    (2.0, 40.0),
])
def test_sweep_pause_keeps_the_sweep_to_its_share(cost_s: float, want_s: float) -> None:
    assert sweep_pause_s(cost_s, 1.0) == pytest.approx(want_s)
