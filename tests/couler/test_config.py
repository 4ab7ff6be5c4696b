"""config_workflow, config_defaults, tolerations, image pull secrets, and Couler's import paths."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import conveyor.couler as couler
from conveyor.errors import InvalidInput

Built = Callable[[], dict[str, Any]]


def hello() -> list[couler.Output]:
    return couler.run_container(image="alpine", command=["echo", "hello"])


def test_config_workflow_name_timeout_cleanup_and_service_account(built: Built) -> None:
    couler.config_workflow(name="My_Pipeline", timeout=600, time_to_clean=3600, service_account="runner",
                           user_id="ada")
    hello()
    wf = built()
    name = wf["metadata"]["name"]
    # As in Couler: spinal-cased, plus a salt so a rerun never collides; the entrypoint has the same name.
    assert re.fullmatch(r"my-pipeline-[a-z0-9]{8}", name) and wf["spec"]["entrypoint"] == name
    assert wf["spec"]["templates"][0]["name"] == name
    assert wf["spec"]["activeDeadlineSeconds"] == 600
    assert wf["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 3600}
    assert wf["spec"]["serviceAccountName"] == "runner"


def test_an_unnamed_workflow_is_named_after_the_script(built: Built) -> None:
    hello()
    wf = built()
    assert wf["metadata"]["generateName"].endswith("-") and "name" not in wf["metadata"]


def test_config_defaults_outlive_cleanup(built: Built) -> None:
    couler.config_defaults(name_salter=lambda n: f"{n}-fixed", service_account="robot")
    couler._cleanup()
    couler.config_workflow(name="nightly")
    hello()
    wf = built()
    assert wf["metadata"]["name"] == "nightly-fixed" and wf["spec"]["serviceAccountName"] == "robot"


def test_cron_config_makes_a_cron_workflow(built: Built) -> None:
    couler.config_defaults(name_salter=lambda n: n)
    couler.config_workflow(name="pytest", cron_config={"schedule": "1 0 * * *", "suspend": "false",
                                                       "timezone": "UTC"})
    hello()
    wf = built()
    assert wf["kind"] == "CronWorkflow" and wf["metadata"]["name"] == "pytest"
    spec = dict(wf["spec"])
    workflow_spec = spec.pop("workflowSpec")
    assert spec == {"schedules": ["1 0 * * *"], "concurrencyPolicy": "Allow", "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 1, "startingDeadlineSeconds": 10, "suspend": False, "timezone": "UTC"}
    assert workflow_spec["entrypoint"] == "pytest"
    with pytest.raises(InvalidInput, match="schedule"):
        couler.config_workflow(cron_config={"every": "day"})


def test_tolerations_and_image_pull_secrets_apply_to_the_whole_workflow(built: Built) -> None:
    for _ in range(2):  # a helper that adds them for every step adds them once
        couler.add_toleration(couler.Toleration("gpu", "NoSchedule", "Exists"))
        couler.add_toleration(couler.Toleration(key="pool", effect="NoExecute", operator="Equal", value="batch",
                                                toleration_seconds=60))
        couler.add_image_pull_secret(couler.ImagePullSecret("regcred"))
    couler.add_image_pull_secret(couler.ImagePullSecret("other"))
    hello()
    spec = built()["spec"]
    assert spec["tolerations"] == [
        {"key": "gpu", "effect": "NoSchedule", "operator": "Exists"},
        {"key": "pool", "effect": "NoExecute", "operator": "Equal", "value": "batch", "tolerationSeconds": 60},
    ]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other"}]


@pytest.mark.parametrize("args, match", [
    (("k", "Exists", "NoSchedule"), "order is key, effect, operator"),
    (("k", "NoSchedule", "Maybe"), "operator 'Maybe'"),
    (("k", "Never", "Exists"), "effect 'Never'"),
])
def test_bad_tolerations_are_caught_before_kubernetes_rejects_the_pods(args: tuple[str, ...], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        couler.Toleration(*args)


def test_cluster_config_file_adjusts_pods_and_the_spec(built: Built, tmp_path: Path) -> None:
    config = tmp_path / "cluster.py"
    config.write_text(
        "class Cluster:\n"
        "    def config_pod(self, template, pool, enable_ulogfs):\n"
        "        template.setdefault('metadata', {})['labels'] = {'pool': str(pool)}\n"
        "        return template\n"
        "    def config_workflow(self, spec):\n"
        "        spec['parallelism'] = 3\n"
        "        return spec\n"
        "cluster = Cluster()\n"
    )
    couler.config_workflow(cluster_config_file=str(config))
    couler.run_container(image="alpine", command=["true"], pool="big", step_name="p")
    wf = built()
    assert wf["spec"]["parallelism"] == 3
    assert wf["spec"]["templates"][1]["metadata"] == {"labels": {"pool": "big"}}


def test_couler_module_paths_work_too() -> None:
    import conveyor.couler.argo as argo
    from conveyor.couler.argo_submitter import ArgoSubmitter

    assert argo.run_script is couler.run_script and ArgoSubmitter is couler.ArgoSubmitter
    assert callable(argo._cleanup) and callable(couler.reset)
    assert set(couler.__all__) <= set(dir(argo))
