"""Argo's own cron-*.yaml examples load, fire, and make a valid child Workflow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor.runtime.cron import next_fire, workflow_for
from conveyor.spec import InMemoryTemplates, load_file, normalize, validate
from tests.conftest import SHARED, shared_path

EXAMPLES = sorted((SHARED / "conformance" / "argo-examples").glob("cron-*.yaml"))
AFTER = datetime(2024, 3, 10, 6, 59, 30, tzinfo=UTC)  # minutes before the US DST start


@pytest.mark.parametrize("name", [p.name for p in EXAMPLES] or ["cron-*.yaml"])
def test_example_loads_and_has_a_next_fire_time(name: str) -> None:
    path: Path = shared_path("conformance", "argo-examples", name)
    docs = [normalize(d) for d in load_file(path)]
    crons = [d for d in docs if d.get("kind") == "CronWorkflow"]
    assert crons, f"{name} holds no CronWorkflow"
    templates = InMemoryTemplates(docs)
    for cron in crons:
        spec = cron["spec"]
        fire = next_fire(spec["schedules"], spec.get("timezone"), AFTER)
        assert AFTER < fire <= datetime(2024, 3, 11, 7, tzinfo=UTC)
        child = workflow_for(cron, fire)
        assert child["metadata"]["name"] == f"{cron['metadata']['name']}-{int(fire.timestamp())}"
        validate(child, templates=templates, source=name)
