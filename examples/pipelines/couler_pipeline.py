"""The seed pipeline with Couler's API (`conveyor.couler`): a Python function task, then the
seed image's container task, configured by the seed platform's variables (pipeline_settings.py).

    eval "$(conveyor env)"
    PIPELINE_IMAGE=127.0.0.1:5000/seed/grid-stats:1 python examples/pipelines/couler_pipeline.py

prints the workflow's name: Couler adds a random suffix to it, so every run is unique.
`python couler_pipeline.py --yaml` prints the manifest instead of submitting it.
"""

import sys
from pathlib import Path

import pipeline_settings as s
import yaml

import conveyor.couler as couler
from conveyor.couler import ArgoSubmitter, ImagePullSecret, Toleration


def greet():
    import os
    print(f"hello from python, {os.environ['PIPELINE_USER']}")


def build():
    couler.config_workflow(name="seed-pipeline", service_account=s.SERVICE_ACCOUNT,
                           cluster_config_file=str(Path(__file__).with_name("couler_cluster.py")))
    for t in s.TOLERATIONS:
        couler.add_toleration(Toleration(key=t["key"], effect=t["effect"], operator=t["operator"], value=t["value"]))
    for name in s.PULL_SECRETS:
        couler.add_image_pull_secret(ImagePullSecret(name))
    couler.set_dependencies(
        lambda: couler.run_script(image="python:3.11", source=greet, step_name="python-task",
                                  env={"PIPELINE_USER": s.USER}, node_selector=s.SMALL_NODE_SELECTOR or None),
        dependencies=None)
    couler.set_dependencies(
        lambda: couler.run_container(image=s.IMAGE_REF, command=s.STATS_COMMAND, env=s.STATS_ENV,
                                     step_name="container-task", output=couler.create_local_artifact(s.STATS_PATH)),
        dependencies="python-task")


def main() -> int:
    build()
    if sys.argv[1:] == ["--yaml"]:
        print(yaml.safe_dump(couler.workflow_yaml(), sort_keys=False))
        return 0
    created = couler.run(submitter=ArgoSubmitter(namespace=s.NAMESPACE))
    print(created["metadata"]["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
