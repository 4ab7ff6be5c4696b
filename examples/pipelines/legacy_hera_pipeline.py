"""The seed platform's pipeline, written against the legacy `hera-workflows` 4.x API.

It runs unchanged against conveyor (and against Argo): every setting comes from
the environment variables the seed platform documents, which `conveyor env`
prints for the local server. Run it in its own virtualenv:

    python3 -m venv .venv-hera4
    .venv-hera4/bin/pip install hera-workflows==4.4.2 argo-workflows==6.3.5 typing_extensions
    eval "$(conveyor env)"
    WORKFLOW_SA=pipeline WORKFLOW_NODE_SELECTOR_KEY=pool WORKFLOW_NODE_SELECTOR_VALUE=default \
      .venv-hera4/bin/python examples/pipelines/legacy_hera_pipeline.py
"""

import os
import sys
import time

from hera.env import Env
from hera.task import Task
from hera.toleration import Toleration
from hera.workflow import Workflow
from hera.workflow_service import WorkflowService


def greet():
    # runs inside the task: the source of this function becomes the task's script
    import os

    print(f"hello from python, {os.environ['PIPELINE_USER']}")


def env(name, default=""):
    return os.environ.get(name) or default


def main():
    namespace = env("WORKFLOW_NS", env("PIPELINE_NS", "default"))
    service = WorkflowService(host=env("PIPELINE_HOST", "http://127.0.0.1:2746"), namespace=namespace,
                              token=env("PIPELINE_TOKEN"), verify_ssl=False)

    node_selectors = {}
    if env("WORKFLOW_NODE_SELECTOR_KEY"):
        node_selectors[env("WORKFLOW_NODE_SELECTOR_KEY")] = env("WORKFLOW_NODE_SELECTOR_VALUE")
    tolerations = []
    if env("WORKFLOW_NODE_TOLERATION_KEY"):
        tolerations.append(Toleration(key=env("WORKFLOW_NODE_TOLERATION_KEY"), operator="Equal",
                                      value=env("WORKFLOW_NODE_TOLERATION_VALUE"), effect="NoSchedule"))
    pull_secrets = [env("REGISTRY_PULL_SECRET")] if env("REGISTRY_PULL_SECRET") else None

    # a unique name, as the seed docs ask: two submissions never collide
    name = f"{env('PIPELINE_NAME', 'legacy-hera')}-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"
    w = Workflow(name=name, service=service, image_pull_secrets=pull_secrets, node_selectors=node_selectors,
                 tolerations=tolerations, service_account_name=env("WORKFLOW_SA") or None, parallelism=10)
    py = Task(name="python-task", image="python:3.11", source=greet,
              env=[Env(name="PIPELINE_USER", value=env("PIPELINE_USER", "conveyor"))],
              node_selectors=node_selectors, tolerations=tolerations)
    shell = Task(name="container-task", image="bash:5",
                 command=["/bin/bash", "-c", 'echo "container task for $PIPELINE_USER"'],
                 env=[Env(name="PIPELINE_USER", value=env("PIPELINE_USER", "conveyor"))])
    py >> shell
    w.add_task(py)
    w.add_task(shell)
    created = service.create_workflow(w.build())
    # hera 4 asks for the reply unchecked, so its metadata is a plain dict
    print(created.metadata["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
