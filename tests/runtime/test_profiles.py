"""Node-selector resource profiles: a "small node" selector means limits on one machine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import Settings
from conveyor.errors import InvalidInput
from conveyor.executors.base import ContainerSpec
from conveyor.executors.podman import podman_problem
from conveyor.runtime.profiles import apply_profile, profile_for
from conveyor.runtime.tasks import build_spec

PROFILES = {"small": {"cpu": "1", "memory": "2Gi"}, "big": {"cpu": "2", "memory": "8Gi"}}


@pytest.mark.parametrize("selector, expected", [
    ({}, {}),
    ({"pool": "small"}, PROFILES["small"]),
    ({"pool": "gpu"}, {}),
    ({"a-pool": "big", "z-pool": "small"}, PROFILES["big"]),  # the first key, in order, decides
])
def test_profile_for(selector: dict[str, str], expected: dict[str, str]) -> None:
    assert profile_for(selector, PROFILES) == expected


def test_own_limits_win_and_sidecars_are_left_alone() -> None:
    main = ContainerSpec(name="main", resources={"limits": {"memory": "64Mi"}, "requests": {"cpu": "1"}})
    side = ContainerSpec(name="side", role="sidecar")
    got = apply_profile((main, side), PROFILES["small"])
    assert got[0].resources == {"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "1"}}
    assert got[1] is side
    assert apply_profile((main,), {}) == (main,)


def test_settings_parse_profiles_and_the_seed_small_value() -> None:
    s = Settings.from_env({"CONVEYOR_HOME": "/tmp/x", "WORKFLOW_NODE_SELECTOR_VALUE_SMALL": "pipelines-small"})
    assert s.node_profiles == {"small": {"cpu": "1", "memory": "2Gi"}, "pipelines-small": {"cpu": "1", "memory": "2Gi"}}
    s = Settings.from_env({"CONVEYOR_HOME": "/tmp/x", "CONVEYOR_NODE_PROFILES": "tiny=memory:128Mi; big=cpu:2,memory:8Gi"})
    assert s.node_profiles == {"tiny": {"memory": "128Mi"}, "big": {"cpu": "2", "memory": "8Gi"}}
    assert Settings.from_env({"CONVEYOR_HOME": "/tmp/x", "CONVEYOR_NODE_PROFILES": ";"}).node_profiles == {}


@pytest.mark.parametrize("raw", ["small", "small=gpu:1", "=cpu:1", "small=cpu:"])
def test_bad_profiles_name_the_variable(raw: str) -> None:
    with pytest.raises(InvalidInput, match="CONVEYOR_NODE_PROFILES"):
        Settings.from_env({"CONVEYOR_HOME": "/tmp/x", "CONVEYOR_NODE_PROFILES": raw})


def _plan(template: dict[str, Any]) -> dict[str, Any]:
    return {"template": template, "workflow": "wf", "namespace": "default", "node_id": "n", "node_name": "wf.n",
            "outputs": {"parameters": {}, "artifacts": {}}}


def test_build_spec_applies_the_workflow_or_template_selector(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, node_profiles=PROFILES)
    tmpl = {"name": "t", "container": {"image": "busybox", "command": ["true"]}}
    spec = build_spec(settings, _plan(tmpl), "k", (), [], node_selector={"pool": "small"})
    assert spec.containers[0].resources["limits"] == {"cpu": "1", "memory": "2Gi"}
    spec = build_spec(settings, _plan({**tmpl, "nodeSelector": {"pool": "big"}}), "k", (), [],
                      node_selector={"pool": "small"})
    assert spec.containers[0].resources["limits"] == {"cpu": "2", "memory": "8Gi"}  # the template's wins
    assert build_spec(settings, _plan(tmpl), "k", (), []).containers[0].resources == {}


_problem = asyncio.run(podman_problem("podman"))


@pytest.mark.skipif(_problem is not None, reason=f"podman cannot run containers here ({_problem})")
def test_a_small_node_task_runs_with_the_profile_memory_limit(monkeypatch: pytest.MonkeyPatch,
                                                             conveyor_home: Path) -> None:
    from conveyor.runtime import prepare_workflow
    from conveyor.store import ArtifactRepo, Store
    from tests.conftest import drive

    monkeypatch.setenv("CONVEYOR_EXECUTOR", "podman")
    monkeypatch.setenv("CONVEYOR_NODE_PROFILES", "small=memory:96Mi")
    settings = Settings.from_env()
    store = Store.open(settings.db_path)
    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "small-node"}, "spec": {"entrypoint": "main", "nodeSelector": {"pool": "small"},
                "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sh", "-c",
                 "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]}}]}}
    wf, resolved = prepare_workflow(manifest, templates=store, namespace="default")
    store.create_workflow(wf)
    done = asyncio.run(drive(settings, store, ArtifactRepo(settings.artifact_dir), wf, resolved, 60))
    assert done["status"]["phase"] == "Succeeded"
    pod = next(n for n in done["status"]["nodes"].values() if n["type"] == "Pod")
    assert pod["outputs"]["result"] == str(96 * 2**20)
    assert pod["imageID"].startswith("sha256:") and pod["image"] == "busybox"  # what ran, by content
    assert done["spec"]["nodeSelector"] == {"pool": "small"}  # kept for Argo
