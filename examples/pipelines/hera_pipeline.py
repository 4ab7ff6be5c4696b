"""The seed pipeline with current Hera: a Python function task, then the seed image's
container task, configured by the seed platform's variables (pipeline_settings.py).

    eval "$(conveyor env)"
    PIPELINE_IMAGE=127.0.0.1:5000/seed/grid-stats:1 python examples/pipelines/hera_pipeline.py

prints the name the server gave the workflow (a unique one, from generateName).
`python hera_pipeline.py --yaml` prints the manifest instead of submitting it.
"""

import sys

import pipeline_settings as s
from hera.workflows import DAG, Artifact, Container, Env, Script, Workflow, WorkflowsService
from hera.workflows.models import Toleration


def greet():
    import os
    print(f"hello from python, {os.environ['PIPELINE_USER']}")


def build() -> Workflow:
    service = WorkflowsService(host=s.HOST, namespace=s.NAMESPACE, token=s.TOKEN, verify_ssl=False)
    with Workflow(generate_name="seed-pipeline-", entrypoint="main", namespace=s.NAMESPACE,
                  workflows_service=service, arguments=s.PARAMETERS, parallelism=s.PARALLELISM,
                  service_account_name=s.SERVICE_ACCOUNT, image_pull_secrets=s.PULL_SECRETS or None,
                  node_selector=s.NODE_SELECTOR or None,
                  tolerations=[Toleration(**t) for t in s.TOLERATIONS] or None) as w:
        python_task = Script(name="python-task", image="python:3.11", command=["python"], source=greet,
                             env=[Env(name="PIPELINE_USER", value=s.USER)], node_selector=s.SMALL_NODE_SELECTOR or None)
        container_task = Container(name="container-task", image=s.IMAGE_REF, command=s.STATS_COMMAND,
                                   env=[Env(name=k, value=v) for k, v in s.STATS_ENV.items()],
                                   outputs=[Artifact(name="stats", path=s.STATS_PATH)])
        with DAG(name="main"):
            python_task() >> container_task()
    return w


def main() -> int:
    w = build()
    if sys.argv[1:] == ["--yaml"]:
        print(w.to_yaml())
        return 0
    print(w.create().metadata.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
